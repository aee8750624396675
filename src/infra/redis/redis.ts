import { Redis, type RedisOptions } from 'ioredis';

/** Options for every connection the service opens (BullMQ needs maxRetriesPerRequest: null). */
export function redisOptions(extra: RedisOptions = {}): RedisOptions {
  return {
    maxRetriesPerRequest: null,
    connectTimeout: 5_000,
    retryStrategy: (attempt) => Math.min(200 * 2 ** Math.min(attempt, 5), 5_000),
    lazyConnect: false,
    ...extra,
  };
}

export function createRedis(url: string, extra: RedisOptions = {}): Redis {
  const client = new Redis(url, redisOptions(extra));
  client.on('error', () => undefined); // reconnects by itself; readiness reports the outage
  return client;
}

/** One PING over a fresh connection that does not retry: for the start-up check. */
export async function probeRedis(url: string, timeoutMs: number): Promise<void> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  let lastError: Error | undefined;
  client.on('error', (error: Error) => {
    lastError = error;
  });
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    throw lastError ?? error;
  } finally {
    client.disconnect();
  }
}
