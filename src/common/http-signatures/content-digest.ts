import { createHash, timingSafeEqual } from 'node:crypto';

import { parseDictionary, StructuredFieldError } from './structured-fields.js';

/**
 * RFC 9530 `Content-Digest`: a Dictionary of algorithm → `:base64:` digest of the content bytes
 * exactly as sent (after any content coding). We produce and accept `sha-256` and `sha-512`.
 */
export type ContentDigestAlgorithm = 'sha-256' | 'sha-512';

const NODE_HASH: Record<ContentDigestAlgorithm, string> = { 'sha-256': 'sha256', 'sha-512': 'sha512' };

export type ContentDigestCheck =
  | { ok: true }
  | { ok: false; reason: 'missing' | 'malformed' | 'unsupported-algorithm' | 'mismatch'; message: string };

/** The digest of `body` with `alg`, as raw bytes. */
export function contentDigest(body: Buffer, alg: ContentDigestAlgorithm = 'sha-256'): Buffer {
  return createHash(NODE_HASH[alg]).update(body).digest();
}

/** The `Content-Digest` header value for `body`, e.g. `sha-256=:X48E9q...=:`. */
export function contentDigestHeader(body: Buffer, alg: ContentDigestAlgorithm = 'sha-256'): string {
  return `${alg}=:${contentDigest(body, alg).toString('base64')}:`;
}

function isSupported(alg: string): alg is ContentDigestAlgorithm {
  return alg === 'sha-256' || alg === 'sha-512';
}

/**
 * Checks a received `Content-Digest` value against the raw body bytes. Members with algorithms we
 * do not implement are ignored, but at least one supported algorithm must be present and every
 * supported one must match. Never throws.
 */
export function checkContentDigest(headerValue: string | undefined, body: Buffer): ContentDigestCheck {
  if (headerValue === undefined || headerValue.trim() === '') {
    return { ok: false, reason: 'missing', message: 'the Content-Digest header is missing' };
  }
  let members;
  try {
    members = parseDictionary(headerValue);
  } catch (error) {
    const detail = error instanceof StructuredFieldError ? error.message : String(error);
    return { ok: false, reason: 'malformed', message: `the Content-Digest header is malformed: ${detail}` };
  }
  let checked = 0;
  for (const [alg, member] of members) {
    if (member.kind !== 'item' || member.value.type !== 'bytes') {
      return {
        ok: false,
        reason: 'malformed',
        message: `Content-Digest member '${alg}' is not a byte sequence`,
      };
    }
    if (!isSupported(alg)) continue;
    const expected = contentDigest(body, alg);
    const received = member.value.value;
    if (received.length !== expected.length || !timingSafeEqual(received, expected)) {
      return { ok: false, reason: 'mismatch', message: `the ${alg} Content-Digest does not match the body` };
    }
    checked++;
  }
  if (checked === 0) {
    return {
      ok: false,
      reason: 'unsupported-algorithm',
      message: 'the Content-Digest header carries no supported algorithm (sha-256 or sha-512)',
    };
  }
  return { ok: true };
}
