// Margo digests, shared by the service and the device client library (src/client re-exports them).
import { createHash } from 'node:crypto';

/** `sha256:<hex>` of exact bytes: Margo's digest form for manifests, YAML and bundles. */
export function sha256Digest(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export class DigestMismatchError extends Error {
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`digest mismatch: expected ${expected}, the bytes hash to ${actual}`);
    this.name = 'DigestMismatchError';
  }
}

/** Throws unless the bytes hash to `expected`. */
export function verifyDigest(bytes: Buffer, expected: string): void {
  const actual = sha256Digest(bytes);
  if (actual !== expected) throw new DigestMismatchError(expected, actual);
}
