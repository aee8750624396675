import { createHash, generateKeyPairSync } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import {
  algorithmsForKey,
  keyIdOf,
  signatureKeyTypeOf,
  signWithAlgorithm,
  UnsupportedKeyError,
  verifyWithAlgorithm,
} from './keys.js';

const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const p521 = generateKeyPairSync('ec', { namedCurve: 'P-521' });
const ed25519 = generateKeyPairSync('ed25519');
const ed448 = generateKeyPairSync('ed448');
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pss512 = generateKeyPairSync('rsa-pss', {
  modulusLength: 2048,
  hashAlgorithm: 'sha512',
  mgf1HashAlgorithm: 'sha512',
});
const pssAny = generateKeyPairSync('rsa-pss', { modulusLength: 2048 });

describe('keyIdOf', () => {
  it('is the lowercase hex SHA-256 of the SPKI DER, for the public and the private half', () => {
    const der = p256.publicKey.export({ type: 'spki', format: 'der' });
    const expected = createHash('sha256').update(der).digest('hex');
    expect(keyIdOf(p256.publicKey)).toBe(expected);
    expect(keyIdOf(p256.privateKey)).toBe(expected);
    expect(expected).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('signatureKeyTypeOf and algorithmsForKey', () => {
  it.each([
    ['P-256', p256.publicKey, 'ec-p256', ['ecdsa-p256-sha256']],
    ['P-384', p384.publicKey, 'ec-p384', ['ecdsa-p384-sha384']],
    ['Ed25519', ed25519.publicKey, 'ed25519', ['ed25519']],
    ['RSA', rsa.publicKey, 'rsa', ['rsa-v1_5-sha256', 'rsa-pss-sha256', 'rsa-pss-sha512']],
    ['RSA-PSS (sha512)', pss512.publicKey, 'rsa-pss', ['rsa-pss-sha512']],
    ['RSA-PSS (unrestricted)', pssAny.publicKey, 'rsa-pss', ['rsa-pss-sha256', 'rsa-pss-sha512']],
  ])('recognises %s keys', (_label, key, type, algorithms) => {
    expect(signatureKeyTypeOf(key)).toBe(type);
    expect(algorithmsForKey(key)).toEqual(algorithms);
  });

  it('does not support P-521 and Ed448', () => {
    expect(signatureKeyTypeOf(p521.publicKey)).toBeUndefined();
    expect(signatureKeyTypeOf(ed448.publicKey)).toBeUndefined();
    expect(algorithmsForKey(ed448.publicKey)).toEqual([]);
  });
});

describe('signWithAlgorithm / verifyWithAlgorithm', () => {
  const data = Buffer.from('signature base');

  it('produces raw r||s ECDSA signatures and accepts DER as a fallback', () => {
    const raw = signWithAlgorithm('ecdsa-p256-sha256', p256.privateKey, data);
    expect(raw).toHaveLength(64);
    expect(verifyWithAlgorithm('ecdsa-p256-sha256', p256.publicKey, data, raw)).toBe(true);
    expect(signWithAlgorithm('ecdsa-p384-sha384', p384.privateKey, data)).toHaveLength(96);
    const der = signWithAlgorithm('ecdsa-p256-sha256', p256.privateKey, data);
    expect(verifyWithAlgorithm('ecdsa-p256-sha256', p256.publicKey, data, der)).toBe(true);
  });

  it('never throws for garbage signatures or mismatching algorithms', () => {
    expect(verifyWithAlgorithm('ecdsa-p256-sha256', p256.publicKey, data, Buffer.from('junk'))).toBe(false);
    expect(verifyWithAlgorithm('rsa-pss-sha512', rsa.publicKey, data, Buffer.alloc(0))).toBe(false);
    expect(verifyWithAlgorithm('ed25519', p256.publicKey, data, Buffer.alloc(64))).toBe(false);
    const pss = signWithAlgorithm('rsa-pss-sha512', pss512.privateKey, data);
    expect(verifyWithAlgorithm('rsa-v1_5-sha256', pss512.publicKey, data, pss)).toBe(false);
  });

  it('refuses to sign with a public key or an incompatible algorithm', () => {
    expect(() => signWithAlgorithm('ed25519', ed25519.publicKey, data)).toThrow(UnsupportedKeyError);
    expect(() => signWithAlgorithm('rsa-v1_5-sha256', pss512.privateKey, data)).toThrow(UnsupportedKeyError);
  });
});
