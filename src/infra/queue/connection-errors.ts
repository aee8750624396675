import type { Logger } from '@nestjs/common';

const INTERVAL_MS = 10_000;

/**
 * BullMQ queues and workers emit an 'error' for every failed reconnect while Redis is away; without
 * a listener they print stack traces. This logs one warning per 10 s per emitter instead.
 */
export function throttledErrorLogger(logger: Logger, what: string): (error: Error) => void {
  let last = 0;
  let suppressed = 0;
  return (error: Error) => {
    const now = Date.now();
    if (now - last < INTERVAL_MS) {
      suppressed += 1;
      return;
    }
    logger.warn({ msg: `${what}: Redis connection error`, error: error.message, suppressed });
    last = now;
    suppressed = 0;
  };
}
