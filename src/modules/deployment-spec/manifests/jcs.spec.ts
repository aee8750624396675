import { describe, expect, it } from 'vitest';
import { canonicalJson, type CanonicalValue } from './jcs.js';

const text = (value: CanonicalValue): string => canonicalJson(value).toString('utf8');

/** A double from its IEEE-754 bit pattern (RFC 8785 Appendix B lists numbers this way). */
function fromBits(hex: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${hex}`));
  return view.getFloat64(0);
}

describe('canonicalJson (RFC 8785)', () => {
  it('reproduces the RFC 8785 §3.2.2 example (number formats, unicode and escapes)', () => {
    const input = String.raw`{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }`;
    const expected = String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`;
    const bytes = canonicalJson(JSON.parse(input) as CanonicalValue);
    expect(bytes.toString('utf8')).toBe(expected);
    // The same, as the UTF-8 bytes of RFC 8785 §3.2.4.
    const hex = [
      '7b 22 6c 69 74 65 72 61 6c 73 22 3a 5b 6e 75 6c 6c 2c 74 72 75 65 2c 66 61 6c 73 65 5d 2c',
      '22 6e 75 6d 62 65 72 73 22 3a 5b 33 33 33 33 33 33 33 33 33 2e 33 33 33 33 33 33 33 2c',
      '31 65 2b 33 30 2c 34 2e 35 2c 30 2e 30 30 32 2c 31 65 2d 32 37 5d 2c',
      '22 73 74 72 69 6e 67 22 3a 22 e2 82 ac 24 5c 75 30 30 30 66 5c 6e 41 27 42',
      '5c 22 5c 5c 5c 5c 5c 22 2f 22 7d',
    ]
      .join(' ')
      .replace(/ /g, '');
    expect(bytes.toString('hex')).toBe(hex);
  });

  it('sorts keys by UTF-16 code units, non-ASCII keys included (RFC 8785 §3.2.3)', () => {
    const input: CanonicalValue = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    expect(text(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it('sorts nested objects and keeps array order', () => {
    expect(text({ b: [3, { z: 1, a: [] }, 'x'], a: { d: {}, c: null } })).toBe(
      '{"a":{"c":null,"d":{}},"b":[3,{"a":[],"z":1},"x"]}',
    );
  });

  it('formats numbers as ECMAScript does (RFC 8785 Appendix B)', () => {
    const cases: [string, string][] = [
      ['0000000000000000', '0'],
      ['8000000000000000', '0'],
      ['0000000000000001', '5e-324'],
      ['8000000000000001', '-5e-324'],
      ['7fefffffffffffff', '1.7976931348623157e+308'],
      ['ffefffffffffffff', '-1.7976931348623157e+308'],
      ['4340000000000000', '9007199254740992'],
      ['c340000000000000', '-9007199254740992'],
      ['4430000000000000', '295147905179352830000'],
      ['44b52d02c7e14af5', '9.999999999999997e+22'],
      ['44b52d02c7e14af6', '1e+23'],
      ['44b52d02c7e14af7', '1.0000000000000001e+23'],
      ['444b1ae4d6e2ef4f', '999999999999999900000'],
      ['444b1ae4d6e2ef50', '1e+21'],
      ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
      ['3eb0c6f7a0b5ed8d', '0.000001'],
      ['41b3de4355555553', '333333333.3333332'],
      ['41b3de4355555555', '333333333.3333333'],
      ['41b3de4355555557', '333333333.33333343'],
      ['becbf647612f3696', '-0.0000033333333333333333'],
      ['43143ff3c1cb0959', '1424953923781206.2'],
    ];
    for (const [bits, expected] of cases) expect(text(fromBits(bits)), bits).toBe(expected);
  });

  it('writes bigint as its exact decimal integer, beyond 2^53', () => {
    expect(text(18446744073709551615n)).toBe('18446744073709551615');
    expect(text({ manifestVersion: 18446744073709551615n, n: 9007199254740993n })).toBe(
      '{"manifestVersion":18446744073709551615,"n":9007199254740993}',
    );
    expect(text(-1n)).toBe('-1');
  });

  it('escapes strings like JSON.stringify: controls, quotes, backslash; not / or non-ASCII', () => {
    expect(text('\u0000\u001f\b\t\n\f\r"\\/é\u2028')).toBe('"\\u0000\\u001f\\b\\t\\n\\f\\r\\"\\\\/é\u2028"');
    expect(text(['', true, false, null])).toBe('["",true,false,null]');
  });

  it('is UTF-8', () => {
    expect(canonicalJson('€').toString('hex')).toBe('22e282ac22');
  });

  it('refuses values that are not I-JSON', () => {
    expect(() => canonicalJson(Number.NaN)).toThrow(TypeError);
    expect(() => canonicalJson({ a: [1, Number.POSITIVE_INFINITY] })).toThrow('non-finite number at /a/1');
    expect(() => canonicalJson({ a: undefined } as unknown as CanonicalValue)).toThrow(
      'unsupported undefined at /a',
    );
    expect(() => canonicalJson({ 'x/y': '\ud800' })).toThrow('lone surrogate in a string at /x~1y');
    expect(() => canonicalJson(new Date(0) as unknown as CanonicalValue)).toThrow(TypeError);
    expect(() => canonicalJson({ f: (() => 1) as unknown as CanonicalValue })).toThrow(
      'unsupported function at /f',
    );
  });

  it('accepts objects without a prototype', () => {
    const bare = Object.create(null) as { [key: string]: CanonicalValue };
    bare.b = 1;
    bare.a = 2;
    expect(text(bare)).toBe('{"a":2,"b":1}');
  });
});
