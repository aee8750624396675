import {
  constants,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  type KeyObject,
} from 'node:crypto';

import { describe, expect, it } from 'vitest';

import {
  signRequest,
  tamperSignature,
  type SignRequestOptions,
} from '../../src/client/http-signature-signer.js';
import { contentDigestHeader } from '../../src/common/http-signatures/content-digest.js';
import { keyIdOf } from '../../src/common/http-signatures/keys.js';
import {
  verifyRequestSignature,
  type VerifyRequestInput,
  type VerifyResult,
} from '../../src/common/http-signatures/verify.js';

const NOW = 1_700_000_000;
const URL_POST = 'https://wfm.example.com:8443/api/v1/clients/c-1/capabilities/d-1';
const URL_GET = 'https://wfm.example.com/api/v1/clients/c-1/deployments?since=3';
const BODY = Buffer.from('{"apiVersion":"device.margo.org/v1alpha1","kind":"DeviceCapabilitiesManifest"}');
const MARGO_COMPONENTS = [
  ['@method', '@target-uri'],
  ['@method', '@authority', '@path'],
];

const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const ed25519 = generateKeyPairSync('ed25519');
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pss512 = generateKeyPairSync('rsa-pss', {
  modulusLength: 2048,
  hashAlgorithm: 'sha512',
  mgf1HashAlgorithm: 'sha512',
});
const pss256 = generateKeyPairSync('rsa-pss', {
  modulusLength: 2048,
  hashAlgorithm: 'sha256',
  mgf1HashAlgorithm: 'sha256',
});

interface SignedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: Buffer;
}

/** A POST (or, with `body: undefined`, a GET) signed with `privateKey`, headers lowercased as Node gives them. */
function signed(privateKey: KeyObject, overrides: Partial<SignRequestOptions> = {}): SignedRequest {
  const hasBody = !('body' in overrides) || overrides.body !== undefined;
  const method = overrides.method ?? (hasBody ? 'POST' : 'GET');
  const url = overrides.url ?? (hasBody ? URL_POST : URL_GET);
  const body = hasBody ? ((overrides.body as Buffer | undefined) ?? BODY) : undefined;
  const base: Record<string, string> = hasBody ? { 'content-type': 'application/json' } : {};
  for (const [name, value] of Object.entries(overrides.headers ?? {})) {
    if (typeof value === 'string') base[name] = value;
  }
  const added = signRequest({ method, url, body, privateKey, created: NOW, ...overrides, headers: base });
  const headers = { ...base };
  for (const [name, value] of Object.entries(added)) {
    if (typeof value === 'string') headers[name] = value;
  }
  return { method, url, body, headers };
}

/** Verifies `request` against `publicKey` with the Margo defaults, overridable per test. */
function check(
  request: SignedRequest,
  publicKey: KeyObject,
  overrides: Partial<VerifyRequestInput> = {},
): VerifyResult {
  return verifyRequestSignature({
    method: request.method,
    targetUri: request.url,
    headers: request.headers,
    body: request.body,
    publicKey,
    expectedKeyId: keyIdOf(publicKey),
    nowSeconds: NOW,
    maxSkewSeconds: 300,
    requiredComponents: MARGO_COMPONENTS,
    requireContentDigestWhenBody: true,
    ...overrides,
  });
}

/** The signature base of a default-signed GET of URL_GET with this `@signature-params` value. */
function getBase(signatureParams: string): Buffer {
  return Buffer.from(
    [
      '"@method": GET',
      `"@target-uri": ${URL_GET}`,
      '"@authority": wfm.example.com',
      `"@signature-params": ${signatureParams}`,
    ].join('\n'),
  );
}

function expectFailure(result: VerifyResult, status: 400 | 401, reason: string): void {
  expect(result).toMatchObject({ ok: false, status, reason });
}

describe('signRequest wire format (margo-clients.md §5)', () => {
  it('writes exactly the Margo Signature-Input, Signature and Content-Digest for a POST', () => {
    const keyid = keyIdOf(p256.publicKey);
    const headers = signRequest({
      method: 'post',
      url: URL_POST,
      body: BODY,
      privateKey: p256.privateKey,
      created: NOW,
    });
    expect(Object.keys(headers).sort()).toEqual(['content-digest', 'signature', 'signature-input']);
    expect(headers['content-digest']).toBe(contentDigestHeader(BODY));
    expect(headers['signature-input']).toBe(
      `sig1=("@method" "@target-uri" "@authority" "content-digest");created=${NOW};keyid="${keyid}"`,
    );
    const match = /^sig1=:([A-Za-z0-9+/]+={0,2}):$/.exec(headers.signature);
    expect(match).not.toBeNull();
    expect(Buffer.from(match?.[1] ?? '', 'base64')).toHaveLength(64);
  });

  it('omits content-digest for a GET and adds alg/expires/nonce only when asked', () => {
    const keyid = keyIdOf(p256.publicKey);
    const get = signRequest({ method: 'GET', url: URL_GET, privateKey: p256.privateKey, created: NOW });
    expect(get['content-digest']).toBeUndefined();
    expect(get['signature-input']).toBe(
      `sig1=("@method" "@target-uri" "@authority");created=${NOW};keyid="${keyid}"`,
    );
    const extra = signRequest({
      method: 'GET',
      url: URL_GET,
      privateKey: p256.privateKey,
      created: NOW,
      includeAlg: true,
      expires: NOW + 60,
      nonce: 'n-1',
      label: 'margo',
    });
    expect(extra['signature-input']).toBe(
      `margo=("@method" "@target-uri" "@authority");created=${NOW};keyid="${keyid}";alg="ecdsa-p256-sha256";expires=${NOW + 60};nonce="n-1"`,
    );
  });

  it('refuses RSA algorithms for EC keys', () => {
    expect(() =>
      signRequest({ method: 'GET', url: URL_GET, privateKey: p256.privateKey, algorithm: 'rsa-pss-sha512' }),
    ).toThrow();
  });
});

describe('verifyRequestSignature round trips', () => {
  it.each([
    ['ECDSA P-256', p256, undefined, 'ecdsa-p256-sha256'],
    ['ECDSA P-384', p384, undefined, 'ecdsa-p384-sha384'],
    ['Ed25519', ed25519, undefined, 'ed25519'],
    ['RSA PKCS#1 v1.5 (default)', rsa, undefined, 'rsa-v1_5-sha256'],
    ['RSA with RSA-PSS-SHA512', rsa, 'rsa-pss-sha512', 'rsa-pss-sha512'],
    ['RSA with RSA-PSS-SHA256', rsa, 'rsa-pss-sha256', 'rsa-pss-sha256'],
    ['RSA-PSS-SHA512 key', pss512, undefined, 'rsa-pss-sha512'],
    ['RSA-PSS-SHA256 key', pss256, undefined, 'rsa-pss-sha256'],
  ] as const)(
    'verifies %s signatures, with and without body and alg',
    (_label, pair, algorithm, expected) => {
      for (const includeAlg of [false, true]) {
        const post = check(signed(pair.privateKey, { algorithm, includeAlg }), pair.publicKey);
        expect(post).toMatchObject({ ok: true, label: 'sig1', created: NOW, algorithm: expected });
        const get = check(
          signed(pair.privateKey, { algorithm, includeAlg, body: undefined }),
          pair.publicKey,
        );
        expect(get).toMatchObject({ ok: true, algorithm: expected });
      }
    },
  );

  it('returns the keyid, the covered components and the signature bytes for replay detection', () => {
    const request = signed(p256.privateKey);
    const result = check(request, p256.publicKey);
    if (!result.ok) throw new Error(result.message);
    expect(result.keyid).toBe(keyIdOf(p256.publicKey));
    expect(result.coveredComponents).toEqual(['@method', '@target-uri', '@authority', 'content-digest']);
    expect(result.signature.toString('base64')).toBe(request.headers.signature.slice(6, -1));
  });

  it('accepts DER-encoded ECDSA signatures as a fallback', () => {
    const request = signed(p256.privateKey, { body: undefined });
    const der = sign('sha256', getBase(request.headers['signature-input'].slice(5)), p256.privateKey);
    request.headers.signature = `sig1=:${der.toString('base64')}:`;
    expect(check(request, p256.publicKey)).toMatchObject({ ok: true });
  });

  it('accepts RSA-PSS signatures with the maximum salt length (Go default)', () => {
    const request = signed(rsa.privateKey, { algorithm: 'rsa-pss-sha512', body: undefined });
    const pss = sign('sha512', getBase(request.headers['signature-input'].slice(5)), {
      key: rsa.privateKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: constants.RSA_PSS_SALTLEN_MAX_SIGN,
    });
    request.headers.signature = `sig1=:${pss.toString('base64')}:`;
    expect(check(request, rsa.publicKey)).toMatchObject({ ok: true, algorithm: 'rsa-pss-sha512' });
  });

  it('accepts the @authority + @path alternative', () => {
    const request = signed(ed25519.privateKey, {
      components: ['@method', '@authority', '@path', 'content-digest'],
    });
    expect(check(request, ed25519.publicKey)).toMatchObject({ ok: true });
  });

  it('verifies without a keyid parameter and without an expected keyid', () => {
    const request = signed(p256.privateKey, { keyid: null });
    expect(request.headers['signature-input']).not.toContain('keyid');
    expect(check(request, p256.publicKey)).toMatchObject({ ok: true, keyid: undefined });
    expect(check(signed(p256.privateKey), p256.publicKey, { expectedKeyId: undefined })).toMatchObject({
      ok: true,
    });
  });

  it('accepts created at the edges of the skew window', () => {
    expect(check(signed(p256.privateKey, { created: NOW - 300 }), p256.publicKey)).toMatchObject({
      ok: true,
    });
    expect(check(signed(p256.privateKey, { created: NOW + 300 }), p256.publicKey)).toMatchObject({
      ok: true,
    });
  });

  it('picks the first Signature-Input label that has a Signature', () => {
    const request = signed(p256.privateKey);
    const other = signed(p384.privateKey);
    request.headers['signature-input'] =
      `other=${other.headers['signature-input'].slice(5)}, ${request.headers['signature-input']}`;
    expect(check(request, p256.publicKey)).toMatchObject({ ok: true, label: 'sig1' });
    request.headers.signature = `other=${other.headers.signature.slice(5)}, ${request.headers.signature}`;
    expectFailure(check(request, p256.publicKey, { expectedKeyId: undefined }), 401, 'signature-mismatch');
  });

  it('joins repeated header lines like Node does', () => {
    const request = signed(p256.privateKey);
    const headers: Record<string, string | string[]> = { ...request.headers };
    headers.signature = ['dummy=:AAAA:', request.headers.signature];
    expect(
      verifyRequestSignature({
        method: request.method,
        targetUri: request.url,
        headers,
        body: request.body,
        publicKey: p256.publicKey,
        nowSeconds: NOW,
        maxSkewSeconds: 300,
        requiredComponents: MARGO_COMPONENTS,
        requireContentDigestWhenBody: true,
      }),
    ).toMatchObject({ ok: true });
  });

  it('verifies the RFC 9421 B.2.6 Ed25519 test vector', () => {
    const publicKey = createPublicKey(
      '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=\n-----END PUBLIC KEY-----\n',
    );
    const result = verifyRequestSignature({
      method: 'POST',
      targetUri: 'http://example.com/foo?param=Value&Pet=dog',
      headers: {
        host: 'example.com',
        date: 'Tue, 20 Apr 2021 02:07:55 GMT',
        'content-type': 'application/json',
        'content-length': '18',
        'signature-input':
          'sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"',
        signature:
          'sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:',
      },
      body: Buffer.from('{"hello": "world"}'),
      publicKey,
      expectedKeyId: 'test-key-ed25519',
      nowSeconds: 1618884473,
      maxSkewSeconds: 300,
      requiredComponents: [['@method', '@authority', '@path']],
      requireContentDigestWhenBody: false,
    });
    expect(result).toMatchObject({ ok: true, label: 'sig-b26', algorithm: 'ed25519' });
  });

  it('signs with the RFC 9421 test key to the RFC signature (Ed25519 is deterministic)', () => {
    const privateKey = createPrivateKey(
      '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF\n-----END PRIVATE KEY-----\n',
    );
    const headers = signRequest({
      method: 'POST',
      url: 'http://example.com/foo?param=Value&Pet=dog',
      headers: {
        Date: 'Tue, 20 Apr 2021 02:07:55 GMT',
        'Content-Type': 'application/json',
        'Content-Length': '18',
      },
      privateKey,
      keyid: 'test-key-ed25519',
      created: 1618884473,
      label: 'sig-b26',
      components: ['date', '@method', '@path', '@authority', 'content-type', 'content-length'],
    });
    expect(headers.signature).toBe(
      'sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:',
    );
  });
});

describe('verifyRequestSignature failures', () => {
  it('rejects a tampered signature with 401', () => {
    const request = signed(p256.privateKey);
    const tampered = { ...request, headers: tamperSignature(request.headers) };
    expect(tampered.headers.signature).not.toBe(request.headers.signature);
    expectFailure(check(tampered, p256.publicKey), 401, 'signature-mismatch');
  });

  it.each([
    ['ECDSA P-384', p384],
    ['Ed25519', ed25519],
    ['RSA', rsa],
  ])('rejects a tampered %s signature with 401', (_label, pair) => {
    const request = signed(pair.privateKey);
    expectFailure(
      check({ ...request, headers: tamperSignature(request.headers) }, pair.publicKey),
      401,
      'signature-mismatch',
    );
  });

  it('rejects a signature made with another key and a changed request', () => {
    expectFailure(
      check(signed(p384.privateKey), p256.publicKey, { expectedKeyId: undefined }),
      401,
      'signature-mismatch',
    );
    const request = signed(p256.privateKey, { body: undefined });
    expectFailure(check({ ...request, method: 'DELETE' }, p256.publicKey), 401, 'signature-mismatch');
    expectFailure(check({ ...request, url: `${URL_GET}&x=1` }, p256.publicKey), 401, 'signature-mismatch');
  });

  it.each(['signature', 'signature-input'])('rejects a request without %s with 401', (header) => {
    const request = signed(p256.privateKey);
    delete request.headers[header];
    expectFailure(check(request, p256.publicKey), 401, 'signature-missing');
  });

  it('rejects an unsigned request with a body with 401 (signature before content-digest)', () => {
    expectFailure(
      check({ method: 'POST', url: URL_POST, headers: {}, body: BODY }, p256.publicKey),
      401,
      'signature-missing',
    );
  });

  it('rejects stale, future and expired signatures with 401', () => {
    expectFailure(
      check(signed(p256.privateKey, { created: NOW - 301 }), p256.publicKey),
      401,
      'signature-stale',
    );
    expectFailure(
      check(signed(p256.privateKey, { created: NOW + 301 }), p256.publicKey),
      401,
      'signature-future',
    );
    expectFailure(
      check(signed(p256.privateKey, { expires: NOW - 1 }), p256.publicKey),
      401,
      'signature-expired',
    );
    expect(check(signed(p256.privateKey, { expires: NOW + 1 }), p256.publicKey)).toMatchObject({ ok: true });
  });

  it('rejects a wrong keyid with 401', () => {
    expectFailure(
      check(signed(p256.privateKey, { keyid: 'my-rsa-key' }), p256.publicKey),
      401,
      'keyid-mismatch',
    );
    const upper = keyIdOf(p256.publicKey).toUpperCase();
    expectFailure(check(signed(p256.privateKey, { keyid: upper }), p256.publicKey), 401, 'keyid-mismatch');
  });

  it('rejects a body without Content-Digest with 400 (the conformance "skip content digest" case)', () => {
    const request = signed(p256.privateKey, { components: ['@method', '@target-uri', '@authority'] });
    delete request.headers['content-digest'];
    expectFailure(check(request, p256.publicKey), 400, 'content-digest-missing');
    const covered = signed(p256.privateKey);
    delete covered.headers['content-digest'];
    expectFailure(check(covered, p256.publicKey), 400, 'content-digest-missing');
  });

  it('rejects a Content-Digest that does not match the body with 400', () => {
    const request = signed(p256.privateKey);
    expectFailure(
      check({ ...request, body: Buffer.from('{"tampered":true}') }, p256.publicKey),
      400,
      'content-digest-mismatch',
    );
    const wrong = signed(p256.privateKey, {
      headers: { 'content-digest': contentDigestHeader(Buffer.from('x')) },
    });
    expect(wrong.headers['content-digest']).toBe(contentDigestHeader(Buffer.from('x')));
    expectFailure(check(wrong, p256.publicKey), 400, 'content-digest-mismatch');
  });

  it('rejects malformed or unsupported Content-Digest values with 400', () => {
    const malformed = signed(p256.privateKey);
    malformed.headers['content-digest'] = 'sha-256=abc';
    expectFailure(check(malformed, p256.publicKey), 400, 'content-digest-malformed');
    const unsupported = signed(p256.privateKey);
    unsupported.headers['content-digest'] = 'md5=:AAAA:';
    expectFailure(check(unsupported, p256.publicKey), 400, 'content-digest-unsupported-algorithm');
  });

  it('rejects a body signed without content-digest covered with 401, even when the header is present and right', () => {
    const request = signed(p256.privateKey, { components: ['@method', '@target-uri', '@authority'] });
    expect(request.headers['content-digest']).toBe(contentDigestHeader(BODY));
    expectFailure(check(request, p256.publicKey), 401, 'content-digest-not-covered');
    expect(check(request, p256.publicKey, { requireContentDigestWhenBody: false })).toMatchObject({
      ok: true,
    });
  });

  it('rejects signatures that do not cover a required alternative with 401', () => {
    const request = signed(p256.privateKey, { components: ['@authority', '@path', 'content-digest'] });
    const result = check(request, p256.publicKey);
    expectFailure(result, 401, 'components-insufficient');
    if (!result.ok) expect(result.message).toContain('(@method @target-uri) or (@method @authority @path)');
  });

  it('verifies covered extra headers and rejects a covered header that is absent with 401 naming it', () => {
    const get = signed(p256.privateKey, {
      body: undefined,
      headers: { 'X-Device-Id': 'd-1' },
      components: ['@method', '@target-uri', 'x-device-id'],
    });
    expect(
      check({ ...get, headers: { ...get.headers, 'x-device-id': 'd-1' } }, p256.publicKey),
    ).toMatchObject({
      ok: true,
    });
    delete get.headers['X-Device-Id'];
    const result = check(get, p256.publicKey);
    expectFailure(result, 401, 'component-unavailable');
    if (!result.ok) expect(result.message).toContain('x-device-id');
  });

  it('rejects an alg that does not fit the key, or is unknown, with 401', () => {
    const request = signed(p256.privateKey);
    request.headers['signature-input'] = request.headers['signature-input'] + ';alg="ed25519"';
    expectFailure(check(request, p256.publicKey), 401, 'algorithm-mismatch');
    request.headers['signature-input'] = request.headers['signature-input'].replace(
      '"ed25519"',
      '"hmac-sha256"',
    );
    expectFailure(check(request, p256.publicKey), 401, 'algorithm-unsupported');
  });

  it('with alg only tries the named RSA algorithm', () => {
    const request = signed(rsa.privateKey, {
      body: undefined,
      algorithm: 'rsa-pss-sha512',
      includeAlg: true,
    });
    expect(check(request, rsa.publicKey)).toMatchObject({ ok: true, algorithm: 'rsa-pss-sha512' });
    const v15 = sign('sha256', getBase(request.headers['signature-input'].slice(5)), rsa.privateKey);
    request.headers.signature = `sig1=:${v15.toString('base64')}:`;
    expectFailure(check(request, rsa.publicKey), 401, 'signature-mismatch');
  });

  it('rejects keys it cannot verify with with 401', () => {
    const p521 = generateKeyPairSync('ec', { namedCurve: 'P-521' });
    expectFailure(
      check(signed(p256.privateKey), p521.publicKey, { expectedKeyId: undefined }),
      401,
      'key-unsupported',
    );
  });

  it('rejects a signature whose target URI the server rebuilt differently', () => {
    const request = signed(p256.privateKey);
    expectFailure(
      check(
        { ...request, url: 'http://wfm.example.com:8443/api/v1/clients/c-1/capabilities/d-1' },
        p256.publicKey,
      ),
      401,
      'signature-mismatch',
    );
    expectFailure(check({ ...request, url: 'not a url' }, p256.publicKey), 401, 'component-unavailable');
  });

  it.each([
    ['empty', '', 'signature-missing'],
    ['whitespace', '   ', 'signature-missing'],
    ['unterminated string', 'sig1=("@method" "@target-uri);created=1700000000', 'signature-malformed'],
    ['missing parens', 'sig1="@method" "@target-uri";created=1700000000', 'signature-malformed'],
    ['unterminated inner list', 'sig1=("@method" "@target-uri";created=1700000000', 'signature-malformed'],
    ['string created', 'sig1=("@method" "@target-uri");created="1700000000"', 'created-invalid'],
    ['decimal created', 'sig1=("@method" "@target-uri");created=1700000000.5', 'created-invalid'],
    ['token created', 'sig1=("@method" "@target-uri");created=yesterday', 'created-invalid'],
    ['missing created', 'sig1=("@method" "@target-uri");keyid="k"', 'created-missing'],
    ['string expires', 'sig1=("@method" "@target-uri");created=1700000000;expires="x"', 'expires-invalid'],
    ['integer keyid', 'sig1=("@method" "@target-uri");created=1700000000;keyid=5', 'keyid-invalid'],
    ['token component', 'sig1=(@method "@target-uri");created=1700000000', 'signature-malformed'],
    ['integer component', 'sig1=(1 "@target-uri");created=1700000000', 'signature-malformed'],
    ['item instead of inner list', 'sig1="@method";created=1700000000', 'signature-malformed'],
    ['other label only', 'sig2=("@method" "@target-uri");created=1700000000', 'signature-label-missing'],
    [
      'unknown derived component',
      'sig1=("@method" "@target-uri" "@status");created=1700000000',
      'component-unavailable',
    ],
    [
      'duplicate component',
      'sig1=("@method" "@target-uri" "@method");created=1700000000',
      'component-unavailable',
    ],
    [
      'derived component parameter',
      'sig1=("@method";req "@target-uri");created=1700000000',
      'component-unavailable',
    ],
    [
      'prototype property as header',
      'sig1=("@method" "@target-uri" "constructor");created=1700000000',
      'component-unavailable',
    ],
    ['huge integer', 'sig1=("@method" "@target-uri");created=99999999999999999999', 'signature-malformed'],
    ['non-ASCII', 'sig1=("@méthod" "@target-uri");created=1700000000', 'signature-malformed'],
    ['binary garbage', '\u0000\u00ff\u0001sig1=(', 'signature-malformed'],
  ])(
    'never throws for a malformed Signature-Input (%s) and answers 401',
    (_label, signatureInput, reason) => {
      const request = signed(p256.privateKey, { body: undefined });
      request.headers['signature-input'] = signatureInput;
      expectFailure(check(request, p256.publicKey, { expectedKeyId: undefined }), 401, reason);
    },
  );

  it.each([
    ['token', 'sig1=abc', 'signature-malformed'],
    ['string', 'sig1="AAAA"', 'signature-malformed'],
    ['bad base64', 'sig1=:A:', 'signature-malformed'],
    ['inner list', 'sig1=(:AAAA:)', 'signature-malformed'],
    ['unterminated', 'sig1=:AAAA', 'signature-malformed'],
    ['empty bytes', 'sig1=::', 'signature-mismatch'],
  ])('never throws for a malformed Signature (%s) and answers 401', (_label, signature, reason) => {
    const request = signed(p256.privateKey, { body: undefined });
    request.headers.signature = signature;
    expectFailure(check(request, p256.publicKey), 401, reason);
  });
});

describe('canonicalSignature (issue #13, finding 1)', () => {
  it('maps raw, DER and high-s encodings of one ECDSA signature to the same bytes', async () => {
    const { generateKeyPairSync, sign: nodeSign } = await import('node:crypto');
    const { canonicalSignature } = await import('../../src/common/http-signatures/verify.js');
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const data = Buffer.from('base');
    const raw = nodeSign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    const int = (bytes: Buffer) => {
      // minimal big-endian bytes; an odd-length hex string would silently lose its last nibble
      const hex = BigInt(`0x${bytes.toString('hex')}`).toString(16);
      const trimmed = Buffer.from(hex.length % 2 === 0 ? hex : `0${hex}`, 'hex');
      const body = trimmed[0] >= 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed;
      return Buffer.concat([Buffer.from([0x02, body.length]), body]);
    };
    const seq = Buffer.concat([int(raw.subarray(0, 32)), int(raw.subarray(32))]);
    const der = Buffer.concat([Buffer.from([0x30, seq.length]), seq]);
    const n = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
    const s = BigInt(`0x${raw.subarray(32).toString('hex')}`);
    const flipped = Buffer.concat([
      raw.subarray(0, 32),
      Buffer.from((n - s).toString(16).padStart(64, '0'), 'hex'),
    ]);
    const canonical = canonicalSignature('ecdsa-p256-sha256', raw);
    expect(canonicalSignature('ecdsa-p256-sha256', flipped)).toEqual(canonical);
    expect(canonicalSignature('ecdsa-p256-sha256', der)).toEqual(canonical);
    expect(canonical.length).toBe(64);
  });
});
