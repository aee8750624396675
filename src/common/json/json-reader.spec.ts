import { describe, expect, it } from 'vitest';
import { Collector, escapePointer, EXTENSION_KEY, isObject, pointerTo } from './json-reader.js';

describe('isObject', () => {
  it('is true for plain objects only', () => {
    expect(isObject({})).toBe(true);
    expect(isObject({ a: 1 })).toBe(true);
    expect(isObject(JSON.parse('{"__proto__": 1}'))).toBe(true);
    for (const value of [null, undefined, [], [1], 'x', 0, true]) expect(isObject(value)).toBe(false);
  });
});

describe('escapePointer / pointerTo (RFC 6901)', () => {
  it('escapes ~ before /, so the two never mix', () => {
    expect(escapePointer('a/b')).toBe('a~1b');
    expect(escapePointer('a~b')).toBe('a~0b');
    expect(escapePointer('~1')).toBe('~01');
    expect(escapePointer('/~')).toBe('~1~0');
    expect(escapePointer('plain')).toBe('plain');
  });

  it('builds member and item pointers below a base', () => {
    expect(pointerTo('', 'properties')).toBe('/properties');
    expect(pointerTo('/labels', 'site/line~1')).toBe('/labels/site~1line~01');
    expect(pointerTo('/components', 3)).toBe('/components/3');
    expect(pointerTo('', '')).toBe('/');
  });
});

describe('EXTENSION_KEY', () => {
  it('matches x-<name>-extensions only', () => {
    expect(EXTENSION_KEY.test('x-acme-extensions')).toBe(true);
    expect(EXTENSION_KEY.test('x-acme2-io-extensions')).toBe(true);
    expect(EXTENSION_KEY.test('x-Acme-extensions')).toBe(false);
    expect(EXTENSION_KEY.test('x--extensions')).toBe(false);
    expect(EXTENSION_KEY.test('x-acme-extension')).toBe(false);
    expect(EXTENSION_KEY.test('acme-extensions')).toBe(false);
  });
});

describe('Collector', () => {
  it('collects errors in the order they were added', () => {
    const c = new Collector();
    expect(c.ok).toBe(true);
    c.add('/a', 'is required');
    c.add('', 'must be a JSON object');
    expect(c.ok).toBe(false);
    expect(c.errors).toEqual([
      { field: '/a', message: 'is required' },
      { field: '', message: 'must be a JSON object' },
    ]);
  });

  it('reports unknown members with escaped pointers and keeps extension members', () => {
    const c = new Collector();
    c.unknownKeys({ id: 1, 'x-acme-extensions': {}, 'a/b': 2, 'c~d': 3 }, '/properties', ['id']);
    expect(c.errors).toEqual([
      { field: '/properties/a~1b', message: 'is not a known field' },
      { field: '/properties/c~0d', message: 'is not a known field' },
    ]);
  });

  it('refuses extension members too where they are not allowed', () => {
    const c = new Collector();
    c.unknownKeys({ code: 'E1', 'x-acme-extensions': {} }, '/status/error', ['code'], false);
    expect(c.errors).toEqual([{ field: '/status/error/x-acme-extensions', message: 'is not a known field' }]);
  });
});
