import type { ApplicationPackage, JsonValue } from '../../packages/domain.js';
import { effectiveParameters } from '../../packages/parameter-values.js';
import type { DeploymentRow } from '../deployment-rows.js';
import { renderApplicationDeployment, type SpecSegmentCache } from './render.js';

function k8sName(value: string, max: number): string {
  return value
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, max)
    .replace(/-+$/, '');
}

/**
 * The ApplicationDeployment YAML of one placed target: the deployment's package and parameters with
 * the device's overrides, for its profile. The common segment depends on the deployment's revision
 * (its package and parameters), the profile and the overrides only, so `segments` renders it once per
 * combination.
 */
export function renderTarget(
  deployment: Pick<DeploymentRow, 'id' | 'revision' | 'packageId' | 'parameters'>,
  pkg: ApplicationPackage,
  target: { id: string; deviceId: string; profileId: string; overrides: Record<string, JsonValue> },
  legacy: boolean,
  segments: SpecSegmentCache,
): Buffer {
  const { id, overrides, profileId } = target;
  const parameters = effectiveParameters(pkg, [
    deployment.parameters as Record<string, JsonValue>,
    overrides,
  ]);
  const segment = `${deployment.id}|${deployment.revision}|${deployment.packageId}|${profileId}|${JSON.stringify(overrides)}`;
  return renderApplicationDeployment(
    {
      id,
      applicationId: pkg.applicationId,
      name: `${k8sName(pkg.applicationId, 54)}-${id.slice(0, 8)}`,
      namespace: k8sName(`margo-${pkg.applicationId}`, 63),
      deviceId: target.deviceId,
      profile: pkg.profiles.find((p) => p.id === profileId)!,
      parameters: Object.fromEntries(
        Object.entries(parameters).map(([name, p]) => [name, { value: p.value, targets: p.targets }]),
      ),
      extensions: pkg.extensions,
      legacy,
    },
    { segments, key: segment },
  );
}
