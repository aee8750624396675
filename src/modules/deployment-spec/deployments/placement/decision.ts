import type { NewOperatorEvent } from '../../../../infra/events/event-log.service.js';
import type { DeviceFacts } from '../../../device-capability/device-facts.js';
import type {
  ApplicationPackage,
  DeploymentProfile,
  EligibilityRule,
  JsonValue,
  MatchExpression,
} from '../../packages/domain.js';
import { effectiveParameters } from '../../packages/parameter-values.js';
import type { DeploymentRow, TargetRow, TargetWriteRow } from '../deployment-rows.js';
import { evaluateRule } from './eligibility.js';
import { type DeviceLoad, placePackage } from './placement.js';

/**
 * The decision core of a recomputation (D5, D17), pure: does a deployment belong on a device, with
 * which profile, and what is written to its target. RecomputeService loads the inputs, asks here once
 * per target, writes the outcome and announces it.
 */

/** A deployment's selector as stored. */
export interface Selector {
  matchLabels?: Record<string, string | number | boolean>;
  labelSelector?: { matchExpressions: MatchExpression[] };
  propertySelector?: { matchExpressions: MatchExpression[] };
  /** Internal client id when the selector is limited to one client. */
  clientId?: string;
}

export interface TargetKey {
  clientId: string;
  deviceId: string;
}

export function selectorMatches(selector: Selector, device: DeviceFacts): boolean {
  if (selector.clientId && selector.clientId !== device.clientId) return false;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (device.labels[key] !== value) return false;
  }
  const rule: EligibilityRule = {
    labelSelector: selector.labelSelector,
    propertySelector: selector.propertySelector,
  };
  if (!rule.labelSelector && !rule.propertySelector) return true;
  return evaluateRule(rule, device).ok;
}

const NO_LOAD: DeviceLoad = { cores: 0, memoryBytes: 0n, storageBytes: 0n };

/** A target's share of its device (co-location), and whether its deployment is active. */
export interface LoadEntry extends DeviceLoad {
  deploymentId: string;
  active: boolean;
  placement: string;
}

/** Capacity placed on a device by the active deployments other than `deploymentId`. */
export function loadExcept(targets: LoadEntry[], deploymentId: string): DeviceLoad {
  const load = { cores: 0, memoryBytes: 0n, storageBytes: 0n };
  for (const t of targets) {
    if (!t.active || t.placement !== 'placed' || t.deploymentId === deploymentId) continue;
    load.cores += Number(t.cores);
    load.memoryBytes += BigInt(t.memoryBytes);
    load.storageBytes += BigInt(t.storageBytes);
  }
  return load;
}

/** What a deployment does on one device. */
export type PlacementDecision =
  /** Nothing to write: not this deployment's device, or the target already says so. */
  | { kind: 'skip' }
  /** Written as not placed; `clearDigest` for a device without capabilities (removed or never reported). */
  | {
      kind: 'unplaced';
      /** waiting-rollout: placeable, but the deployment's first rollout has not reached it yet */
      placement: 'removed' | 'not-placeable' | 'waiting-rollout';
      reasons: string[];
      clearDigest: boolean;
      changed: boolean;
    }
  /** Placed with this profile: the caller renders it and writes `placedWrite`. */
  | { kind: 'place'; profileId: string; reasons: string[] };

export interface DecisionInput {
  deployment: Pick<
    DeploymentRow,
    'selector' | 'targetClientId' | 'targetDeviceId' | 'profileId' | 'onCapabilityLoss'
  >;
  profiles: DeploymentProfile[];
  key: TargetKey;
  /** False when the client is unknown (deleted): nothing is written for it. */
  clientKnown: boolean;
  /** Undefined: the device has not reported capabilities, or was removed. */
  facts: DeviceFacts | undefined;
  existing: Pick<TargetRow, 'placement' | 'reasons'> | undefined;
  /** What other active deployments already take on the device. */
  load: DeviceLoad | undefined;
}

/** The placement decision for one (deployment, device): computed once per target and recomputation. */
export function decidePlacement(input: DecisionInput): PlacementDecision {
  const { deployment, key, facts, existing } = input;
  if (!input.clientKnown) return { kind: 'skip' };
  const selector = deployment.selector as Selector | null;
  if (
    !selector &&
    (deployment.targetClientId !== key.clientId || deployment.targetDeviceId !== key.deviceId)
  ) {
    return { kind: 'skip' }; // not this deployment's device (checked first: also when the device is gone)
  }
  if (!facts) {
    if (existing?.placement === 'removed') return { kind: 'skip' };
    return {
      kind: 'unplaced',
      placement: existing ? 'removed' : 'not-placeable',
      reasons: [
        existing
          ? 'the device was removed by its client'
          : 'the device has not reported its capabilities yet',
      ],
      clearDigest: true,
      changed: existing !== undefined,
    };
  }
  if (selector && !selectorMatches(selector, facts)) {
    if (!existing || existing.placement === 'removed') return { kind: 'skip' };
    return {
      kind: 'unplaced',
      placement: 'not-placeable',
      reasons: [
        `the device no longer matches the deployment's selector (on capability loss: ${deployment.onCapabilityLoss})`,
      ],
      clearDigest: false,
      changed: true,
    };
  }
  const result = placePackage(
    input.profiles,
    facts,
    input.load ?? NO_LOAD,
    deployment.profileId ?? undefined,
  );
  if (!result.placeable) {
    const reasons = result.reasons.length ? result.reasons : ['no deployment profile fits this device'];
    if (
      existing?.placement === 'not-placeable' &&
      JSON.stringify(existing.reasons) === JSON.stringify(reasons)
    ) {
      return { kind: 'skip' };
    }
    return { kind: 'unplaced', placement: 'not-placeable', reasons, clearDigest: false, changed: true };
  }
  return { kind: 'place', profileId: result.profileId, reasons: result.reasons };
}

/** A target's identity in a write: its id (the existing row's, else a new one), deployment and client. */
export type TargetIdent = Pick<
  TargetWriteRow,
  'id' | 'deploymentId' | 'clientId' | 'clientExternalId' | 'deviceId'
>;

type Before = Pick<
  TargetRow,
  'placement' | 'profileId' | 'digest' | 'sizeBytes' | 'renderedRevision' | 'inManifest' | 'lockedImmutable'
>;

/** The write of a target that is not placed: it keeps its last rendering (unless cleared) and frees its capacity. */
export function unplacedWrite(
  decision: Extract<PlacementDecision, { kind: 'unplaced' }>,
  ident: TargetIdent,
  before: Before | undefined,
): TargetWriteRow {
  return {
    ...ident,
    profileId: before?.profileId ?? null,
    digest: decision.clearDigest ? null : (before?.digest ?? null),
    sizeBytes: before?.sizeBytes ?? null,
    cores: 0,
    memoryBytes: 0n,
    storageBytes: 0n,
    renderedRevision: before?.renderedRevision ?? null,
    placement: decision.placement,
    reasons: decision.reasons,
  };
}

/** The values of immutable parameters at the first placement (they may not change afterwards). */
export function immutableValues(
  pkg: ApplicationPackage,
  deploymentParameters: Record<string, JsonValue>,
  overrides: Record<string, JsonValue>,
): Record<string, JsonValue> {
  const immutable = new Set(pkg.settings.filter((s) => s.immutable).map((s) => s.parameter));
  const effective = effectiveParameters(pkg, [deploymentParameters, overrides]);
  return Object.fromEntries(
    Object.entries(effective)
      .filter(([name]) => immutable.has(name))
      .map(([name, p]) => [name, p.value]),
  );
}

/**
 * The write of a placed target rendered to `digest`: it takes its profile's capacity, and keeps the
 * immutable values locked at its first placement. `changed`: the client's manifest may change.
 */
export function placedWrite(input: {
  ident: TargetIdent;
  before: Before | undefined;
  profile: DeploymentProfile;
  reasons: string[];
  digest: string;
  sizeBytes: number;
  revision: number;
  /** The immutable values now (used when the target has none locked yet). */
  immutable: () => Record<string, JsonValue>;
}): { write: TargetWriteRow; changed: boolean } {
  const { before, digest } = input;
  const req = input.profile.requirements;
  const write: TargetWriteRow = {
    ...input.ident,
    placement: 'placed',
    reasons: input.reasons,
    profileId: input.profile.id,
    digest,
    sizeBytes: input.sizeBytes,
    cores: req.cores ?? 0,
    memoryBytes: req.memoryBytes ?? 0n,
    storageBytes: req.storageBytes ?? 0n,
    renderedRevision: input.revision,
    lockedImmutable: before?.lockedImmutable ?? input.immutable(),
  };
  const changed = before?.placement !== 'placed' || before.digest !== digest || !before.inManifest;
  return { write, changed };
}

/** One event per target whose placement changed; one summary event for large batches. */
export function placementEvents(
  deploymentId: string,
  writes: TargetWriteRow[],
  before: Map<string, Pick<TargetRow, 'placement' | 'reasons'>>,
): NewOperatorEvent[] {
  const moved = writes.filter((w) => {
    const b = before.get(`${w.clientId}|${w.deviceId}`);
    return !b || b.placement !== w.placement || JSON.stringify(b.reasons) !== JSON.stringify(w.reasons);
  });
  if (moved.length > 100) {
    return [
      {
        type: 'placement.changed',
        deploymentId,
        data: { targets: moved.length, placed: moved.filter((w) => w.placement === 'placed').length },
      },
    ];
  }
  return moved.map((w) => ({
    type: 'placement.changed',
    deploymentId,
    clientId: w.clientExternalId,
    data: { applicationDeploymentId: w.id, deviceId: w.deviceId, placement: w.placement, reasons: w.reasons },
  }));
}
