/**
 * Token bucket per key. The request limit keys it by client identity (never per IP: factory sites sit
 * behind NAT, D16); the failed-authentication limit keys it by source address, because a failure has
 * no identity (decisions.md, "Failed authentication"). In memory, per API instance: no I/O on the
 * device request path. `perMinute = 0` disables it.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; updatedAt: number }>();
  private readonly ratePerMs: number;

  constructor(
    private readonly perMinute: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {
    this.ratePerMs = perMinute / 60_000;
  }

  /** Takes one token; when none is left, says how many seconds until one is. */
  consume(key: string): { ok: true } | { ok: false; retryAfterSeconds: number } {
    if (this.perMinute === 0) return { ok: true };
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: this.burst, updatedAt: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + (now - bucket.updatedAt) * this.ratePerMs);
    bucket.updatedAt = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      this.buckets.set(key, bucket);
      this.prune(now);
      return { ok: true };
    }
    this.buckets.set(key, bucket);
    return {
      ok: false,
      retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / this.ratePerMs / 1000)),
    };
  }

  /** Like consume, without taking a token: whether one is available now. */
  peek(key: string): { ok: true } | { ok: false; retryAfterSeconds: number } {
    if (this.perMinute === 0) return { ok: true };
    const bucket = this.buckets.get(key);
    if (!bucket) return { ok: true };
    const tokens = Math.min(this.burst, bucket.tokens + (this.now() - bucket.updatedAt) * this.ratePerMs);
    if (tokens >= 1) return { ok: true };
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - tokens) / this.ratePerMs / 1000)) };
  }

  /** Forgets full buckets now and then, so the map stays bounded by the active clients. */
  private prune(now: number): void {
    if (this.buckets.size < 10_000) return;
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + (now - bucket.updatedAt) * this.ratePerMs >= this.burst) this.buckets.delete(key);
    }
  }
}
