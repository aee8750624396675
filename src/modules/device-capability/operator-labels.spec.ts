import { describe, expect, it } from 'vitest';
import { Collector } from '../../common/json/json-reader.js';
import { applyEdit, patchEdit, readLabelKeys, readLabelMap, tooMany } from './operator-labels.js';

describe('operator labels (pure rules)', () => {
  it('reads a label map with the device-label value rule and the bounds, pointer per problem', () => {
    const c = new Collector();
    const out = readLabelMap(
      c,
      {
        ok: 'v',
        n: 1.5,
        b: false,
        s: ['a'],
        ns: [1, 2],
        mixed: [1, 'a'],
        obj: {},
        'a=b': 'x',
        '': 'x',
        'a/b': 'x'.repeat(1025),
        'c\u0001': 1,
      },
      '/set',
      false,
    );
    expect(out).toEqual({ ok: 'v', n: 1.5, b: false, s: ['a'], ns: [1, 2] });
    expect(c.errors.map((e) => e.field)).toEqual([
      '/set/mixed',
      '/set/obj',
      '/set/a=b',
      '/set/',
      '/set/a~1b',
      '/set/c\u0001',
    ]);
  });

  it('allows null only as a removal (PATCH), and refuses a body that is not an object', () => {
    const put = new Collector();
    readLabelMap(put, { gone: null }, '', false);
    expect(put.errors.map((e) => e.field)).toEqual(['/gone']);
    const patch = new Collector();
    expect(readLabelMap(patch, { gone: null, kept: 'x' }, '', true)).toEqual({ gone: null, kept: 'x' });
    expect(patch.ok).toBe(true);
    for (const body of [[], 'x', null, undefined]) {
      const c = new Collector();
      readLabelMap(c, body, '', false);
      expect(c.errors).toEqual([{ field: '', message: 'must be an object of label keys and values' }]);
    }
  });

  it('reads keys to remove', () => {
    const c = new Collector();
    expect(readLabelKeys(c, ['a', 7, 'b=c', 'd'], '/remove')).toEqual(['a', 'd']);
    expect(c.errors.map((e) => e.field)).toEqual(['/remove/1', '/remove/2']);
    const notArray = new Collector();
    readLabelKeys(notArray, 'a', '/remove');
    expect(notArray.errors.map((e) => e.field)).toEqual(['/remove']);
  });

  it('applies PUT (replace) and PATCH/bulk (merge) edits without changing the input', () => {
    const current = { a: '1', b: '2' };
    expect(applyEdit(current, { kind: 'replace', labels: { c: '3' } })).toEqual({ c: '3' });
    expect(applyEdit(current, patchEdit({ a: null, c: '3', b: 'x' }))).toEqual({ b: 'x', c: '3' });
    expect(applyEdit(current, { kind: 'merge', set: {}, remove: ['zzz'] })).toEqual(current);
    expect(current).toEqual({ a: '1', b: '2' });
  });

  it('bounds the operator labels of one device at 64', () => {
    const labels = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));
    expect(tooMany(labels(64), '')).toBeUndefined();
    expect(tooMany(labels(65), '/set')).toMatchObject({
      field: '/set',
      message: expect.stringMatching(/at most 64/),
    });
  });
});
