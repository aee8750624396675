import { describe, expect, it } from 'vitest';

import { checkContentDigest, contentDigestHeader } from './content-digest.js';

// The example body and digests of RFC 9530 §2.
const BODY = Buffer.from('{"hello": "world"}');
const SHA256 = 'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:';
const SHA512 =
  'sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:';

describe('contentDigestHeader', () => {
  it('produces the RFC 9530 example values', () => {
    expect(contentDigestHeader(BODY)).toBe(SHA256);
    expect(contentDigestHeader(BODY, 'sha-512')).toBe(SHA512);
  });

  it('digests an empty body', () => {
    expect(contentDigestHeader(Buffer.alloc(0))).toBe(
      'sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:',
    );
  });
});

describe('checkContentDigest', () => {
  it('accepts sha-256, sha-512 and both together', () => {
    expect(checkContentDigest(SHA256, BODY)).toEqual({ ok: true });
    expect(checkContentDigest(SHA512, BODY)).toEqual({ ok: true });
    expect(checkContentDigest(`${SHA512}, ${SHA256}`, BODY)).toEqual({ ok: true });
  });

  it('ignores unsupported algorithms next to a supported one', () => {
    expect(checkContentDigest(`md5=:AAAA:, ${SHA256}`, BODY)).toEqual({ ok: true });
  });

  it('reports a missing header', () => {
    expect(checkContentDigest(undefined, BODY)).toMatchObject({ ok: false, reason: 'missing' });
    expect(checkContentDigest('  ', BODY)).toMatchObject({ ok: false, reason: 'missing' });
  });

  it('reports a mismatch, also when only one of several digests is wrong', () => {
    expect(checkContentDigest(SHA256, Buffer.from('{"hello": "World"}'))).toMatchObject({
      ok: false,
      reason: 'mismatch',
    });
    const wrong512 = contentDigestHeader(Buffer.from('other'), 'sha-512');
    expect(checkContentDigest(`${SHA256}, ${wrong512}`, BODY)).toMatchObject({
      ok: false,
      reason: 'mismatch',
    });
    expect(checkContentDigest('sha-256=:AAAA:', BODY)).toMatchObject({ ok: false, reason: 'mismatch' });
  });

  it('reports only-unsupported algorithms', () => {
    expect(checkContentDigest('md5=:AAAA:, unixsum=:AAAA:', BODY)).toMatchObject({
      ok: false,
      reason: 'unsupported-algorithm',
    });
  });

  it.each([
    ['a non-dictionary', 'sha-256 X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE='],
    ['a hex digest', 'sha-256=5f8f04f6a3a892aaabbddb6cf273894493773960d4a325b105fee46eef4304f1'],
    ['a string member', 'sha-256="X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="'],
    ['the legacy Digest syntax', 'SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE='],
    ['an unterminated byte sequence', 'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE='],
  ])('reports %s as malformed', (_label, header) => {
    const result = checkContentDigest(header, BODY);
    expect(result).toMatchObject({ ok: false, reason: 'malformed' });
    if (!result.ok) expect(result.message).toMatch(/Content-Digest/);
  });
});
