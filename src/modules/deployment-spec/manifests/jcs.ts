/**
 * RFC 8785 JSON Canonicalization Scheme for the values a State Manifest uses (decision D8), written for
 * this project (no dependency): objects with keys sorted by UTF-16 code units, arrays, strings (escaped as
 * ECMAScript `JSON.stringify` does, which is what RFC 8785 prescribes), booleans, null, finite numbers
 * (ECMAScript Number-to-String via `JSON.stringify`, `-0` → `0`) and `bigint`, written as its exact decimal
 * integer so manifestVersion survives beyond 2^53 (D7). Output is UTF-8 without whitespace.
 *
 * Anything else (undefined, functions, symbols, NaN/Infinity, lone surrogates, non-plain objects such as
 * Date or Buffer) is refused with a TypeError naming where it was found, rather than silently dropped.
 */

/** A value `canonicalJson` accepts. */
export type CanonicalValue =
  null | boolean | number | bigint | string | CanonicalValue[] | { [key: string]: CanonicalValue };

/** A lone surrogate (a pair is one code point under the `u` flag, so it does not match). */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** A JSON string literal, refusing text that is not valid Unicode (I-JSON, RFC 8785 §3.1). */
function stringLiteral(text: string, at: string): string {
  if (LONE_SURROGATE.test(text)) throw new TypeError(`canonicalJson: lone surrogate in a string at ${at}`);
  return JSON.stringify(text);
}

/** Plain data object: `{}` literal or `Object.create(null)`. */
function isPlainObject(value: object): value is { [key: string]: CanonicalValue } {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Appends the canonical form of `value` to `out`; `at` is a JSON pointer for error messages. */
function write(value: unknown, at: string, out: string[]): void {
  if (value === null) {
    out.push('null');
  } else if (typeof value === 'boolean') {
    out.push(value ? 'true' : 'false');
  } else if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: non-finite number at ${at || '/'}`);
    out.push(JSON.stringify(value));
  } else if (typeof value === 'bigint') {
    out.push(value.toString(10));
  } else if (typeof value === 'string') {
    out.push(stringLiteral(value, at || '/'));
  } else if (Array.isArray(value)) {
    out.push('[');
    value.forEach((item, i) => {
      if (i > 0) out.push(',');
      write(item, `${at}/${i}`, out);
    });
    out.push(']');
  } else if (typeof value === 'object' && isPlainObject(value)) {
    writeObject(value, at, out);
  } else {
    throw new TypeError(`canonicalJson: unsupported ${typeof value} at ${at || '/'}`);
  }
}

/** Members sorted by the UTF-16 code units of their names (the default string sort). */
function writeObject(value: { [key: string]: CanonicalValue }, at: string, out: string[]): void {
  out.push('{');
  Object.keys(value)
    .sort()
    .forEach((key, i) => {
      const path = `${at}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
      if (i > 0) out.push(',');
      out.push(stringLiteral(key, path), ':');
      write(value[key], path, out);
    });
  out.push('}');
}

/** The canonical UTF-8 bytes of a value (RFC 8785). */
export function canonicalJson(value: CanonicalValue): Buffer {
  const out: string[] = [];
  write(value, '', out);
  return Buffer.from(out.join(''), 'utf8');
}
