// The client library's digest helpers are the service's own (src/common/digest.ts): one definition of
// Margo's `sha256:<hex>` form for both sides of the wire.
export { DigestMismatchError, sha256Digest, verifyDigest } from '../common/digest.js';
