import 'reflect-metadata'; // @peculiar/x509 loads tsyringe, which needs the Reflect polyfill
import { randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

/**
 * Minimal X.509 tooling on WebCrypto: the development PKI, the `npm run pki` CLI and the tests mint
 * CAs, the WFM's server SVID and client SVIDs with it.
 */
x509.cryptoProvider.set(webcrypto as unknown as Crypto);
const subtle = webcrypto.subtle as unknown as SubtleCrypto;

export type KeyAlgorithm = 'P-256' | 'P-384' | 'Ed25519' | 'RSA-2048' | 'RSA-3072';

export interface IssuedCertificate {
  cert: x509.X509Certificate;
  certPem: string;
  keyPem: string;
  keys: CryptoKeyPair;
}

function keyParams(alg: KeyAlgorithm): {
  gen: RsaHashedKeyGenParams | EcKeyGenParams | Algorithm;
  sign: Algorithm;
} {
  switch (alg) {
    case 'P-256':
      return {
        gen: { name: 'ECDSA', namedCurve: 'P-256' },
        sign: { name: 'ECDSA', hash: 'SHA-256' } as Algorithm,
      };
    case 'P-384':
      return {
        gen: { name: 'ECDSA', namedCurve: 'P-384' },
        sign: { name: 'ECDSA', hash: 'SHA-384' } as Algorithm,
      };
    case 'Ed25519':
      return { gen: { name: 'Ed25519' }, sign: { name: 'Ed25519' } };
    case 'RSA-2048':
    case 'RSA-3072':
      return {
        gen: {
          name: 'RSASSA-PKCS1-v1_5',
          modulusLength: alg === 'RSA-2048' ? 2048 : 3072,
          publicExponent: new Uint8Array([1, 0, 1]),
          hash: 'SHA-256',
        },
        sign: { name: 'RSASSA-PKCS1-v1_5' },
      };
  }
}

export async function generateKeys(alg: KeyAlgorithm = 'P-256'): Promise<CryptoKeyPair> {
  return (await subtle.generateKey(keyParams(alg).gen, true, ['sign', 'verify'])) as CryptoKeyPair;
}

function algorithmOf(key: CryptoKey): KeyAlgorithm {
  const algorithm = key.algorithm as { name: string; namedCurve?: string; modulusLength?: number };
  if (algorithm.name === 'ECDSA') return algorithm.namedCurve === 'P-384' ? 'P-384' : 'P-256';
  if (algorithm.name === 'Ed25519') return 'Ed25519';
  return algorithm.modulusLength === 2048 ? 'RSA-2048' : 'RSA-3072';
}

export async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await subtle.exportKey('pkcs8', key));
  const body = der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trimEnd();
  return `-----BEGIN PRIVATE KEY-----\n${body}\n-----END PRIVATE KEY-----\n`;
}

function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0] & 0x7f; // positive
  return bytes.toString('hex');
}

const DAY = 86_400_000;

export interface CaOptions {
  commonName: string;
  keyAlgorithm?: KeyAlgorithm;
  notBefore?: Date;
  notAfter?: Date;
}

export async function createCa(options: CaOptions): Promise<IssuedCertificate> {
  const alg = options.keyAlgorithm ?? 'P-256';
  const keys = await generateKeys(alg);
  const notBefore = options.notBefore ?? new Date(Date.now() - 60_000);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${options.commonName}`,
    notBefore,
    notAfter: options.notAfter ?? new Date(notBefore.getTime() + 3650 * DAY),
    keys,
    signingAlgorithm: keyParams(alg).sign,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, certPem: cert.toString('pem') + '\n', keyPem: await privateKeyPem(keys.privateKey), keys };
}

export interface LeafOptions {
  issuer: IssuedCertificate;
  commonName: string;
  uris?: string[];
  dnsNames?: string[];
  ips?: string[];
  keyAlgorithm?: KeyAlgorithm;
  /** Reuse a key pair (e.g. to renew a certificate for the same key). */
  keys?: CryptoKeyPair;
  notBefore?: Date;
  notAfter?: Date;
  serverAuth?: boolean;
  clientAuth?: boolean;
  /** Mint an intermediate CA instead of a leaf. */
  ca?: boolean;
  /**
   * Overrides for minting deliberately malformed certificates in tests: the basicConstraints cA flag
   * (`null` omits the extension), the key usage flags (`x509.KeyUsageFlags`; `null` omits it) and the
   * extended key usage OIDs (replaces serverAuth/clientAuth; `[]` omits it).
   */
  basicConstraintsCa?: boolean | null;
  keyUsage?: number | null;
  extendedKeyUsage?: string[];
}

/** Extended key usage OIDs, re-exported so callers need not depend on @peculiar/x509. */
export const ExtendedKeyUsage = x509.ExtendedKeyUsage;
/** Key usage bit flags, re-exported so callers need not depend on @peculiar/x509. */
export const KeyUsageFlags = x509.KeyUsageFlags;

export async function issueCertificate(options: LeafOptions): Promise<IssuedCertificate> {
  const keys = options.keys ?? (await generateKeys(options.keyAlgorithm ?? 'P-256'));
  const notBefore = options.notBefore ?? new Date(Date.now() - 60_000);
  const names: x509.JsonGeneralName[] = [
    ...(options.uris ?? []).map((value) => ({ type: 'url' as const, value })),
    ...(options.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(options.ips ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  const usages: string[] = [];
  if (options.serverAuth) usages.push(x509.ExtendedKeyUsage.serverAuth);
  if (options.clientAuth) usages.push(x509.ExtendedKeyUsage.clientAuth);
  if (options.extendedKeyUsage) usages.splice(0, usages.length, ...options.extendedKeyUsage);
  const basicCa = options.basicConstraintsCa === undefined ? options.ca === true : options.basicConstraintsCa;
  const keyUsage =
    options.keyUsage !== undefined
      ? options.keyUsage
      : options.ca
        ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign
        : x509.KeyUsageFlags.digitalSignature |
          (algorithmOf(keys.publicKey).startsWith('RSA') ? x509.KeyUsageFlags.keyEncipherment : 0);
  const extensions: x509.Extension[] = [];
  if (basicCa !== null) extensions.push(new x509.BasicConstraintsExtension(basicCa, undefined, true));
  if (keyUsage !== null) extensions.push(new x509.KeyUsagesExtension(keyUsage, true));
  extensions.push(
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(options.issuer.keys.publicKey),
  );
  if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names, false));
  if (usages.length > 0) extensions.push(new x509.ExtendedKeyUsageExtension(usages, false));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${options.commonName}`,
    issuer: options.issuer.cert.subject,
    notBefore,
    notAfter: options.notAfter ?? new Date(notBefore.getTime() + 365 * DAY),
    publicKey: keys.publicKey,
    signingKey: options.issuer.keys.privateKey,
    signingAlgorithm: keyParams(algorithmOf(options.issuer.keys.privateKey)).sign,
    extensions,
  });
  return { cert, certPem: cert.toString('pem') + '\n', keyPem: await privateKeyPem(keys.privateKey), keys };
}

/** Loads a CA (certificate + PKCS#8 key PEM) so that it can issue certificates again. */
export async function loadCa(certPem: string, keyPem: string): Promise<IssuedCertificate> {
  const cert = new x509.X509Certificate(certPem);
  const alg = algorithmOf(await cert.publicKey.export());
  const der = Buffer.from(keyPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  const privateKey = await subtle.importKey('pkcs8', der, keyParams(alg).gen, true, ['sign']);
  const publicKey = await cert.publicKey.export(keyParams(alg).gen, ['verify']);
  return { cert, certPem, keyPem, keys: { privateKey, publicKey } };
}
