import { InjectQueue, OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import type { Job, Queue } from 'bullmq';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import { throttledErrorLogger } from '../../infra/queue/connection-errors.js';
import { ROLLOUT_QUEUE, type RolloutJob } from '../../infra/queue/rollout-queue.js';
import { RolloutService } from '../deployment-spec/deployments/rollout/rollout.service.js';
import { StatusService } from './status.service.js';

/**
 * Worker role: advances staged rollouts (issue 16). A job scheduler runs `rollout-tick` every
 * WFM_ROLLOUT_TICK_MS; it hands RolloutService this module's derived states (StatusService is the
 * TargetHealthSource the gates read). State lives in PostgreSQL and every transition is a
 * conditional UPDATE, so several workers, restarts and retried jobs apply each transition once.
 */
@Processor(ROLLOUT_QUEUE)
@Injectable()
export class RolloutProcessor extends WorkerHost implements OnModuleInit {
  private readonly logger = new Logger(RolloutProcessor.name);
  private readonly onConnectionError = throttledErrorLogger(this.logger, `worker ${ROLLOUT_QUEUE}`);

  constructor(
    private readonly rollouts: RolloutService,
    private readonly status: StatusService,
    @InjectQueue(ROLLOUT_QUEUE) private readonly queue: Queue,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    super();
  }

  async onModuleInit(): Promise<void> {
    await this.queue.upsertJobScheduler(
      'rollout-tick',
      { every: this.config.rollouts.tickMs },
      { name: 'rollout-tick', data: {}, opts: { removeOnComplete: 100, removeOnFail: 100, attempts: 1 } },
    );
  }

  @OnWorkerEvent('failed')
  onFailed(job: Job | undefined, error: Error): void {
    this.logger.warn({ msg: 'rollout job failed', job: job?.name, error: error.message });
  }

  @OnWorkerEvent('error')
  onError(error: Error): void {
    this.onConnectionError(error);
  }

  async process(job: Job): Promise<void> {
    const item = { name: job.name, data: job.data as unknown } as RolloutJob;
    switch (item.name) {
      case 'rollout-tick':
      case 'rollout-advance':
        // an advance looks at every progressing rollout too: as cheap as one, and nothing is missed
        await this.rollouts.tick(this.status);
        return;
    }
  }
}
