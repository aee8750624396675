import type { TargetRow } from '../deployment-rows.js';

/** What the rollout gate needs to know of one target: its derived state and whether it is in downtime. */
export interface TargetHealth {
  /** The status module's derived state (in-sync, failed, installing, lagging, unknown, stale, removed). */
  derivedState: string;
  /** Inside a downtime window its client announced (the client's or the fleet's settings). */
  inDowntime: boolean;
}

/**
 * The rollout's view of what devices reported. deployment-spec defines it; the status module, which
 * owns derived states and sits above deployment-spec (MODULE_LAYERS), implements it and passes it
 * to RolloutService's gate and view methods, so neither module imports the other's internals.
 */
export interface TargetHealthSource {
  /** Each target's health, keyed by target id. */
  healthOf(targets: TargetRow[]): Promise<Map<string, TargetHealth>>;
}
