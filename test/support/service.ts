import { randomBytes } from 'node:crypto';
import type { DynamicModule, Type } from '@nestjs/common';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningService, startService } from '../../src/bootstrap.js';
import { request, type RawResponse, type RequestOptions } from '../../src/client/transport.js';
import { AppLogger } from '../../src/common/logging/app-logger.js';
import { loadConfig } from '../../src/config/config.js';
import { createTestDatabase } from './database.js';
import { deleteRedisKeys } from './redis.js';
import { TEST_REDIS_URL } from './env.js';

export interface TestService extends RunningService {
  url: string;
  dataDir: string;
  databaseUrl: string;
  /** The CA that issued the server's certificate. */
  serverCa?: string;
  /** HTTPS request to the service, trusting its development CA. */
  call(path: string, options?: RequestOptions): Promise<RawResponse>;
  stop(): Promise<void>;
}

/**
 * Starts the real service (TLS, Postgres, Redis) on a random loopback port, with a database cloned
 * from the migrated template, a Redis key prefix and a data folder of its own.
 */
export async function startTestService(
  env: Record<string, string> = {},
  extraModules: (Type | DynamicModule)[] = [],
): Promise<TestService> {
  const db = env.DATABASE_URL ? undefined : await createTestDatabase();
  const ownDataDir = env.WFM_DATA_DIR === undefined;
  const dataDir = env.WFM_DATA_DIR ?? (await mkdtemp(join(tmpdir(), 'wfm-test-')));
  const config = loadConfig({
    DATABASE_URL: db?.url,
    REDIS_URL: TEST_REDIS_URL,
    WFM_QUEUE_PREFIX: `t_${randomBytes(5).toString('hex')}`,
    WFM_DATA_DIR: dataDir,
    WFM_HOST: '127.0.0.1',
    PORT: '0',
    WFM_LOG_LEVEL: process.env.WFM_TEST_LOG_LEVEL ?? 'error',
    // Suites that send bad credentials on purpose (refusals, fuzzing) all come from 127.0.0.1; the
    // failed-authentication limit is off here and tested on its own (auth-failure-limit.test.ts).
    WFM_AUTH_FAILURES_PER_MINUTE: '0',
    ...env,
  });
  const service = await startService(config, new AppLogger('pretty', config.log.level), extraModules);
  // trust the CA that issued the server certificate (the development CA in tests)
  const ca = service.tls?.devCaPath
    ? await readFile(service.tls.devCaPath, 'utf8')
    : service.tls?.trustBundlePem;
  return {
    ...service,
    url: service.url!,
    dataDir,
    serverCa: ca,
    databaseUrl: config.database.url,
    call: (path, options = {}) => request(new URL(path, service.url), { ca, ...options }),
    stop: async () => {
      await service.close();
      await deleteRedisKeys(config.redis.url, `${config.queue.prefix}:`);
      await db?.drop();
      if (ownDataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
