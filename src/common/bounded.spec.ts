import { describe, expect, it } from 'vitest';
import { bounded } from './bounded.js';

describe('bounded', () => {
  it('passes a value through when it comes in time', async () => {
    await expect(bounded(Promise.resolve(7), 50)).resolves.toBe(7);
  });

  it('rejects after the bound and ignores the late outcome', async () => {
    let reject!: (e: Error) => void;
    const late = new Promise<number>((_, r) => (reject = r));
    const started = Date.now();
    await expect(bounded(late, 30, 'Redis')).rejects.toThrow('no answer from Redis within 30 ms');
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    reject(new Error('late')); // must not surface as an unhandled rejection
    await new Promise((r) => setTimeout(r, 10));
  });

  it('passes a rejection through when it comes in time', async () => {
    await expect(bounded(Promise.reject(new Error('down')), 50)).rejects.toThrow('down');
  });
});
