import { describe, expect, it } from 'vitest';

import {
  buildSignatureBase,
  headerLookupFrom,
  SignatureBaseError,
  signatureParamsValue,
  type HeaderRecord,
} from './signature-base.js';
import {
  parseDictionary,
  stringItem,
  type InnerList,
  type Item,
  type Parameters,
} from './structured-fields.js';

const DIGEST = 'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:';

/** Builds a base from a Signature-Input member, the way the verifier does. */
function baseFor(
  signatureInput: string,
  targetUri: string,
  headers: HeaderRecord = {},
  method = 'POST',
): string {
  const list = parseDictionary(signatureInput).get('sig1') as InnerList;
  return buildSignatureBase({
    method,
    targetUri,
    headers: headerLookupFrom(headers),
    components: list.items,
    signatureParams: signatureParamsValue(list.items, list.params),
  });
}

/** The value of one derived component for a target URI. */
function derived(name: string, targetUri: string): string {
  const base = buildSignatureBase({
    method: 'GET',
    targetUri,
    headers: () => undefined,
    components: [stringItem(name)],
    signatureParams: '()',
  });
  return base.split('\n')[0].slice(name.length + 4);
}

function baseError(fn: () => unknown): SignatureBaseError {
  try {
    fn();
  } catch (error) {
    if (error instanceof SignatureBaseError) return error;
    throw error;
  }
  throw new Error('expected a SignatureBaseError');
}

describe('buildSignatureBase', () => {
  it('builds the base of a Margo-style signed POST, character by character', () => {
    const base = baseFor(
      'sig1=("@method" "@target-uri" "@authority" "content-digest");created=1700000000;keyid="3f5a"',
      'https://wfm.example.com:8443/prefix/api/v1/clients/c-1/capabilities/d-1',
      { 'content-digest': DIGEST, 'content-type': 'application/json' },
    );
    const expected = [
      '"@method": POST',
      '"@target-uri": https://wfm.example.com:8443/prefix/api/v1/clients/c-1/capabilities/d-1',
      '"@authority": wfm.example.com:8443',
      '"content-digest": sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:',
      '"@signature-params": ("@method" "@target-uri" "@authority" "content-digest");created=1700000000;keyid="3f5a"',
    ].join('\n');
    expect(base).toBe(expected);
    expect(base.endsWith('\n')).toBe(false);
  });

  it('reproduces the RFC 9421 B.2.6 signature base', () => {
    const base = baseFor(
      'sig1=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"',
      'http://example.com/foo?param=Value&Pet=dog',
      {
        Date: 'Tue, 20 Apr 2021 02:07:55 GMT',
        'Content-Type': 'application/json',
        'Content-Length': '18',
      },
    );
    expect(base).toBe(
      [
        '"date": Tue, 20 Apr 2021 02:07:55 GMT',
        '"@method": POST',
        '"@path": /foo',
        '"@authority": example.com',
        '"content-type": application/json',
        '"content-length": 18',
        '"@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"',
      ].join('\n'),
    );
  });

  it.each([
    ['https://Example.COM:443/x', 'example.com'],
    ['http://example.com:80/x', 'example.com'],
    ['https://example.com/x', 'example.com'],
    ['https://example.com:8443/x', 'example.com:8443'],
    ['http://example.com:443/x', 'example.com:443'],
    ['https://[::1]:8443/x', '[::1]:8443'],
  ])('derives @authority of %s as %s', (uri, authority) => {
    expect(derived('@authority', uri)).toBe(authority);
  });

  it('signs @target-uri verbatim, including the query string', () => {
    const uri = 'https://wfm.example.com/api/v1/clients/c-1/deployments?since=5&x=a%20b';
    expect(derived('@target-uri', uri)).toBe(uri);
    expect(derived('@path', uri)).toBe('/api/v1/clients/c-1/deployments');
    expect(derived('@query', uri)).toBe('?since=5&x=a%20b');
    expect(derived('@request-target', uri)).toBe('/api/v1/clients/c-1/deployments?since=5&x=a%20b');
    expect(derived('@scheme', 'HTTPS://wfm.example.com/')).toBe('https');
  });

  it('derives an empty query as "?" and an empty path as "/"', () => {
    expect(derived('@query', 'https://example.com/a')).toBe('?');
    expect(derived('@query', 'https://example.com/a?')).toBe('?');
    expect(derived('@path', 'https://example.com')).toBe('/');
    expect(derived('@request-target', 'https://example.com')).toBe('/');
  });

  it('keeps @method as given', () => {
    expect(baseFor('sig1=("@method")', 'https://a/', {}, 'GET')).toMatch(/^"@method": GET\n/);
  });

  it('trims header values and combines several field lines with ", "', () => {
    const base = baseFor('sig1=("x-list" "x-empty")', 'https://a/', {
      'x-list': [' a ', 'b,c ', ''],
      'x-empty': '',
    });
    expect(base.split('\n').slice(0, 2)).toEqual(['"x-list": a, b,c, ', '"x-empty": ']);
  });

  it('looks header fields up by their lowercased name but keeps the identifier as signed', () => {
    const base = baseFor('sig1=("Content-Digest")', 'https://a/', { 'content-digest': DIGEST });
    expect(base.split('\n')[0]).toBe(`"Content-Digest": ${DIGEST}`);
  });

  it('supports the key, sf and bs parameters on dictionary fields', () => {
    const headers = { 'content-digest': 'sha-512=:AAEC:,   sha-256=:AAAA:' };
    expect(baseFor('sig1=("content-digest";key="sha-256")', 'https://a/', headers).split('\n')[0]).toBe(
      '"content-digest";key="sha-256": :AAAA:',
    );
    expect(baseFor('sig1=("content-digest";sf)', 'https://a/', headers).split('\n')[0]).toBe(
      '"content-digest";sf: sha-512=:AAEC:, sha-256=:AAAA:',
    );
    expect(baseFor('sig1=("x-a";bs)', 'https://a/', { 'x-a': ['v1', 'v2'] }).split('\n')[0]).toBe(
      '"x-a";bs: :djE=:, :djI=:',
    );
  });

  it('names an unknown derived component', () => {
    const error = baseError(() => baseFor('sig1=("@status")', 'https://a/'));
    expect(error.code).toBe('unknown-component');
    expect(error.component).toBe('@status');
    expect(error.message).toContain('@status');
  });

  it('names an absent header field', () => {
    const error = baseError(() => baseFor('sig1=("@method" "content-digest")', 'https://a/'));
    expect(error.code).toBe('absent-component');
    expect(error.component).toBe('content-digest');
    expect(error.message).toContain('content-digest');
  });

  it('rejects duplicate components, parameters on derived components and unknown parameters', () => {
    expect(baseError(() => baseFor('sig1=("@method" "@method")', 'https://a/')).code).toBe(
      'duplicate-component',
    );
    expect(baseError(() => baseFor('sig1=("@method";req)', 'https://a/')).code).toBe('unsupported-parameter');
    expect(baseError(() => baseFor('sig1=("x";tr)', 'https://a/', { x: '1' })).code).toBe(
      'unsupported-parameter',
    );
    expect(baseError(() => baseFor('sig1=("x";sf)', 'https://a/', { x: '1' })).code).toBe(
      'unsupported-parameter',
    );
    expect(
      baseError(() =>
        baseFor('sig1=("content-digest";key="md5")', 'https://a/', { 'content-digest': DIGEST }),
      ).code,
    ).toBe('absent-component');
  });

  it('rejects a non-string component identifier and a relative target URI', () => {
    const token: Item = { kind: 'item', value: { type: 'token', value: 'x' }, params: new Map() };
    const input = { method: 'GET', headers: () => undefined, signatureParams: '()' };
    expect(
      baseError(() => buildSignatureBase({ ...input, targetUri: 'https://a/', components: [token] })).code,
    ).toBe('invalid-component');
    expect(
      baseError(() =>
        buildSignatureBase({ ...input, targetUri: '/api/v1/x', components: [stringItem('@path')] }),
      ).code,
    ).toBe('invalid-target-uri');
  });
});

describe('signatureParamsValue', () => {
  it('serialises covered components and parameters', () => {
    const params: Parameters = new Map([
      ['created', { type: 'integer', value: 1 }],
      ['keyid', { type: 'string', value: 'k' }],
    ]);
    expect(signatureParamsValue([stringItem('@method'), stringItem('@authority')], params)).toBe(
      '("@method" "@authority");created=1;keyid="k"',
    );
  });
});
