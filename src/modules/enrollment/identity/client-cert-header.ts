import { X509Certificate } from 'node:crypto';

/**
 * RFC 9440: a TLS-offloading proxy forwards the client certificate as `Client-Cert: :<base64 DER>:`
 * and its chain as `Client-Cert-Chain: :<b64>:, :<b64>:`. Returns the chain (leaf first), an empty
 * array when the header is absent, or undefined when it is malformed.
 */
export function parseClientCertHeaders(
  certHeader: string | string[] | undefined,
  chainHeader: string | string[] | undefined,
): X509Certificate[] | undefined {
  if (certHeader === undefined) return [];
  const leaf = parseByteSequences(Array.isArray(certHeader) ? certHeader.join(',') : certHeader);
  if (!leaf || leaf.length !== 1) return undefined;
  const chain =
    chainHeader === undefined
      ? []
      : parseByteSequences(Array.isArray(chainHeader) ? chainHeader.join(',') : chainHeader);
  if (!chain) return undefined;
  try {
    return [...leaf, ...chain].map((der) => new X509Certificate(der));
  } catch {
    return undefined;
  }
}

function parseByteSequences(value: string): Buffer[] | undefined {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const out: Buffer[] = [];
  for (const item of items) {
    const match = /^:([A-Za-z0-9+/]*={0,2}):$/.exec(item);
    if (!match) return undefined;
    out.push(Buffer.from(match[1], 'base64'));
  }
  return out;
}
