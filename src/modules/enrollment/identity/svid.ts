import { X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';

/**
 * X.509-SVID validation for rc.3 callers (spec §3.1, identity/svids.md): the chain must lead from the
 * leaf to one of the current trust anchors through CA certificates, every certificate on the path
 * must be within its validity period, and the leaf must be an end-entity certificate (`cA=false`, no
 * keyCertSign/cRLSign, digitalSignature when a key usage is present, clientAuth when an extended key
 * usage is present) with exactly one URI SAN whose scheme is `spiffe`. Pure: no I/O, no caching.
 */
export type SvidResult = { ok: true; spiffeId: string } | { ok: false; reason: string };

const MAX_DEPTH = 8;

export function validateSvid(
  chain: X509Certificate[],
  anchors: readonly X509Certificate[],
  now: Date,
): SvidResult {
  const leaf = chain[0];
  if (!leaf) return { ok: false, reason: 'no client certificate was presented' };

  const shape = leafShape(leaf);
  if (!shape.ok) return shape;

  let current = leaf;
  const intermediates = chain.slice(1);
  for (let depth = 0; depth < MAX_DEPTH; depth += 1) {
    if (!withinValidity(current, now)) {
      return { ok: false, reason: `certificate "${current.subject}" is expired or not yet valid` };
    }
    if (anchors.some((a) => a.fingerprint256 === current.fingerprint256)) return shape;
    const anchor = anchors.find((a) => issuedBy(current, a));
    if (anchor) {
      return withinValidity(anchor, now) ? shape : { ok: false, reason: 'the trust anchor is expired' };
    }
    const next = intermediates.find(
      (c) => c.ca && issuedBy(current, c) && c.fingerprint256 !== current.fingerprint256,
    );
    if (!next) return { ok: false, reason: 'the certificate does not chain to a current trust anchor' };
    current = next;
  }
  return { ok: false, reason: 'the certificate chain is too long' };
}

function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

function withinValidity(cert: X509Certificate, now: Date): boolean {
  return new Date(cert.validFrom) <= now && now <= new Date(cert.validTo);
}

function leafShape(leaf: X509Certificate): SvidResult {
  let parsed: x509.X509Certificate;
  try {
    parsed = new x509.X509Certificate(leaf.raw);
  } catch {
    return { ok: false, reason: 'the client certificate cannot be parsed' };
  }
  // Read cA from basicConstraints itself: node's `X509Certificate.ca` is OpenSSL's X509_check_ca,
  // which answers false for `CA:TRUE` when a key usage without keyCertSign is present.
  if (leaf.ca || parsed.getExtension(x509.BasicConstraintsExtension)?.ca === true) {
    return { ok: false, reason: 'the client certificate is a CA certificate (cA=true)' };
  }
  const usage = parsed.getExtension(x509.KeyUsagesExtension);
  if (usage && (usage.usages & (x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign)) !== 0) {
    return { ok: false, reason: 'the client certificate may sign certificates (keyCertSign/cRLSign)' };
  }
  if (usage && (usage.usages & x509.KeyUsageFlags.digitalSignature) === 0) {
    return { ok: false, reason: 'the key usage of an X.509-SVID leaf must include digitalSignature' };
  }
  const eku = parsed.getExtension(x509.ExtendedKeyUsageExtension);
  if (eku && !eku.usages.includes(x509.ExtendedKeyUsage.clientAuth)) {
    return {
      ok: false,
      reason: 'the extended key usage of the client certificate does not include clientAuth',
    };
  }
  const san = parsed.getExtension(x509.SubjectAlternativeNameExtension);
  const uris = (san?.names.items ?? []).filter((n) => n.type === 'url').map((n) => n.value);
  if (uris.length !== 1) {
    return { ok: false, reason: `an X.509-SVID has exactly one URI SAN (found ${uris.length})` };
  }
  const spiffeId = uris[0];
  if (!/^spiffe:\/\/[^/]+\/.+/.test(spiffeId)) {
    return { ok: false, reason: 'the URI SAN is not a SPIFFE ID with a path' };
  }
  return { ok: true, spiffeId };
}

const SEGMENT = /^[A-Za-z0-9._-]+$/;

/**
 * The wfm-client-id of `spiffe://<td>/margo/wfm/<wfm-id>/client/<wfm-client-id>`, or undefined when the
 * SPIFFE ID has any other shape, trust domain or WFM id (comparisons exact and case-sensitive).
 */
export function clientIdFromSpiffeId(
  spiffeId: string,
  trustDomain: string,
  wfmId: string,
): string | undefined {
  const prefix = `spiffe://${trustDomain}/margo/wfm/${wfmId}/client/`;
  if (!spiffeId.startsWith(prefix)) return undefined;
  const id = spiffeId.slice(prefix.length);
  if (!SEGMENT.test(id) || id === '.' || id === '..') return undefined;
  return id;
}

/** Splits a PEM bundle into certificates (ignores anything that is not a certificate block). */
export function parsePemBundle(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((block) => new X509Certificate(block));
}
