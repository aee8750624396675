import { Global, Inject, Injectable, Module, type OnModuleDestroy } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import { createRedis } from './redis.js';

/**
 * The shared Redis connection for caches, pub/sub publishing and rate limits (BullMQ opens its own).
 * Commands fail fast while Redis is unreachable (no offline queue), so callers can degrade.
 */
@Injectable()
export class RedisService implements OnModuleDestroy {
  readonly client: Redis;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.client = createRedis(config.redis.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  }

  async ping(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      if (this.client.status !== 'ready') throw new Error(`connection is ${this.client.status}`);
      await Promise.race([this.client.ping(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  onModuleDestroy(): void {
    this.client.disconnect();
  }
}

@Global()
@Module({ providers: [RedisService], exports: [RedisService] })
export class RedisModule {}
