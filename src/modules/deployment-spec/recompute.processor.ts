import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import { throttledErrorLogger } from '../../infra/queue/connection-errors.js';
import type { Job } from 'bullmq';
import {
  RECOMPUTE_QUEUE,
  type RecomputeDeviceJob,
  type RecomputeJobName,
} from '../device-capability/device-capability.jobs.js';
import { DeviceCapabilityService } from '../device-capability/device-capability.service.js';

/**
 * Worker role: consumes the `recompute` queue. Until placement and rendering land (deployment-spec
 * issue), recomputing a device has nothing to place, so the handler records the request as done;
 * the next issue puts placement + manifest rebuild in front of `markRecomputed`.
 */
@Processor(RECOMPUTE_QUEUE, { concurrency: 4 })
@Injectable()
export class RecomputeProcessor extends WorkerHost {
  private readonly logger = new Logger(RecomputeProcessor.name);
  private readonly onConnectionError = throttledErrorLogger(this.logger, `worker ${RECOMPUTE_QUEUE}`);

  constructor(private readonly capabilities: DeviceCapabilityService) {
    super();
  }

  @OnWorkerEvent('error')
  onError(error: Error): void {
    this.onConnectionError(error);
  }

  async process(job: Job<RecomputeDeviceJob, void, RecomputeJobName>): Promise<void> {
    switch (job.name) {
      case 'recompute-device': {
        const { clientId, deviceId, capabilityVersion, reportedAt } = job.data;
        await this.capabilities.markRecomputed(clientId, deviceId, capabilityVersion, reportedAt);
        this.logger.debug({ msg: 'device recomputed', deviceId, capabilityVersion });
        return;
      }
    }
  }
}
