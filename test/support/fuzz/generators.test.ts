import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { featuresOf } from './features.js';
import { type OpenApiDocument, operationsOf } from './operations.js';
import { percentEncode, requestFor } from './requests.js';
import { Deep, RawNumber, toJsonText } from './values.js';

const doc = JSON.parse(
  readFileSync(new URL('../../../openapi/openapi.json', import.meta.url), 'utf8'),
) as OpenApiDocument;

describe('fuzz generators (pure)', () => {
  it('take every operation of the committed OpenAPI document, with every path template parameter', () => {
    const ops = operationsOf(doc);
    const inDoc = Object.values(doc.paths).flatMap((item) => Object.keys(item));
    expect(ops).toHaveLength(inDoc.length);
    const legacy = ops.find((o) => o.id === 'getLegacyBundle')!;
    // {clientId} is not declared as a parameter there, but it is in the template
    expect(legacy.pathParams.map((p) => p.name)).toEqual(['clientId', 'digest']);
    expect(legacy.auth).toBe('httpSignature');
    expect(ops.find((o) => o.id === 'putCapabilities')!.body['application/json'].properties).toHaveProperty(
      'properties',
    );
  });

  it('generate requests that fill every path parameter and send only header-safe header values', () => {
    for (const op of operationsOf(doc)) {
      for (const req of fc.sample(requestFor(op, { clientId: ['c-1'] }), { numRuns: 20, seed: 1 })) {
        expect(req.path).not.toMatch(/[{}]/);
        expect(req.path.startsWith('/')).toBe(true);
        for (const value of Object.values(req.headers)) expect(value).toMatch(/^[\t\x20-\x7e]*$/);
        if (op.auth === 'none') expect(req.auth).toBe('none');
      }
    }
  });

  it('percent-encode a lone surrogate as WTF-8 bytes and everything else as encodeURIComponent does', () => {
    expect(percentEncode('a\ud800b')).toBe('a%ED%A0%80b');
    expect(percentEncode('x/ y\u{1F600}')).toBe(encodeURIComponent('x/ y\u{1F600}'));
  });

  it('write raw numbers and deep nesting verbatim, without recursion', () => {
    expect(toJsonText({ a: new RawNumber('1e400'), b: [1, 'x'] })).toBe('{"a":1e400,"b":[1,"x"]}');
    const deep = toJsonText(new Deep(100_000, 'array'));
    expect(deep).toHaveLength(200_000);
    expect(toJsonText(new Deep(2, 'object'))).toBe('{"a":{"a":1}}');
  });

  it('name the features of a request for classifying failures', () => {
    const base = {
      operation: 'x',
      method: 'GET',
      path: '/x',
      query: '',
      headers: {},
      params: {},
      auth: 'none' as const,
    };
    expect(featuresOf({ ...base, bodyValue: { a: ['\u0000'] } }).nulOrLoneSurrogate).toBe(true);
    expect(featuresOf({ ...base, bodyValue: { a: 'x\ud800' } }).nulOrLoneSurrogate).toBe(true);
    expect(featuresOf({ ...base, bodyValue: { a: 'ok \u{1F600}' } }).nulOrLoneSurrogate).toBe(false);
    expect(featuresOf({ ...base, bodyValue: new RawNumber('9223372036854775808') }).beyondInt8).toBe(true);
    expect(featuresOf({ ...base, bodyValue: new RawNumber('9223372036854775807') }).beyondInt8).toBe(false);
    expect(featuresOf({ ...base, bodyValue: { a: new Deep(5_000, 'array') } }).depth).toBe(5_001);
    expect(featuresOf({ ...base, path: '/api/v1/clients/%E0%A4%A/x' }).malformedPercent).toBe(true);
  });
});
