import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { bounded } from '../../common/bounded.js';
import { ROLLOUT_QUEUE, type RolloutJob } from '../../infra/queue/rollout-queue.js';

/** Redis gets this long for the enqueue; a lost one only means the next scheduled tick decides. */
const ENQUEUE_TIMEOUT_MS = 200;

/**
 * After a status report on a target whose deployment a rollout governs: asks the worker to look at
 * the rollouts soon (one `rollout-advance` job at a time, collecting 100 ms of reports) instead of
 * waiting for the next scheduled tick. Never throws and never holds up the report.
 */
@Injectable()
export class RolloutTrigger {
  private readonly logger = new Logger(RolloutTrigger.name);

  constructor(@InjectQueue(ROLLOUT_QUEUE) private readonly queue: Queue) {}

  soon(deploymentId: string): void {
    const job: Extract<RolloutJob, { name: 'rollout-advance' }> = {
      name: 'rollout-advance',
      data: { deploymentId },
    };
    bounded(
      this.queue.add(job.name, job.data, { delay: 100, deduplication: { id: 'rollout-advance' } }),
      ENQUEUE_TIMEOUT_MS,
      'Redis',
    ).catch((error: unknown) =>
      this.logger.debug({
        msg: 'could not enqueue a rollout advance; the next tick decides',
        error: String(error),
      }),
    );
  }
}
