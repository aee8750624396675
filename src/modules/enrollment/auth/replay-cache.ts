import { createHash } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { bounded, REDIS_CALL_TIMEOUT_MS } from '../../../common/bounded.js';

/**
 * "A (keyid, signature) pair is accepted once inside the `created` window" (D19). Kept in Redis so
 * it holds across API instances; while Redis is unreachable a per-instance memory cache stands in
 * (replays across instances are then possible for that time — logged, not silent). A request waits at
 * most `REDIS_CALL_TIMEOUT_MS` for Redis: ioredis would otherwise hold the command until it reconnects.
 */
export class ReplayCache {
  private readonly logger = new Logger(ReplayCache.name);
  private readonly local = new Map<string, number>();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  /** True the first time a signature is seen within `ttlSeconds`; false for a replay. */
  async firstUse(keyId: string, signature: Buffer, ttlSeconds: number): Promise<boolean> {
    const key = `${this.prefix}:replay:${keyId}:${createHash('sha256').update(signature).digest('base64url')}`;
    try {
      const result = await bounded(
        this.redis.set(key, '1', 'EX', ttlSeconds, 'NX'),
        REDIS_CALL_TIMEOUT_MS,
        'Redis',
      );
      return result === 'OK';
    } catch (error) {
      this.logger.warn({
        msg: 'replay cache in Redis unavailable; using this instance only',
        error: String(error),
      });
      return this.firstUseLocally(key, ttlSeconds);
    }
  }

  private firstUseLocally(key: string, ttlSeconds: number): boolean {
    const now = Date.now();
    if (this.local.size > 100_000) {
      for (const [k, expires] of this.local) if (expires < now) this.local.delete(k);
    }
    const expires = this.local.get(key);
    if (expires !== undefined && expires > now) return false;
    this.local.set(key, now + ttlSeconds * 1000);
    return true;
  }
}
