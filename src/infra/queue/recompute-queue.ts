/**
 * The `recompute` queue's catalogue: its name and every job it carries with its payload. Producers
 * (device-capability's RecomputeProducer, deployment-spec's DeploymentJobs and the processor's own
 * schedulers) and the consumer (deployment-spec's RecomputeProcessor) all import it from here, so
 * neither module imports the other for it. Plain data: no module imports.
 */
export const RECOMPUTE_QUEUE = 'recompute';

/** After a device's capabilities changed or it was deleted (device-capability). */
export interface RecomputeDeviceJob {
  /** Internal client id. */
  clientId: string;
  deviceId: string;
  /** The capability version that asked for this run (the handler reads the current state anyway). */
  capabilityVersion: number;
  /** Epoch ms of the report that caused it (recompute latency metric). */
  reportedAt: number;
}

/** After a deployment was created, changed or deleted: fans out to its devices. */
export interface RecomputeDeploymentJob {
  deploymentId: string;
}

/** One batch of a deployment's devices. */
export interface RecomputeBatchJob {
  deploymentId: string;
  devices: { clientId: string; deviceId: string }[];
}

/** Re-derives one client's manifest. */
export interface RebuildManifestJob {
  clientId: string;
}

/** Re-derives many clients' manifests in one transaction. */
export interface RebuildManifestsJob {
  clientIds: string[];
}

/** Every job of the queue, by name. */
export type RecomputeJob =
  | { name: 'recompute-device'; data: RecomputeDeviceJob }
  | { name: 'recompute-deployment'; data: RecomputeDeploymentJob }
  | { name: 'recompute-batch'; data: RecomputeBatchJob }
  | { name: 'rebuild-manifest'; data: RebuildManifestJob }
  | { name: 'rebuild-manifests'; data: RebuildManifestsJob }
  /** Scheduled: D3 digest retention. */
  | { name: 'purge-digests'; data: Record<string, never> }
  /** Scheduled: re-enqueues deployment changes whose enqueue was lost. */
  | { name: 'sweep-deployments'; data: Record<string, never> };

export type RecomputeJobName = RecomputeJob['name'];
