import { describe, expect, it } from 'vitest';
import { compileIdPattern } from './id-pattern.js';

function matcher(raw: string): (id: string) => boolean {
  const p = compileIdPattern(raw);
  if (!p.ok) throw new Error(p.reason);
  return p.test;
}

describe('compileIdPattern', () => {
  it('matches globs against the whole id', () => {
    const test = matcher('plant-a-*, lab-??');
    expect(test('plant-a-7')).toBe(true);
    expect(test('plant-a-')).toBe(true);
    expect(test('xplant-a-7')).toBe(false);
    expect(test('lab-01')).toBe(true);
    expect(test('lab-1')).toBe(false);
    expect(test('lab-001')).toBe(false);
  });

  it('treats regex characters in a glob literally', () => {
    const test = matcher('a.b');
    expect(test('a.b')).toBe(true);
    expect(test('axb')).toBe(false);
  });

  it('anchors a /regex/ to the whole id', () => {
    const test = matcher('/line-[0-9]+/');
    expect(test('line-12')).toBe(true);
    expect(test('line-12x')).toBe(false);
    expect(test('xline-1')).toBe(false);
  });

  it('reports a bad regex or an empty pattern', () => {
    expect(compileIdPattern('/[/').ok).toBe(false);
    expect(compileIdPattern('  ').ok).toBe(false);
    expect(compileIdPattern(',,').ok).toBe(false);
  });
});

describe('compileIdPattern lists', () => {
  it('mixes globs and /regex/ items; a whole-value regex may contain commas', () => {
    const test = matcher('auto-*, /lab-[0-9]+/');
    expect(test('auto-x')).toBe(true);
    expect(test('lab-42')).toBe(true);
    expect(test('lab-42x')).toBe(false);
    const counted = matcher('/a{1,2}/');
    expect(counted('aa')).toBe(true);
    expect(counted('aaa')).toBe(false);
  });
});
