import { describe, expect, it } from 'vitest';
import { RateLimiter } from './rate-limiter.js';

describe('RateLimiter', () => {
  it('allows a burst, then refuses with the seconds until the next token, per client', () => {
    let now = 0;
    const limiter = new RateLimiter(60, 3, () => now); // one per second, burst of 3
    expect([1, 2, 3].map(() => limiter.consume('a').ok)).toEqual([true, true, true]);
    expect(limiter.consume('a')).toEqual({ ok: false, retryAfterSeconds: 1 });
    expect(limiter.consume('b').ok).toBe(true);
    now += 1_000;
    expect(limiter.consume('a').ok).toBe(true);
    expect(limiter.consume('a').ok).toBe(false);
  });

  it('peek says whether a token is available without taking it', () => {
    let now = 0;
    const limiter = new RateLimiter(60, 2, () => now);
    expect(limiter.peek('a').ok).toBe(true);
    limiter.consume('a');
    expect(limiter.peek('a').ok).toBe(true);
    limiter.consume('a');
    expect(limiter.peek('a')).toEqual({ ok: false, retryAfterSeconds: 1 });
    expect(limiter.peek('a')).toEqual({ ok: false, retryAfterSeconds: 1 });
    now += 1_000;
    expect(limiter.peek('a').ok).toBe(true);
    expect(new RateLimiter(0, 1).peek('a').ok).toBe(true);
  });

  it('is off when the rate is 0', () => {
    const limiter = new RateLimiter(0, 1);
    for (let i = 0; i < 100; i += 1) expect(limiter.consume('a').ok).toBe(true);
  });
});
