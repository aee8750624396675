import { Injectable, Logger } from '@nestjs/common';
import { sha256Digest } from '../../client/digest.js';
import { ClientsService, type ClientRef } from '../enrollment/clients.service.js';
import { DeviceCapabilityService } from '../device-capability/device-capability.service.js';
import type {
  ApplicationPackage,
  DeviceFacts,
  EligibilityRule,
  JsonValue,
  MatchExpression,
} from './domain.js';
import { type DeploymentRow, DeploymentRepository, type TargetRow } from './deployment.repository.js';
import { DeploymentJobs } from './deployment-spec.jobs.js';
import { ManifestService } from './manifest.service.js';
import { ManifestRepository } from './manifest.repository.js';
import { effectiveParameters } from './package/parameter-values.js';
import { PackagesService } from './packages.service.js';
import { evaluateRule } from './placement/eligibility.js';
import { placePackage } from './placement/placement.js';
import { renderApplicationDeployment } from './render/render.js';

/** A deployment's selector as stored. */
export interface Selector {
  matchLabels?: Record<string, string | number | boolean>;
  labelSelector?: { matchExpressions: MatchExpression[] };
  propertySelector?: { matchExpressions: MatchExpression[] };
  /** Internal client id when the selector is limited to one client. */
  clientId?: string;
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

function k8sName(value: string, max: number): string {
  return value
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, max)
    .replace(/-+$/, '');
}

/**
 * Re-evaluates placement and re-renders ApplicationDeployments (D5, D17): for one device across the
 * deployments that concern it, or for a deployment across its devices. Only the device-specific part
 * changes per device; a rendering that gives the same bytes gives the same digest, so the client's
 * manifest keeps its version.
 */
@Injectable()
export class RecomputeService {
  private readonly logger = new Logger(RecomputeService.name);

  constructor(
    private readonly deployments: DeploymentRepository,
    private readonly manifests: ManifestRepository,
    private readonly manifestService: ManifestService,
    private readonly packages: PackagesService,
    private readonly capabilities: DeviceCapabilityService,
    private readonly clients: ClientsService,
    private readonly jobs: DeploymentJobs,
  ) {}

  /** After a capability change or deletion of one device. */
  async recomputeDevice(clientId: string, deviceId: string): Promise<void> {
    const [facts] = await this.capabilities.facts([{ clientId, deviceId }]);
    const candidates = await this.deployments.candidatesForDevice(clientId, deviceId);
    const existing = await this.deployments.targetsOfDevice(clientId, deviceId);
    const ids = new Set([...candidates.map((d) => d.id), ...existing.map((t) => t.deploymentId)]);
    for (const id of ids) {
      const deployment = candidates.find((d) => d.id === id) ?? (await this.deployments.findById(id));
      if (!deployment) continue;
      await this.placeTarget(deployment, facts, { clientId, deviceId });
    }
    await this.rebuild(clientId);
  }

  /** After a deployment was created, changed or deleted: fans out to its devices in batches. */
  async recomputeDeployment(deploymentId: string): Promise<void> {
    const deployment = await this.deployments.findById(deploymentId);
    if (!deployment) {
      const clients = await this.deployments.clientsOfDeployment(deploymentId);
      await this.deployments.markRemoved(deploymentId);
      await this.jobs.rebuildManifests(clients.map((c) => c.clientId));
      return;
    }
    const devices = new Map<string, { clientId: string; deviceId: string }>();
    for (const key of await this.deployments.targetKeys(deploymentId)) {
      devices.set(`${key.clientId}|${key.deviceId}`, key);
    }
    if (deployment.targetClientId && deployment.targetDeviceId) {
      devices.set(`${deployment.targetClientId}|${deployment.targetDeviceId}`, {
        clientId: deployment.targetClientId,
        deviceId: deployment.targetDeviceId,
      });
    } else if (deployment.selector) {
      const selector = deployment.selector as Selector;
      let after: string | undefined;
      for (;;) {
        const page = await this.capabilities.scanDevices(
          selector.matchLabels ?? {},
          selector.clientId,
          after,
          5_000,
        );
        for (const d of page) {
          devices.set(`${d.clientId}|${d.deviceId}`, { clientId: d.clientId, deviceId: d.deviceId });
        }
        if (page.length < 5_000) break;
        after = page[page.length - 1].id;
      }
    }
    await this.jobs.recomputeBatches(deploymentId, [...devices.values()]);
  }

  /** One batch of a deployment's devices (at most BATCH_SIZE). */
  async recomputeBatch(
    deploymentId: string,
    devices: { clientId: string; deviceId: string }[],
  ): Promise<void> {
    const deployment = await this.deployments.findById(deploymentId);
    if (!deployment) return;
    const facts = new Map(
      (await this.capabilities.facts(devices)).map((f) => [`${f.clientId}|${f.deviceId}`, f]),
    );
    const clients = new Set<string>();
    for (const key of devices) {
      try {
        if (await this.placeTarget(deployment, facts.get(`${key.clientId}|${key.deviceId}`), key)) {
          clients.add(key.clientId);
        }
      } catch (error) {
        // one device never blocks the others; its target stays as it was and a later run retries
        this.logger.error({
          msg: 'recomputation of one target failed',
          deploymentId,
          deviceId: key.deviceId,
          error: String(error),
        });
      }
    }
    await this.jobs.rebuildManifests(clients);
  }

  async rebuild(clientId: string): Promise<void> {
    const client = await this.clientRef(clientId);
    if (client) await this.manifestService.rebuild(client);
  }

  /**
   * Places one (deployment, device) and renders it when placed. Returns true when the target changed
   * in a way that may change the client's manifest.
   */
  async placeTarget(
    deployment: DeploymentRow,
    facts: DeviceFacts | undefined,
    key: { clientId: string; deviceId: string },
  ): Promise<boolean> {
    const existing = await this.deployments.findTarget(deployment.id, key.clientId, key.deviceId);
    const targetKey = { deploymentId: deployment.id, ...key };
    const selector = deployment.selector as Selector | null;
    const client = await this.clientRef(key.clientId);
    if (!client) return false;
    const base = {
      profileId: existing?.profileId ?? null,
      digest: existing?.digest ?? null,
      sizeBytes: existing?.sizeBytes ?? null,
      cores: 0,
      memoryBytes: 0n,
      storageBytes: 0n,
      renderedRevision: existing?.renderedRevision ?? null,
    };

    if (!facts) {
      if (existing && existing.placement === 'removed') return false;
      const reason = existing
        ? 'the device was removed by its client'
        : 'the device has not reported its capabilities yet';
      await this.deployments.upsertTarget(targetKey, client.externalId, {
        ...base,
        placement: existing ? 'removed' : 'not-placeable',
        reasons: [reason],
        digest: null,
      });
      return existing !== null;
    }
    const directOther =
      !selector && (deployment.targetClientId !== key.clientId || deployment.targetDeviceId !== key.deviceId);
    if (directOther) return false; // not this deployment's device
    if (selector && !selectorMatches(selector, facts)) {
      if (!existing || existing.placement === 'removed') return false;
      await this.deployments.upsertTarget(targetKey, client.externalId, {
        ...base,
        placement: 'not-placeable',
        reasons: [
          `the device no longer matches the deployment's selector (on capability loss: ${deployment.onCapabilityLoss})`,
        ],
      });
      return true;
    }

    const { pkg } = await this.packages.byId(deployment.packageId);
    const load = await this.deployments.loadOnDevice(key.clientId, key.deviceId, deployment.id);
    const result = placePackage(pkg.profiles, facts, load, deployment.profileId ?? undefined);
    if (!result.placeable) {
      const unchanged =
        existing?.placement === 'not-placeable' &&
        JSON.stringify(existing.reasons) === JSON.stringify(result.reasons);
      if (unchanged) return false;
      await this.deployments.upsertTarget(targetKey, client.externalId, {
        ...base,
        placement: 'not-placeable',
        reasons: result.reasons.length ? result.reasons : ['no deployment profile fits this device'],
      });
      return true;
    }

    const target =
      existing ??
      (await this.deployments.upsertTarget(targetKey, client.externalId, {
        ...base,
        placement: 'pending-recompute',
        reasons: [],
      }));
    const profile = pkg.profiles.find((p) => p.id === result.profileId)!;
    const bytes = this.render(deployment, pkg, target, profile.id, key.deviceId, client.profile === 'legacy');
    const digest = sha256Digest(bytes);
    await this.manifests.saveDocument(key.clientId, digest, target.id, bytes);
    const req = profile.requirements;
    await this.deployments.upsertTarget(targetKey, client.externalId, {
      placement: 'placed',
      reasons: result.reasons,
      profileId: profile.id,
      digest,
      sizeBytes: bytes.length,
      cores: req.cores ?? 0,
      memoryBytes: req.memoryBytes ?? 0n,
      storageBytes: req.storageBytes ?? 0n,
      renderedRevision: deployment.revision,
      lockedImmutable: target.lockedImmutable ?? this.immutableValues(pkg, deployment, target),
    });
    return existing?.placement !== 'placed' || existing.digest !== digest || !existing.inManifest;
  }

  private render(
    deployment: DeploymentRow,
    pkg: ApplicationPackage,
    target: TargetRow,
    profileId: string,
    deviceId: string,
    legacy: boolean,
  ): Buffer {
    const parameters = effectiveParameters(pkg, [
      deployment.parameters as Record<string, JsonValue>,
      target.overrides as Record<string, JsonValue>,
    ]);
    return renderApplicationDeployment({
      id: target.id,
      applicationId: pkg.applicationId,
      name: `${k8sName(pkg.applicationId, 54)}-${target.id.slice(0, 8)}`,
      namespace: k8sName(`margo-${pkg.applicationId}`, 63),
      deviceId,
      profile: pkg.profiles.find((p) => p.id === profileId)!,
      parameters: Object.fromEntries(
        Object.entries(parameters).map(([name, p]) => [name, { value: p.value, targets: p.targets }]),
      ),
      extensions: pkg.extensions,
      legacy,
    });
  }

  /** The values of immutable parameters at the first placement (they may not change afterwards). */
  private immutableValues(
    pkg: ApplicationPackage,
    deployment: DeploymentRow,
    target: TargetRow,
  ): Record<string, JsonValue> {
    const immutable = new Set(pkg.settings.filter((s) => s.immutable).map((s) => s.parameter));
    const effective = effectiveParameters(pkg, [
      deployment.parameters as Record<string, JsonValue>,
      target.overrides as Record<string, JsonValue>,
    ]);
    return Object.fromEntries(
      Object.entries(effective)
        .filter(([name]) => immutable.has(name))
        .map(([name, p]) => [name, p.value]),
    );
  }

  private readonly clientCache = new Map<string, ClientRef | null>();

  private async clientRef(clientId: string): Promise<ClientRef | null> {
    if (!this.clientCache.has(clientId)) this.clientCache.set(clientId, await this.clients.findRef(clientId));
    return this.clientCache.get(clientId) ?? null;
  }
}
