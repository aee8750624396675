import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DocumentCache } from './document-cache.js';

const doc = (size: number, fill = 'a') => ({ deploymentId: 'd-1', bytes: Buffer.alloc(size, fill) });

describe('DocumentCache', () => {
  it('answers a document only to the client it was stored for', () => {
    const cache = new DocumentCache(1 << 20);
    cache.set('client-a', 'sha256:1', doc(10));
    expect(cache.get('client-a', 'sha256:1')?.bytes.length).toBe(10);
    expect(cache.get('client-b', 'sha256:1')).toBeUndefined();
  });

  it('stays within its byte bound, dropping the least recently used first', () => {
    const cache = new DocumentCache(3 * (1000 + 256));
    for (const n of [1, 2, 3]) cache.set('c', `sha256:${n}`, doc(1000));
    cache.get('c', 'sha256:1'); // used: 2 is now the oldest
    cache.set('c', 'sha256:4', doc(1000));
    expect(cache.get('c', 'sha256:2')).toBeUndefined();
    for (const n of [1, 3, 4]) expect(cache.get('c', `sha256:${n}`)).toBeDefined();
    expect(cache.size.bytes).toBeLessThanOrEqual(3 * (1000 + 256));
  });

  it('does not keep a document larger than the whole cache, and keeps nothing when off', () => {
    const small = new DocumentCache(500);
    small.set('c', 'sha256:big', doc(1000));
    expect(small.get('c', 'sha256:big')).toBeUndefined();
    const off = new DocumentCache(0);
    off.set('c', 'sha256:1', doc(10));
    expect(off.get('c', 'sha256:1')).toBeUndefined();
    expect(off.size).toEqual({ entries: 0, bytes: 0 });
  });

  it('compresses once per document and counts the compressed variant in its size', () => {
    const cache = new DocumentCache(1 << 20);
    const stored = doc(5000, 'x');
    cache.set('c', 'sha256:1', stored);
    const before = cache.size.bytes;
    const gz = cache.encoded('c', 'sha256:1', stored, 'gzip');
    expect(gunzipSync(gz).equals(stored.bytes)).toBe(true);
    expect(cache.size.bytes).toBe(before + gz.length);
    const again = cache.get('c', 'sha256:1')!;
    expect(cache.encoded('c', 'sha256:1', again, 'gzip')).toBe(gz);
    expect(cache.encoded('c', 'sha256:1', again, undefined)).toBe(stored.bytes);
  });
});
