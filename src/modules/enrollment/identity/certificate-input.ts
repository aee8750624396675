import { createHash, X509Certificate } from 'node:crypto';

/** A certificate as clients send it: PEM, base64 of PEM, or base64 of DER. Undefined when it does not parse. */
export function parseCertificateInput(value: string): X509Certificate | undefined {
  try {
    const trimmed = value.trim();
    if (trimmed.includes('-----BEGIN CERTIFICATE-----')) return new X509Certificate(trimmed);
    if (!/^[A-Za-z0-9+/=\s_-]+$/.test(trimmed)) return undefined;
    const bytes = Buffer.from(
      trimmed.replace(/\s+/g, ''),
      trimmed.includes('-') || trimmed.includes('_') ? 'base64url' : 'base64',
    );
    const text = bytes.toString('latin1');
    return new X509Certificate(text.includes('-----BEGIN CERTIFICATE-----') ? text : bytes);
  } catch {
    return undefined;
  }
}

/** Lowercase hex SHA-256 of the certificate DER. */
export function certificateFingerprint(cert: X509Certificate): string {
  return createHash('sha256').update(cert.raw).digest('hex');
}

/** Lowercase hex SHA-256 of the SPKI DER: the RFC 9421 keyid Margo clients send (margo-clients §5). */
export function spkiKeyId(cert: X509Certificate): string {
  return createHash('sha256')
    .update(cert.publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

export function normaliseFingerprint(value: string): string {
  return value.replace(/:/g, '').toLowerCase();
}
