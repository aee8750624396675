import { describe, expect, it } from 'vitest';

import {
  parseDictionary,
  parseItem,
  serializeBareItem,
  serializeDictionary,
  serializeInnerList,
  stringItem,
  StructuredFieldError,
  type InnerList,
  type Item,
  type Parameters,
} from './structured-fields.js';

function member<T extends Item | InnerList>(input: string, key: string): T {
  const value = parseDictionary(input).get(key);
  if (value === undefined) throw new Error(`no member ${key}`);
  return value as T;
}

describe('parseDictionary', () => {
  it('parses a Signature-Input member: inner list of strings with typed parameters', () => {
    const list = member<InnerList>(
      'sig1=("@method" "@target-uri" "content-digest");created=1700000000;keyid="abc";alg=tok;flag;off=?0',
      'sig1',
    );
    expect(list.kind).toBe('inner-list');
    expect(list.items.map((item) => item.value)).toEqual([
      { type: 'string', value: '@method' },
      { type: 'string', value: '@target-uri' },
      { type: 'string', value: 'content-digest' },
    ]);
    expect([...list.params]).toEqual([
      ['created', { type: 'integer', value: 1700000000 }],
      ['keyid', { type: 'string', value: 'abc' }],
      ['alg', { type: 'token', value: 'tok' }],
      ['flag', { type: 'boolean', value: true }],
      ['off', { type: 'boolean', value: false }],
    ]);
  });

  it('parses item parameters inside an inner list and an empty inner list', () => {
    const list = member<InnerList>('a=("content-digest";key="sha-256" "x";bs), b=()', 'a');
    expect([...list.items[0].params]).toEqual([['key', { type: 'string', value: 'sha-256' }]]);
    expect([...list.items[1].params]).toEqual([['bs', { type: 'boolean', value: true }]]);
    expect(member<InnerList>('a=("x"), b=()', 'b').items).toEqual([]);
  });

  it('parses byte sequences with and without padding', () => {
    const padded = member<Item>('sha-256=:aGVsbG8=:', 'sha-256');
    expect(padded.value).toEqual({ type: 'bytes', value: Buffer.from('hello') });
    const unpadded = member<Item>('x=:aGVsbG8:', 'x');
    expect(unpadded.value).toEqual({ type: 'bytes', value: Buffer.from('hello') });
    expect(member<Item>('x=::', 'x').value).toEqual({ type: 'bytes', value: Buffer.alloc(0) });
  });

  it('accepts optional whitespace around commas, keeps order and lets the last duplicate win', () => {
    const dictionary = parseDictionary('  b=1 ,\ta=2,b=3  ');
    expect([...dictionary.keys()]).toEqual(['b', 'a']);
    expect(member<Item>('b=1, b=3', 'b').value).toEqual({ type: 'integer', value: 3 });
  });

  it('parses a bare key as boolean true, with parameters', () => {
    const item = member<Item>('flag;p=1', 'flag');
    expect(item.value).toEqual({ type: 'boolean', value: true });
    expect(item.params.get('p')).toEqual({ type: 'integer', value: 1 });
  });

  it('parses numbers, strings with escapes and tokens', () => {
    const d = parseDictionary('n=-42, d=1.5, s="a \\"q\\" \\\\ b", t=foo/bar:baz, star=*x');
    expect((d.get('n') as Item).value).toEqual({ type: 'integer', value: -42 });
    expect((d.get('d') as Item).value).toEqual({ type: 'decimal', value: 1.5 });
    expect((d.get('s') as Item).value).toEqual({ type: 'string', value: 'a "q" \\ b' });
    expect((d.get('t') as Item).value).toEqual({ type: 'token', value: 'foo/bar:baz' });
    expect((d.get('star') as Item).value).toEqual({ type: 'token', value: '*x' });
  });

  it('returns an empty dictionary for an empty value', () => {
    expect(parseDictionary('').size).toBe(0);
  });

  it.each([
    ['trailing comma', 'a=1,'],
    ['unterminated string', 'sig1=("@method);created=1'],
    ['unterminated inner list', 'sig1=("@method" "@path"'],
    ['missing separator in inner list', 'sig1=("@method""@path")'],
    ['invalid escape', 'a="\\n"'],
    ['non-ASCII in string', 'a="caf\u00e9"'],
    ['uppercase key', 'Sig1=("@method")'],
    ['key starting with a digit', '1a=1'],
    ['integer with 16 digits', 'a=1234567890123456'],
    ['decimal with 4 fractional digits', 'a=1.2345'],
    ['decimal ending with a dot', 'a=1.'],
    ['lone minus', 'a=-'],
    ['invalid byte-sequence character', 'a=:abc$:'],
    ['unterminated byte sequence', 'a=:aGVsbG8='],
    ['bad base64 padding', 'a=:aGVsbG8==:'],
    ['boolean other than 0/1', 'a=?2'],
    ['garbage after member', 'a=1 b=2'],
    ['missing value after =', 'a='],
    ['parameter without key', 'a=1;=2'],
    ['missing parens', 'sig1="@method" "@path";created=1'],
  ])('rejects %s', (_label, input) => {
    expect(() => parseDictionary(input)).toThrow(StructuredFieldError);
  });

  it('reports the failing offset in a typed error', () => {
    try {
      parseDictionary('a=1,');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(StructuredFieldError);
      expect((error as StructuredFieldError).position).toBe(4);
      expect((error as StructuredFieldError).message).toMatch(/trailing comma/);
    }
  });
});

describe('parseItem', () => {
  it('parses a single item with parameters and rejects trailing data', () => {
    expect(parseItem(' "x";a=1 ').value).toEqual({ type: 'string', value: 'x' });
    expect(() => parseItem('"x" y')).toThrow(StructuredFieldError);
  });
});

describe('serialisation', () => {
  it('serialises an inner list with parameters the way Margo clients write Signature-Input', () => {
    const params: Parameters = new Map([
      ['created', { type: 'integer', value: 1700000000 }],
      ['keyid', { type: 'string', value: 'ab"c\\' }],
      ['flag', { type: 'boolean', value: true }],
      ['off', { type: 'boolean', value: false }],
    ]);
    expect(serializeInnerList([stringItem('@method'), stringItem('content-digest')], params)).toBe(
      '("@method" "content-digest");created=1700000000;keyid="ab\\"c\\\\";flag;off=?0',
    );
  });

  it('round-trips a dictionary', () => {
    const text = 'sig1=("@method" "@path";bs);created=1;keyid="k", sig2=:AAEC:, flag;x=tok, n=1.5';
    expect(serializeDictionary(parseDictionary(text))).toBe(text);
  });

  it('serialises decimals with at least one fractional digit and refuses invalid values', () => {
    expect(serializeBareItem({ type: 'decimal', value: 2 })).toBe('2.0');
    expect(serializeBareItem({ type: 'decimal', value: 1.23456 })).toBe('1.235');
    expect(() => serializeBareItem({ type: 'string', value: 'caf\u00e9' })).toThrow();
    expect(() => serializeBareItem({ type: 'integer', value: 1.5 })).toThrow();
    expect(() => serializeBareItem({ type: 'token', value: '1abc' })).toThrow();
  });
});
