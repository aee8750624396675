import { BullModule } from '@nestjs/bullmq';
import type { ConnectionOptions } from 'bullmq';
import { type DynamicModule, Global, Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import { redisOptions } from '../redis/redis.js';

/** Queue names registered through `QueueModule.registerQueue`; the metrics report their depths. */
export const registeredQueues = new Set<string>();

export const DEFAULT_JOB_OPTIONS = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 1_000 },
  removeOnComplete: { count: 1_000 },
  removeOnFail: { count: 10_000 },
} as const;

/**
 * BullMQ wiring: one connection definition from config, the queue prefix, and default job options
 * (retries with exponential backoff). Feature modules call `QueueModule.registerQueue(name)`.
 */
@Global()
@Module({})
export class QueueModule {
  static forRoot(): DynamicModule {
    return {
      module: QueueModule,
      imports: [
        BullModule.forRootAsync({
          inject: [APP_CONFIG],
          useFactory: (config: AppConfig) => {
            const url = new URL(config.redis.url);
            return {
              connection: {
                ...redisOptions(),
                host: url.hostname,
                port: Number(url.port || 6379),
                username: url.username ? decodeURIComponent(url.username) : undefined,
                password: url.password ? decodeURIComponent(url.password) : undefined,
                db: url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0,
                tls: url.protocol === 'rediss:' ? {} : undefined,
              } as ConnectionOptions,
              prefix: config.queue.prefix,
              defaultJobOptions: DEFAULT_JOB_OPTIONS,
            };
          },
        }),
      ],
      exports: [BullModule],
    };
  }

  static registerQueue(name: string): DynamicModule {
    registeredQueues.add(name);
    return BullModule.registerQueue({ name });
  }
}
