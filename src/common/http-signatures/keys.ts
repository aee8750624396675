import { constants, createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

/** RFC 9421 §6.2 algorithm names we sign and verify with (plus `rsa-pss-sha256`, which Margo requires). */
export type SignatureAlgorithm =
  | 'ecdsa-p256-sha256'
  | 'ecdsa-p384-sha384'
  | 'ed25519'
  | 'rsa-pss-sha512'
  | 'rsa-pss-sha256'
  | 'rsa-v1_5-sha256';

export const SIGNATURE_ALGORITHMS: readonly SignatureAlgorithm[] = [
  'ecdsa-p256-sha256',
  'ecdsa-p384-sha384',
  'ed25519',
  'rsa-pss-sha512',
  'rsa-pss-sha256',
  'rsa-v1_5-sha256',
];

/**
 * The kinds of asymmetric key we can use: EC on P-256 or P-384, Ed25519, RSA (rsaEncryption SPKI)
 * and RSA-PSS (id-RSASSA-PSS SPKI, which Node cannot use for PKCS#1 v1.5).
 */
export type SignatureKeyType = 'ec-p256' | 'ec-p384' | 'ed25519' | 'rsa' | 'rsa-pss';

/** Narrows an arbitrary string to a {@link SignatureAlgorithm}. */
export function isSignatureAlgorithm(name: string): name is SignatureAlgorithm {
  return (SIGNATURE_ALGORITHMS as readonly string[]).includes(name);
}

/** The public half of `key` (returned as is when it already is public). */
export function publicKeyOf(key: KeyObject): KeyObject {
  return key.type === 'private' ? createPublicKey(key) : key;
}

/**
 * The Margo key id: lowercase hex SHA-256 of the SubjectPublicKeyInfo DER of the (public) key.
 * A private key is accepted and reduced to its public half first.
 */
export function keyIdOf(publicKey: KeyObject): string {
  const der = publicKeyOf(publicKey).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex');
}

/** The key's type, or `undefined` for keys we cannot sign or verify with (P-521, Ed448, DSA, secret). */
export function signatureKeyTypeOf(key: KeyObject): SignatureKeyType | undefined {
  const type = key.asymmetricKeyType;
  if (type === 'ed25519' || type === 'rsa' || type === 'rsa-pss') return type;
  if (type !== 'ec') return undefined;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (curve === 'prime256v1' || curve === 'P-256') return 'ec-p256';
  if (curve === 'secp384r1' || curve === 'P-384') return 'ec-p384';
  return undefined;
}

/** The hash an RSA-PSS key is restricted to by its SPKI parameters, if any. */
function pssHashRestriction(key: KeyObject): string | undefined {
  return key.asymmetricKeyType === 'rsa-pss' ? key.asymmetricKeyDetails?.hashAlgorithm : undefined;
}

/**
 * The algorithms usable with `key`, in the order a verifier should try them when the signature
 * does not name one. Empty for unsupported keys.
 */
export function algorithmsForKey(key: KeyObject): SignatureAlgorithm[] {
  switch (signatureKeyTypeOf(key)) {
    case 'ec-p256':
      return ['ecdsa-p256-sha256'];
    case 'ec-p384':
      return ['ecdsa-p384-sha384'];
    case 'ed25519':
      return ['ed25519'];
    case 'rsa':
      return ['rsa-v1_5-sha256', 'rsa-pss-sha256', 'rsa-pss-sha512'];
    case 'rsa-pss': {
      const hash = pssHashRestriction(key);
      if (hash === 'sha256') return ['rsa-pss-sha256'];
      if (hash === 'sha512') return ['rsa-pss-sha512'];
      return hash === undefined ? ['rsa-pss-sha256', 'rsa-pss-sha512'] : [];
    }
    case undefined:
      return [];
  }
}

/** Whether `alg` can be used with `key`. */
export function isAlgorithmCompatible(key: KeyObject, alg: SignatureAlgorithm): boolean {
  return algorithmsForKey(key).includes(alg);
}

interface AlgorithmSpec {
  /** Node digest name, or `null` for Ed25519 (which hashes internally). */
  hash: string | null;
  kind: 'ecdsa' | 'eddsa' | 'rsa-v1_5' | 'rsa-pss';
  /** ECDSA: bytes of one coordinate (r or s). RSA-PSS: salt length in bytes. */
  size: number;
}

const ALGORITHM_SPECS: Record<SignatureAlgorithm, AlgorithmSpec> = {
  'ecdsa-p256-sha256': { hash: 'sha256', kind: 'ecdsa', size: 32 },
  'ecdsa-p384-sha384': { hash: 'sha384', kind: 'ecdsa', size: 48 },
  ed25519: { hash: null, kind: 'eddsa', size: 0 },
  'rsa-pss-sha512': { hash: 'sha512', kind: 'rsa-pss', size: 64 },
  'rsa-pss-sha256': { hash: 'sha256', kind: 'rsa-pss', size: 32 },
  'rsa-v1_5-sha256': { hash: 'sha256', kind: 'rsa-v1_5', size: 0 },
};

/** Thrown by {@link signWithAlgorithm} when the key cannot produce the requested algorithm. */
export class UnsupportedKeyError extends Error {
  override readonly name = 'UnsupportedKeyError';
}

/**
 * Signs `data` with `alg`. ECDSA signatures are raw r||s (IEEE P1363) as RFC 9421 §3.3.4–5
 * require; RSA-PSS uses a salt as long as the hash (RFC 9421 §3.3.1).
 */
export function signWithAlgorithm(alg: SignatureAlgorithm, privateKey: KeyObject, data: Buffer): Buffer {
  if (privateKey.type !== 'private') throw new UnsupportedKeyError('signing needs a private key');
  if (!isAlgorithmCompatible(privateKey, alg)) {
    throw new UnsupportedKeyError(`a ${privateKey.asymmetricKeyType ?? 'secret'} key cannot sign ${alg}`);
  }
  const spec = ALGORITHM_SPECS[alg];
  switch (spec.kind) {
    case 'ecdsa':
      return sign(spec.hash, data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    case 'eddsa':
      return sign(null, data, privateKey);
    case 'rsa-v1_5':
      return sign(spec.hash, data, { key: privateKey, padding: constants.RSA_PKCS1_PADDING });
    case 'rsa-pss':
      return sign(spec.hash, data, {
        key: privateKey,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: pssSaltLength(privateKey, spec.size),
      });
  }
}

/**
 * Verifies `signature` over `data` with `alg`. Never throws: malformed signatures and keys that
 * cannot do `alg` simply do not verify. ECDSA accepts raw r||s and, as a fallback for lenient
 * clients, DER. RSA-PSS accepts any salt length on unrestricted keys (Go signers default to the
 * maximum salt length), and at least the key's minimum on keys whose SPKI restricts it.
 */
export function verifyWithAlgorithm(
  alg: SignatureAlgorithm,
  publicKey: KeyObject,
  data: Buffer,
  signature: Buffer,
): boolean {
  if (!isAlgorithmCompatible(publicKey, alg)) return false;
  const spec = ALGORITHM_SPECS[alg];
  try {
    switch (spec.kind) {
      case 'ecdsa': {
        const dsaEncoding = signature.length === 2 * spec.size ? 'ieee-p1363' : 'der';
        return verify(spec.hash, data, { key: publicKey, dsaEncoding }, signature);
      }
      case 'eddsa':
        return verify(null, data, publicKey, signature);
      case 'rsa-v1_5':
        return verify(spec.hash, data, { key: publicKey, padding: constants.RSA_PKCS1_PADDING }, signature);
      case 'rsa-pss': {
        const restricted = publicKey.asymmetricKeyDetails?.saltLength !== undefined;
        const saltLength = restricted ? pssSaltLength(publicKey, spec.size) : constants.RSA_PSS_SALTLEN_AUTO;
        return verify(
          spec.hash,
          data,
          { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength },
          signature,
        );
      }
    }
  } catch {
    return false;
  }
}

/** The PSS salt length: the hash length, raised to the minimum an RSA-PSS key's SPKI may demand. */
function pssSaltLength(key: KeyObject, hashLength: number): number {
  return Math.max(hashLength, key.asymmetricKeyDetails?.saltLength ?? 0);
}
