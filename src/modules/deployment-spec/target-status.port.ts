import type { TargetRow } from './deployment.repository.js';

/**
 * Reported and derived status of deployment targets. Implemented by the status module (which depends
 * on this module), injected here optionally, so GET /operator/v1/deployments/{id} can show it.
 */
export const TARGET_STATUS = Symbol('TARGET_STATUS');

export interface TargetStatusView {
  status: {
    state: string;
    adoptedManifestVersion: string | null;
    reportedAt: string;
    error: unknown;
    components: unknown;
    inconsistent: boolean;
  } | null;
  derivedState: string;
}

export interface TargetStatusPort {
  viewOf(targets: TargetRow[]): Promise<Map<string, TargetStatusView>>;
}
