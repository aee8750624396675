import type { ApplicationPackage, JsonValue } from '../packages/domain.js';
import type { DeploymentRow, TargetRow } from './deployment-rows.js';
import type {
  DeploymentDto,
  DeploymentSummaryDto,
  DeploymentTargetDto,
  EffectiveParameterDto,
} from './dto/deployment.dto.js';
import type { PackageRow } from '../packages/package-row.js';
import { effectiveParameters } from '../packages/parameter-values.js';

const SOURCES = ['package', 'deployment', 'device'] as const;

export function toEffectiveParameters(
  pkg: ApplicationPackage,
  layers: Record<string, JsonValue>[],
): EffectiveParameterDto[] {
  return Object.entries(effectiveParameters(pkg, layers))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, p]) => ({ name, value: p.value, source: SOURCES[p.source + 1] ?? 'device' }));
}

export function toTargetDto(
  row: TargetRow,
  pkg: ApplicationPackage,
  deploymentParameters: Record<string, JsonValue>,
): DeploymentTargetDto {
  return {
    clientId: row.clientExternalId,
    deviceId: row.deviceId,
    deploymentId: row.id,
    placement: row.placement,
    reasons: row.reasons as string[],
    profileId: row.profileId,
    digest: row.digest,
    inManifest: row.inManifest,
    manifestVersion: row.manifestVersion?.toString() ?? null,
    renderedRevision: row.renderedRevision,
    parameters: toEffectiveParameters(pkg, [
      deploymentParameters,
      row.overrides as Record<string, JsonValue>,
    ]),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** A deployment without its targets; `targetCounts` per placement. */
export function toDeploymentSummaryDto(
  row: DeploymentRow,
  pkgRow: PackageRow,
  pkg: ApplicationPackage,
  target: Record<string, unknown>,
  targetCounts: Record<string, number>,
): DeploymentSummaryDto {
  const parameters = row.parameters as Record<string, JsonValue>;
  return {
    id: row.id,
    applicationId: row.applicationId,
    version: pkgRow.version,
    profileId: row.profileId,
    parameters,
    effectiveParameters: toEffectiveParameters(pkg, [parameters]),
    target,
    onCapabilityLoss: row.onCapabilityLoss,
    revision: row.revision,
    stableRevision: row.stableRevision,
    rollout: (row.rolloutPolicy ?? null) as DeploymentSummaryDto['rollout'],
    targetCounts,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export function toDeploymentDto(
  row: DeploymentRow,
  pkgRow: PackageRow,
  pkg: ApplicationPackage,
  target: Record<string, unknown>,
  targets: TargetRow[],
): DeploymentDto {
  const counts: Record<string, number> = {};
  for (const t of targets) counts[t.placement] = (counts[t.placement] ?? 0) + 1;
  const parameters = row.parameters as Record<string, JsonValue>;
  return {
    ...toDeploymentSummaryDto(row, pkgRow, pkg, target, counts),
    targets: targets.map((t) => toTargetDto(t, pkg, parameters)),
  };
}
