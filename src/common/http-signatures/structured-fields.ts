/**
 * A small, strict RFC 8941 (Structured Field Values for HTTP) parser and serialiser, limited to what
 * HTTP Message Signatures (RFC 9421) and Content-Digest (RFC 9530) need: Dictionaries whose members
 * are Items or Inner Lists, with Parameters. Bare items: integer, decimal, string, token, byte
 * sequence and boolean. Any deviation from the grammar throws a {@link StructuredFieldError}.
 */

/** A bare item, tagged with its RFC 8941 type so that e.g. an integer and a decimal stay distinct. */
export type BareItem =
  | { type: 'integer'; value: number }
  | { type: 'decimal'; value: number }
  | { type: 'string'; value: string }
  | { type: 'token'; value: string }
  | { type: 'bytes'; value: Buffer }
  | { type: 'boolean'; value: boolean };

/** Parameters in wire order; a repeated key keeps its first position and its last value. */
export type Parameters = Map<string, BareItem>;

export interface Item {
  kind: 'item';
  value: BareItem;
  params: Parameters;
}

export interface InnerList {
  kind: 'inner-list';
  items: Item[];
  params: Parameters;
}

/** Dictionary members in wire order. */
export type Dictionary = Map<string, Item | InnerList>;

/** Thrown for any input that does not follow the RFC 8941 grammar. */
export class StructuredFieldError extends Error {
  override readonly name = 'StructuredFieldError';

  constructor(
    message: string,
    /** Offset in the input where parsing failed. */
    readonly position: number,
  ) {
    super(`${message} (at offset ${position})`);
  }
}

const MAX_INTEGER = 999_999_999_999_999;
const KEY_FIRST = /[a-z*]/;
const KEY_REST = /[a-z0-9_\-.*]/;
const TOKEN_FIRST = /[A-Za-z*]/;
const TOKEN_REST = /[!#$%&'*+\-.^_`|~0-9A-Za-z:/]/;
const BASE64_CHAR = /[A-Za-z0-9+/=]/;

/** A cursor over the field value being parsed. */
class Cursor {
  pos = 0;

  constructor(readonly input: string) {}

  get done(): boolean {
    return this.pos >= this.input.length;
  }

  peek(): string {
    return this.input.charAt(this.pos);
  }

  next(): string {
    return this.input.charAt(this.pos++);
  }

  fail(message: string): never {
    throw new StructuredFieldError(message, this.pos);
  }

  expect(char: string, what: string): void {
    if (this.peek() !== char) this.fail(`expected ${what}`);
    this.pos++;
  }

  skipSpaces(): void {
    while (this.peek() === ' ') this.pos++;
  }

  skipOws(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.pos++;
  }
}

/** Parses a whole field value as a Dictionary (RFC 8941 §4.2.2). */
export function parseDictionary(input: string): Dictionary {
  const cursor = new Cursor(input);
  const dictionary: Dictionary = new Map();
  cursor.skipSpaces();
  while (!cursor.done) {
    const key = parseKey(cursor);
    let member: Item | InnerList;
    if (cursor.peek() === '=') {
      cursor.pos++;
      member = parseItemOrInnerList(cursor);
    } else {
      member = { kind: 'item', value: { type: 'boolean', value: true }, params: parseParameters(cursor) };
    }
    dictionary.set(key, member);
    cursor.skipOws();
    if (cursor.done) break;
    cursor.expect(',', "',' between dictionary members");
    cursor.skipOws();
    if (cursor.done) cursor.fail('trailing comma in dictionary');
  }
  return dictionary;
}

/** Parses a whole field value as a single Item (RFC 8941 §4.2.3). */
export function parseItem(input: string): Item {
  const cursor = new Cursor(input);
  cursor.skipSpaces();
  const item = parseItemAt(cursor);
  cursor.skipSpaces();
  if (!cursor.done) cursor.fail('unexpected characters after item');
  return item;
}

function parseItemOrInnerList(cursor: Cursor): Item | InnerList {
  return cursor.peek() === '(' ? parseInnerList(cursor) : parseItemAt(cursor);
}

function parseInnerList(cursor: Cursor): InnerList {
  cursor.expect('(', "'('");
  const items: Item[] = [];
  for (;;) {
    cursor.skipSpaces();
    if (cursor.done) cursor.fail('unterminated inner list');
    if (cursor.peek() === ')') {
      cursor.pos++;
      return { kind: 'inner-list', items, params: parseParameters(cursor) };
    }
    items.push(parseItemAt(cursor));
    const c = cursor.peek();
    if (c !== ' ' && c !== ')') cursor.fail("expected ' ' or ')' in inner list");
  }
}

function parseItemAt(cursor: Cursor): Item {
  const value = parseBareItem(cursor);
  return { kind: 'item', value, params: parseParameters(cursor) };
}

function parseParameters(cursor: Cursor): Parameters {
  const params: Parameters = new Map();
  while (cursor.peek() === ';') {
    cursor.pos++;
    cursor.skipSpaces();
    const key = parseKey(cursor);
    let value: BareItem = { type: 'boolean', value: true };
    if (cursor.peek() === '=') {
      cursor.pos++;
      value = parseBareItem(cursor);
    }
    params.set(key, value);
  }
  return params;
}

function parseKey(cursor: Cursor): string {
  if (!KEY_FIRST.test(cursor.peek())) cursor.fail('expected a key (lowercase letter or *)');
  const start = cursor.pos;
  cursor.pos++;
  while (!cursor.done && KEY_REST.test(cursor.peek())) cursor.pos++;
  return cursor.input.slice(start, cursor.pos);
}

function parseBareItem(cursor: Cursor): BareItem {
  const c = cursor.peek();
  if (c === '-' || (c >= '0' && c <= '9')) return parseNumber(cursor);
  if (c === '"') return { type: 'string', value: parseString(cursor) };
  if (c === ':') return { type: 'bytes', value: parseByteSequence(cursor) };
  if (c === '?') return { type: 'boolean', value: parseBoolean(cursor) };
  if (TOKEN_FIRST.test(c)) return { type: 'token', value: parseToken(cursor) };
  return cursor.done ? cursor.fail('unexpected end of input') : cursor.fail(`unexpected character '${c}'`);
}

function parseNumber(cursor: Cursor): BareItem {
  const start = cursor.pos;
  const negative = cursor.peek() === '-';
  if (negative) cursor.pos++;
  const digitsStart = cursor.pos;
  while (/[0-9]/.test(cursor.peek())) cursor.pos++;
  const integerDigits = cursor.pos - digitsStart;
  if (integerDigits === 0) cursor.fail('expected a digit');
  if (cursor.peek() !== '.') {
    if (integerDigits > 15) cursor.fail('integer has more than 15 digits');
    const value = Number(cursor.input.slice(start, cursor.pos));
    if (Math.abs(value) > MAX_INTEGER) cursor.fail('integer out of range');
    return { type: 'integer', value };
  }
  if (integerDigits > 12) cursor.fail('decimal has more than 12 integer digits');
  cursor.pos++;
  const fractionStart = cursor.pos;
  while (/[0-9]/.test(cursor.peek())) cursor.pos++;
  const fractionDigits = cursor.pos - fractionStart;
  if (fractionDigits === 0) cursor.fail('decimal ends with a dot');
  if (fractionDigits > 3) cursor.fail('decimal has more than 3 fractional digits');
  return { type: 'decimal', value: Number(cursor.input.slice(start, cursor.pos)) };
}

function parseString(cursor: Cursor): string {
  cursor.expect('"', "'\"'");
  let out = '';
  for (;;) {
    if (cursor.done) cursor.fail('unterminated string');
    const c = cursor.next();
    if (c === '"') return out;
    if (c === '\\') {
      if (cursor.done) cursor.fail('unterminated escape in string');
      const escaped = cursor.next();
      if (escaped !== '"' && escaped !== '\\') cursor.fail(`invalid escape '\\${escaped}' in string`);
      out += escaped;
      continue;
    }
    const code = c.charCodeAt(0);
    if (code < 0x20 || code > 0x7e) cursor.fail('non-printable or non-ASCII character in string');
    out += c;
  }
}

function parseToken(cursor: Cursor): string {
  const start = cursor.pos;
  cursor.pos++;
  while (!cursor.done && TOKEN_REST.test(cursor.peek())) cursor.pos++;
  return cursor.input.slice(start, cursor.pos);
}

function parseByteSequence(cursor: Cursor): Buffer {
  cursor.expect(':', "':'");
  const start = cursor.pos;
  while (!cursor.done && cursor.peek() !== ':') {
    if (!BASE64_CHAR.test(cursor.peek())) cursor.fail('invalid character in byte sequence');
    cursor.pos++;
  }
  if (cursor.done) cursor.fail('unterminated byte sequence');
  const encoded = cursor.input.slice(start, cursor.pos);
  cursor.pos++;
  if (!isWellFormedBase64(encoded)) {
    throw new StructuredFieldError('malformed base64 in byte sequence', start);
  }
  return Buffer.from(encoded, 'base64');
}

/** Padding is optional (RFC 8941 §4.2.7), but when present it must be correct and final. */
function isWellFormedBase64(encoded: string): boolean {
  const body = encoded.replace(/={1,2}$/, '');
  if (body.includes('=')) return false;
  if (body.length % 4 === 1) return false;
  return body.length === encoded.length || encoded.length % 4 === 0;
}

function parseBoolean(cursor: Cursor): boolean {
  cursor.expect('?', "'?'");
  const c = cursor.next();
  if (c === '1') return true;
  if (c === '0') return false;
  return cursor.fail("boolean must be '?0' or '?1'");
}

/** Thrown when a value cannot be represented as a structured field (a programming error). */
export class StructuredFieldSerializationError extends Error {
  override readonly name = 'StructuredFieldSerializationError';
}

/** Serialises a bare item (RFC 8941 §4.1.3). */
export function serializeBareItem(item: BareItem): string {
  switch (item.type) {
    case 'integer':
      if (!Number.isInteger(item.value) || Math.abs(item.value) > MAX_INTEGER) {
        throw new StructuredFieldSerializationError(`not a structured-field integer: ${item.value}`);
      }
      return String(item.value);
    case 'decimal':
      return serializeDecimal(item.value);
    case 'string':
      if (!/^[\x20-\x7e]*$/.test(item.value)) {
        throw new StructuredFieldSerializationError('strings may only hold printable ASCII');
      }
      return `"${item.value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
    case 'token':
      if (!/^[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*$/.test(item.value)) {
        throw new StructuredFieldSerializationError(`not a token: ${item.value}`);
      }
      return item.value;
    case 'bytes':
      return `:${item.value.toString('base64')}:`;
    case 'boolean':
      return item.value ? '?1' : '?0';
  }
}

function serializeDecimal(value: number): string {
  const rounded = Math.round(value * 1000) / 1000;
  if (!Number.isFinite(rounded) || Math.abs(Math.trunc(rounded)) >= 1e12) {
    throw new StructuredFieldSerializationError(`not a structured-field decimal: ${value}`);
  }
  const text = String(rounded);
  return text.includes('.') ? text : `${text}.0`;
}

/** Serialises parameters (RFC 8941 §4.1.1.2); a `true` boolean value is written as the bare key. */
export function serializeParameters(params: Parameters): string {
  let out = '';
  for (const [key, value] of params) {
    assertKey(key);
    out += `;${key}`;
    if (!(value.type === 'boolean' && value.value)) out += `=${serializeBareItem(value)}`;
  }
  return out;
}

/** Serialises an item with its parameters. */
export function serializeItem(item: Item): string {
  return serializeBareItem(item.value) + serializeParameters(item.params);
}

/** Serialises an inner list with its parameters, e.g. `("@method" "@path");created=1`. */
export function serializeInnerList(items: readonly Item[], params: Parameters = new Map()): string {
  return `(${items.map(serializeItem).join(' ')})${serializeParameters(params)}`;
}

/** Serialises one dictionary member value (item or inner list), without its key. */
export function serializeMember(member: Item | InnerList): string {
  return member.kind === 'inner-list'
    ? serializeInnerList(member.items, member.params)
    : serializeItem(member);
}

/** Serialises a dictionary (RFC 8941 §4.1.2). */
export function serializeDictionary(dictionary: Dictionary): string {
  const parts: string[] = [];
  for (const [key, member] of dictionary) {
    assertKey(key);
    if (member.kind === 'item' && member.value.type === 'boolean' && member.value.value) {
      parts.push(key + serializeParameters(member.params));
    } else {
      parts.push(`${key}=${serializeMember(member)}`);
    }
  }
  return parts.join(', ');
}

function assertKey(key: string): void {
  if (!/^[a-z*][a-z0-9_\-.*]*$/.test(key)) {
    throw new StructuredFieldSerializationError(`not a structured-field key: ${key}`);
  }
}

/** Builds an item holding an sf-string, e.g. a component identifier. */
export function stringItem(value: string, params: Parameters = new Map()): Item {
  return { kind: 'item', value: { type: 'string', value }, params };
}
