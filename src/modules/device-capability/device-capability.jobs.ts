import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import { throttledErrorLogger } from '../../infra/queue/connection-errors.js';
import { RECOMPUTE_QUEUE, type RecomputeDeviceJob } from '../../infra/queue/recompute-queue.js';
import { CapabilityMetrics } from './capability.metrics.js';

/** This module's own queue: the periodic sweep of devices whose recomputation was not enqueued. */
export const SWEEP_QUEUE = 'capability-sweep';

const ENQUEUE_TIMEOUT_MS = 500;
/** Devices enqueued at once by `enqueueDevices`. */
const ENQUEUE_CHUNK = 50;

/**
 * The trigger the rest of the system reacts to: after a device's capabilities change (or it is
 * deleted), a `recompute-device` job on the `recompute` queue (infra/queue/recompute-queue.ts), which
 * the deployment-spec module consumes.
 */
@Injectable()
export class RecomputeProducer {
  private readonly logger = new Logger(RecomputeProducer.name);

  constructor(
    @InjectQueue(RECOMPUTE_QUEUE) private readonly queue: Queue<RecomputeDeviceJob, void, 'recompute-device'>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: CapabilityMetrics,
  ) {
    queue.on('error', throttledErrorLogger(this.logger, `queue ${RECOMPUTE_QUEUE}`));
  }

  /**
   * One pending job per device: reports within the debounce window replace the delayed job's data
   * and push it back; a report that arrives while the job runs schedules exactly one more run.
   * Never blocks the caller for long: when Redis is away the sweeper enqueues the device later.
   */
  async enqueueDevice(job: RecomputeDeviceJob): Promise<boolean> {
    const delay = this.config.capabilities.recomputeDebounceMs;
    const add = this.queue.add('recompute-device', job, {
      delay,
      deduplication: {
        id: `device|${job.clientId}|${job.deviceId}`,
        keepLastIfActive: true,
        replace: true,
        extend: true,
        ttl: Math.max(delay, 1),
      },
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), ENQUEUE_TIMEOUT_MS);
    });
    try {
      const outcome = await Promise.race([add, timeout]);
      if (outcome === 'timeout') throw new Error(`no answer from Redis within ${ENQUEUE_TIMEOUT_MS} ms`);
      this.metrics.jobsEnqueued.inc();
      return true;
    } catch (error) {
      add.catch(() => undefined);
      this.logger.warn({
        msg: 'could not enqueue a recomputation; the sweeper will',
        deviceId: job.deviceId,
        error: String(error),
      });
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * `enqueueDevice` for many devices (a bulk label change), ENQUEUE_CHUNK at a time; after a chunk
   * with a failure it stops (Redis is away) and leaves the rest to the sweeper, so a thousand
   * devices never cost a thousand enqueue timeouts. Returns how many were enqueued.
   */
  async enqueueDevices(jobs: RecomputeDeviceJob[]): Promise<number> {
    let enqueued = 0;
    for (let i = 0; i < jobs.length; i += ENQUEUE_CHUNK) {
      const outcomes = await Promise.all(jobs.slice(i, i + ENQUEUE_CHUNK).map((j) => this.enqueueDevice(j)));
      enqueued += outcomes.filter(Boolean).length;
      if (outcomes.includes(false)) break;
    }
    return enqueued;
  }
}
