import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { bounded, REDIS_CALL_TIMEOUT_MS } from '../../common/bounded.js';

/**
 * The poll path's cache: per client, the current (ETag, manifestVersion, body) in one Redis hash, so
 * that a conditional poll that matches costs one Redis round trip and no Postgres query. Writes are
 * monotonic (a slower writer never puts an older version back) and entries expire after a while, so
 * a write-through lost during a Redis hiccup is corrected by the next miss.
 */
const TTL_MS = 5 * 60_000;

// Set only when the cached version is absent or lower. Versions are compared as decimal strings
// (they may exceed 2^53): by length, then lexicographically.
const SET_IF_NEWER = `
local cur = redis.call('HGET', KEYS[1], 'version')
if cur then
  if string.len(cur) > string.len(ARGV[1]) then return 0 end
  if string.len(cur) == string.len(ARGV[1]) and cur >= ARGV[1] then return 0 end
end
redis.call('HSET', KEYS[1], 'version', ARGV[1], 'etag', ARGV[2], 'body', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1`;

export interface CachedManifest {
  etag: string;
  version: bigint;
}

export class ManifestCache {
  private readonly logger = new Logger(ManifestCache.name);

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(clientId: string): string {
    return `${this.prefix}:manifest:${clientId}`;
  }

  /** ETag and version only (the 304 path); undefined on a miss, null when Redis is unavailable. */
  async head(clientId: string): Promise<CachedManifest | undefined | null> {
    try {
      const [etag, version] = await bounded(
        this.redis.hmget(this.key(clientId), 'etag', 'version'),
        REDIS_CALL_TIMEOUT_MS,
        'Redis',
      );
      return etag && version ? { etag, version: BigInt(version) } : undefined;
    } catch {
      return null;
    }
  }

  async body(clientId: string): Promise<Buffer | null> {
    try {
      return await bounded(this.redis.hgetBuffer(this.key(clientId), 'body'), REDIS_CALL_TIMEOUT_MS, 'Redis');
    } catch {
      return null;
    }
  }

  /** `put` for many manifests in one pipeline (one round trip). */
  async putMany(entries: { clientId: string; version: bigint; etag: string; body: Buffer }[]): Promise<void> {
    if (entries.length === 0) return;
    try {
      const pipeline = this.redis.pipeline();
      for (const e of entries) {
        pipeline.eval(SET_IF_NEWER, 1, this.key(e.clientId), e.version.toString(), e.etag, e.body, TTL_MS);
      }
      const results = (await pipeline.exec()) ?? [];
      const failure = results.map(([error]) => error).find((error): error is Error => error !== null);
      if (failure) throw failure;
    } catch (error) {
      this.logger.warn({
        msg: 'could not update the manifest cache; it expires by itself',
        clients: entries.length,
        error: String(error),
      });
    }
  }

  async put(clientId: string, version: bigint, etag: string, body: Buffer): Promise<void> {
    try {
      await bounded(
        this.redis.eval(SET_IF_NEWER, 1, this.key(clientId), version.toString(), etag, body, TTL_MS),
        REDIS_CALL_TIMEOUT_MS,
        'Redis',
      );
    } catch (error) {
      this.logger.warn({
        msg: 'could not update the manifest cache; it expires by itself',
        clientId,
        error: String(error),
      });
    }
  }
}
