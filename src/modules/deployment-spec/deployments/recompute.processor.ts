import { InjectQueue, OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import type { Job, Queue } from 'bullmq';
import { APP_CONFIG, type AppConfig } from '../../../config/config.js';
import { throttledErrorLogger } from '../../../infra/queue/connection-errors.js';
import { RECOMPUTE_QUEUE, type RecomputeJob } from '../../../infra/queue/recompute-queue.js';
import { DeviceCapabilityService } from '../../device-capability/device-capability.service.js';
import { ManifestService } from '../manifests/manifest.service.js';
import { RecomputeService } from './recompute.service.js';

const PURGE_EVERY_MS = 3_600_000;

/**
 * Worker role: consumes the `recompute` queue. Jobs are idempotent (they read the current state),
 * deduplicated by their producers and retried with backoff; a failing device never blocks the
 * others; a manifest is replaced in one transaction, so a crash leaves the old or the new one.
 */
@Processor(RECOMPUTE_QUEUE)
@Injectable()
export class RecomputeProcessor extends WorkerHost implements OnModuleInit, OnApplicationBootstrap {
  private readonly logger = new Logger(RecomputeProcessor.name);
  private readonly onConnectionError = throttledErrorLogger(this.logger, `worker ${RECOMPUTE_QUEUE}`);

  constructor(
    private readonly recompute: RecomputeService,
    private readonly manifests: ManifestService,
    private readonly capabilities: DeviceCapabilityService,
    @InjectQueue(RECOMPUTE_QUEUE) private readonly queue: Queue,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    super();
  }

  async onModuleInit(): Promise<void> {
    await this.queue.upsertJobScheduler(
      'purge-digests',
      { every: PURGE_EVERY_MS },
      { name: 'purge-digests', data: {} },
    );
    // the outbox of deployment changes whose enqueue was lost (Redis away during the request)
    await this.queue.upsertJobScheduler(
      'sweep-deployments',
      { every: this.config.capabilities.sweepIntervalSeconds * 1000 },
      { name: 'sweep-deployments', data: {}, opts: { removeOnComplete: 100, removeOnFail: 100 } },
    );
  }

  /** The worker exists once the Bull registrar ran (module init); its concurrency is configured. */
  onApplicationBootstrap(): void {
    this.worker.concurrency = this.config.queue.workerConcurrency;
  }

  @OnWorkerEvent('failed')
  onFailed(job: Job | undefined, error: Error): void {
    // retried with backoff; logged so that a job that keeps failing is visible
    this.logger.warn({
      msg: 'recompute job failed',
      job: job?.name,
      attempt: job?.attemptsMade,
      error: error.message,
    });
  }

  @OnWorkerEvent('error')
  onError(error: Error): void {
    this.onConnectionError(error);
  }

  async process(job: Job): Promise<void> {
    const item = { name: job.name, data: job.data as unknown } as RecomputeJob;
    switch (item.name) {
      case 'recompute-device': {
        const { clientId, deviceId, capabilityVersion, reportedAt } = item.data;
        await this.recompute.recomputeDevice(clientId, deviceId);
        await this.capabilities.markRecomputed(clientId, deviceId, capabilityVersion, reportedAt);
        return;
      }
      case 'recompute-deployment':
        return this.recompute.runDeploymentJob(item.data.deploymentId);
      case 'sweep-deployments':
        await this.recompute.sweepDeployments();
        return;
      case 'recompute-batch':
        return this.recompute.recomputeBatch(item.data.deploymentId, item.data.devices);
      case 'rebuild-manifest':
        return this.recompute.rebuild(item.data.clientId);
      case 'rebuild-manifests':
        return this.recompute.rebuildMany(item.data.clientIds);
      case 'purge-digests': {
        const purged = await this.manifests.purge(
          this.config.manifests.retainManifests,
          this.config.manifests.retainDays,
        );
        this.logger.log({ msg: 'digest retention purge', ...purged });
        return;
      }
    }
  }
}
