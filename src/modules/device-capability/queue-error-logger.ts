import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { throttledErrorLogger } from '../../infra/queue/connection-errors.js';
import { SWEEP_QUEUE } from './device-capability.jobs.js';

/** Every role holds the sweep queue; its connection errors are logged once per 10 s, not as stack traces. */
@Injectable()
export class SweepQueueErrorLogger {
  constructor(@InjectQueue(SWEEP_QUEUE) queue: Queue) {
    queue.on('error', throttledErrorLogger(new Logger(SweepQueueErrorLogger.name), `queue ${SWEEP_QUEUE}`));
  }
}
