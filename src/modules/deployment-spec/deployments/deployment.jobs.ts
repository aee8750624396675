import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { bounded } from '../../../common/bounded.js';
import {
  RECOMPUTE_QUEUE,
  type RebuildManifestJob,
  type RebuildManifestsJob,
  type RecomputeBatchJob,
  type RecomputeDeploymentJob,
} from '../../../infra/queue/recompute-queue.js';

/** Clients per rebuild-manifests job. */
export const MANIFEST_BATCH = 500;
/** At most this many devices per recompute-batch job. */
export const BATCH_SIZE = 1_000;
/** BullMQ runs jobs without a priority first; among prioritised ones, lower numbers first. */
const BATCH_PRIORITY = 10;
/** A request never waits longer than this for Redis; what was not enqueued, the sweeper enqueues. */
export const ENQUEUE_TIMEOUT_MS = 500;

@Injectable()
export class DeploymentJobs {
  private readonly logger = new Logger(DeploymentJobs.name);

  constructor(@InjectQueue(RECOMPUTE_QUEUE) private readonly queue: Queue) {}

  /**
   * One run per deployment at a time; changes during a run schedule exactly one more. Bounded in
   * time and never throws: false when Redis did not take it, and the sweeper enqueues it later
   * (the deployment's recomputed revision stays below its revision until a run completes).
   */
  async recomputeDeployment(deploymentId: string): Promise<boolean> {
    const add = this.queue.add('recompute-deployment', { deploymentId } satisfies RecomputeDeploymentJob, {
      deduplication: { id: `deployment|${deploymentId}`, keepLastIfActive: true },
    });
    try {
      await bounded(add, ENQUEUE_TIMEOUT_MS, 'Redis');
      return true;
    } catch (error) {
      this.logger.warn({
        msg: 'could not enqueue a deployment recomputation; the sweeper will',
        deploymentId,
        error: String(error),
      });
      return false;
    }
  }

  /** A request's batch: bounded in time like recomputeDeployment; false when it was not enqueued. */
  async tryRecomputeBatches(deploymentId: string, devices: RecomputeBatchJob['devices']): Promise<boolean> {
    try {
      await bounded(this.recomputeBatches(deploymentId, devices), ENQUEUE_TIMEOUT_MS, 'Redis');
      return true;
    } catch (error) {
      this.logger.warn({ msg: 'could not enqueue a recompute batch', deploymentId, error: String(error) });
      return false;
    }
  }

  async recomputeBatches(deploymentId: string, devices: RecomputeBatchJob['devices']): Promise<void> {
    const jobs = [];
    for (let i = 0; i < devices.length; i += BATCH_SIZE) {
      jobs.push({
        name: 'recompute-batch',
        data: { deploymentId, devices: devices.slice(i, i + BATCH_SIZE) } satisfies RecomputeBatchJob,
        // after anything without a priority (device recomputations, manifest rebuilds): a roll-out's
        // first manifests go out while its later batches are still being placed
        opts: { priority: BATCH_PRIORITY },
      });
    }
    if (jobs.length > 0) await this.queue.addBulk(jobs);
  }

  /** Coalesces rebuilds of one client's manifest (short debounce, never two at once). */
  async rebuildManifest(clientId: string): Promise<void> {
    await this.queue.add('rebuild-manifest', { clientId } satisfies RebuildManifestJob, {
      delay: 50,
      deduplication: { id: `manifest|${clientId}`, keepLastIfActive: true },
    });
  }

  /** Many clients: one bulk rebuild job per MANIFEST_BATCH clients (few clients: one job each, debounced). */
  async rebuildManifests(clientIds: Iterable<string>): Promise<void> {
    const ids = [...new Set(clientIds)];
    try {
      if (ids.length <= 2) {
        for (const id of ids) await this.rebuildManifest(id);
        return;
      }
      const jobs = [];
      for (let i = 0; i < ids.length; i += MANIFEST_BATCH) {
        jobs.push({
          name: 'rebuild-manifests',
          data: { clientIds: ids.slice(i, i + MANIFEST_BATCH) } satisfies RebuildManifestsJob,
        });
      }
      await this.queue.addBulk(jobs);
    } catch (error) {
      this.logger.warn({
        msg: 'could not enqueue manifest rebuilds',
        clients: ids.length,
        error: String(error),
      });
    }
  }
}
