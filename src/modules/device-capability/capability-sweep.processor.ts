import { InjectQueue, OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { throttledErrorLogger } from '../../infra/queue/connection-errors.js';
import type { Job, Queue } from 'bullmq';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import { SWEEP_QUEUE } from './device-capability.jobs.js';
import { DeviceCapabilityService } from './device-capability.service.js';

/** Worker role: a BullMQ job scheduler runs the sweeper every WFM_RECOMPUTE_SWEEP_SECONDS. */
@Processor(SWEEP_QUEUE)
@Injectable()
export class CapabilitySweepProcessor extends WorkerHost implements OnModuleInit {
  private readonly logger = new Logger(CapabilitySweepProcessor.name);
  private readonly onConnectionError = throttledErrorLogger(this.logger, `worker ${SWEEP_QUEUE}`);

  constructor(
    private readonly capabilities: DeviceCapabilityService,
    @InjectQueue(SWEEP_QUEUE) private readonly queue: Queue,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    super();
  }

  async onModuleInit(): Promise<void> {
    await this.queue.upsertJobScheduler(
      'capability-sweeper',
      { every: this.config.capabilities.sweepIntervalSeconds * 1000 },
      { name: 'sweep', opts: { removeOnComplete: 100, removeOnFail: 100 } },
    );
  }

  @OnWorkerEvent('error')
  onError(error: Error): void {
    this.onConnectionError(error);
  }

  async process(job: Job): Promise<number> {
    if (job.name !== 'sweep') return 0;
    return this.capabilities.sweep();
  }
}
