import { describe, expect, it } from 'vitest';
import {
  badStringReason,
  badStrings,
  badTargetPart,
  isDeviceId,
  jsonDepth,
  MAX_ID_LENGTH,
} from './input-limits.js';

describe('jsonDepth', () => {
  it('counts object and array nesting, not brackets inside strings or after escapes', () => {
    expect(jsonDepth('1')).toBe(0);
    expect(jsonDepth('{}')).toBe(1);
    expect(jsonDepth('{"a":[1,{"b":[]}]}')).toBe(4);
    expect(jsonDepth('{"a":"[[[{{{"}')).toBe(1);
    expect(jsonDepth('{"a\\"[[":"\\\\","b":["]"]}')).toBe(2);
  });

  it('stops at the limit, in linear time even for 1,000,000 levels', () => {
    const deep = '['.repeat(1_000_000) + ']'.repeat(1_000_000);
    const start = performance.now();
    expect(jsonDepth(deep, 64)).toBe(65);
    expect(jsonDepth(deep)).toBe(1_000_000);
    expect(performance.now() - start).toBeLessThan(1000);
  });
});

describe('badStringReason / badStrings', () => {
  it('refuses NUL and unpaired surrogates, accepts paired ones', () => {
    expect(badStringReason('plain')).toBeUndefined();
    expect(badStringReason('rocket \ud83d\ude80')).toBeUndefined();
    expect(badStringReason('a\u0000b')).toMatch(/NUL/);
    expect(badStringReason('a\ud800')).toMatch(/surrogate/);
    expect(badStringReason('\ud800a')).toMatch(/surrogate/);
    expect(badStringReason('\udc00')).toMatch(/surrogate/);
    expect(badStringReason('\ude80\ud83d')).toMatch(/surrogate/);
  });

  it('names every bad value and member name by JSON pointer, iteratively', () => {
    expect(
      badStrings({ a: ['ok', 'x\u0000'], 'k/~\ud800': 1, b: { c: '\udfff' } })
        .map((e) => e.field)
        .sort(),
    ).toEqual(['/a/1', '/b/c', '/k~1~0\ud800']);
    let deep: unknown = 'x\u0000';
    for (let i = 0; i < 100_000; i += 1) deep = [deep];
    expect(badStrings(deep)[0].field).toBe('/0'.repeat(100_000));
    expect(badStrings({ a: 1, b: [true, null, 2.5] })).toEqual([]);
  });
});

describe('badTargetPart', () => {
  it('refuses malformed percent-encoding and NUL', () => {
    expect(badTargetPart('press-1')).toBeUndefined();
    expect(badTargetPart('gw%2Fplc')).toBeUndefined();
    expect(badTargetPart('%E0%A4%A')).toMatch(/percent/);
    expect(badTargetPart('%ED%A0%80')).toMatch(/percent/); // an encoded lone surrogate is not UTF-8
    expect(badTargetPart('%00')).toMatch(/NUL/);
  });
});

describe('isDeviceId', () => {
  it('follows the spec pattern and the length limit', () => {
    expect(isDeviceId('gw-1/plc-1')).toBe(true);
    expect(isDeviceId('d'.repeat(MAX_ID_LENGTH))).toBe(true);
    expect(isDeviceId('d'.repeat(MAX_ID_LENGTH + 1))).toBe(false);
    expect(isDeviceId('a//b')).toBe(false);
    expect(isDeviceId(42)).toBe(false);
  });
});
