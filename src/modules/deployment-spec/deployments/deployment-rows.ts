import type { Deployment, DeploymentTarget } from '../../../generated/prisma/client.js';

/** A stored operator deployment (the `deployment` row). */
export type DeploymentRow = Deployment;
/** A deployment's target on one device (the `deployment_target` row; its id is the ApplicationDeployment id). */
export type TargetRow = DeploymentTarget;

/** The placement state a recomputation writes to a target. */
export interface TargetWrite {
  placement: string;
  reasons: string[];
  profileId: string | null;
  digest: string | null;
  sizeBytes: number | null;
  cores: number;
  memoryBytes: bigint;
  storageBytes: bigint;
  renderedRevision: number | null;
  lockedImmutable?: unknown;
}

/** A target write with the target's identity (one row of DeploymentRepository.upsertTargets). */
export interface TargetWriteRow extends TargetWrite {
  id: string;
  deploymentId: string;
  clientId: string;
  clientExternalId: string;
  deviceId: string;
}
