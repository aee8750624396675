/**
 * Resolves with `work`'s value, or rejects after `ms` milliseconds. The pending call's later outcome is
 * ignored. For calls to Redis on a request's path: ioredis queues commands while it reconnects, so an
 * unbounded await would hold the request for as long as Redis is away.
 */
export async function bounded<T>(work: Promise<T>, ms: number, what = 'the call'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from ${what} within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
    work.catch(() => undefined);
  }
}

/** How long a request waits for Redis before it falls back (local cache, sweeper, log line). */
export const REDIS_CALL_TIMEOUT_MS = 500;
