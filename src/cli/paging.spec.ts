import { describe, expect, it } from 'vitest';
import { type Page, listAll } from './paging.js';

describe('listAll', () => {
  it('follows `next` until it is null, passing it as `after`', async () => {
    const seen: (string | undefined)[] = [];
    const pages: Record<string, Page<number>> = {
      start: { items: [1, 2], next: 'c1' },
      c1: { items: [3], next: 'c2' },
      c2: { items: [4], next: null },
    };
    const items = await listAll<number>((after) => {
      seen.push(after);
      return Promise.resolve(pages[after ?? 'start']);
    });
    expect(items).toEqual([1, 2, 3, 4]);
    expect(seen).toEqual([undefined, 'c1', 'c2']);
  });

  it('stops fetching once `max` items are there', async () => {
    let calls = 0;
    const items = await listAll<number>(() => {
      calls += 1;
      return Promise.resolve({ items: [calls * 10, calls * 10 + 1], next: `n${calls}` });
    }, 3);
    expect(items).toEqual([10, 11, 20]);
    expect(calls).toBe(2);
  });
});
