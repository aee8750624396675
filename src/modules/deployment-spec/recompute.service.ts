import { randomUUID } from 'node:crypto';
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
import { ManifestService, issuedEvents } from './manifest.service.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { EventLogService, type NewOperatorEvent } from '../../infra/events/event-log.service.js';
import { ManifestRepository } from './manifest.repository.js';
import { effectiveParameters } from './package/parameter-values.js';
import { PackagesService } from './packages.service.js';
import { evaluateRule } from './placement/eligibility.js';
import { placePackage } from './placement/placement.js';
import { SpecSegmentCache, renderApplicationDeployment } from './render/render.js';

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

/** Client references (id, external id, profile never change) kept per worker before starting over. */
const CLIENT_CACHE_LIMIT = 200_000;
/** A change younger than this is left to the job its request enqueued. */
const SWEEP_GRACE_MS = 2_000;

function k8sName(value: string, max: number): string {
  return value
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, max)
    .replace(/-+$/, '');
}

type Load = { cores: number; memoryBytes: bigint; storageBytes: bigint };
type TargetWrites = Parameters<DeploymentRepository['upsertTargets']>[0];

/** A target's share of its device (co-location), and whether its deployment is active. */
type LoadEntry = Load & { deploymentId: string; active: boolean; placement: string };

/** Capacity placed on a device by the active deployments other than `deploymentId`. */
function loadExcept(targets: LoadEntry[], deploymentId: string): Load {
  const load = { cores: 0, memoryBytes: 0n, storageBytes: 0n };
  for (const t of targets) {
    if (!t.active || t.placement !== 'placed' || t.deploymentId === deploymentId) continue;
    load.cores += Number(t.cores);
    load.memoryBytes += BigInt(t.memoryBytes);
    load.storageBytes += BigInt(t.storageBytes);
  }
  return load;
}

/** One event per target whose placement changed; one summary event for large batches. */
function placementEvents(
  deploymentId: string,
  writes: TargetWrites,
  before: Map<string, TargetRow>,
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
    private readonly events: EventLogService,
  ) {}

  /**
   * After a capability change or deletion of one device: one transaction that holds the client's
   * manifest lock re-places every deployment that concerns the device and, when something the device
   * runs changed, issues the client's next manifest (e.g. more memory with the same placement keeps
   * it); the operator events of both are its last statement. One commit; the poll cache and the
   * event notification follow it.
   */
  async recomputeDevice(clientId: string, deviceId: string): Promise<void> {
    const key = { clientId, deviceId };
    const keyText = `${clientId}|${deviceId}`;
    const client = await this.clientRef(clientId);
    const facts = new Map(
      (await this.capabilities.facts([key])).map((f) => [`${f.clientId}|${f.deviceId}`, f]),
    );
    const events: NewOperatorEvent[] = [];
    const outcome = await this.deployments.transaction(async (tx) => {
      await this.manifests.lockClients(tx, [clientId]);
      const candidates = await this.deployments.candidatesForDevice(clientId, deviceId, tx);
      const targets = await this.deployments.targetsOfDevice(clientId, deviceId, tx);
      const loads: LoadEntry[] = targets.map((t) => ({
        deploymentId: t.deploymentId,
        active: t.deploymentActive,
        placement: t.placement,
        cores: t.cores,
        memoryBytes: t.memoryBytes,
        storageBytes: t.storageBytes,
      }));
      const ids = new Set([
        ...candidates.map((d) => d.id),
        ...targets.filter((t) => t.deploymentActive).map((t) => t.deploymentId),
      ]);
      let changed = false;
      for (const id of ids) {
        const deployment = candidates.find((d) => d.id === id) ?? (await this.deployments.findById(id, tx));
        if (!deployment) continue;
        const placed = await this.placeTargets(deployment, [key], facts, {
          db: tx,
          existing: targets.filter((t) => t.deploymentId === id),
          loads: new Map([[keyText, loadExcept(loads, id)]]),
          events,
        });
        if (placed.changed.size > 0) changed = true;
        // the next deployment's co-location check sees this one's new placement
        for (const w of placed.writes) {
          const next = { ...w, active: true };
          const at = loads.findIndex((l) => l.deploymentId === w.deploymentId);
          if (at >= 0) loads[at] = next;
          else loads.push(next);
        }
      }
      const issued = changed && client ? (await this.manifestService.rebuildLocked(tx, client)).issued : null;
      if (issued) events.push(...issuedEvents([issued]));
      // the last statement: the events commit with what they report
      return { issued, lastEventId: await this.events.appendIn(tx, events) };
    });
    if (outcome.issued) await this.manifestService.cacheIssued([outcome.issued]);
    await this.events.published(outcome.lastEventId);
  }

  /** The recompute-deployment job: runs it and records the revision it ran for (the outbox). */
  async runDeploymentJob(deploymentId: string): Promise<void> {
    const revision = await this.deployments.revisionOf(deploymentId);
    await this.recomputeDeployment(deploymentId);
    if (revision !== undefined) await this.deployments.markRecomputed(deploymentId, revision);
  }

  /**
   * The sweeper: re-enqueues deployments whose last change (create, patch, delete) was not
   * recomputed after a grace period, e.g. because Redis was away when the request enqueued it.
   */
  async sweepDeployments(): Promise<number> {
    const pending = await this.deployments.pendingRecompute(new Date(Date.now() - SWEEP_GRACE_MS), 1_000);
    let enqueued = 0;
    for (const id of pending) {
      if (!(await this.jobs.recomputeDeployment(id))) break;
      enqueued++;
    }
    if (enqueued > 0) this.logger.log({ msg: 'sweeper re-enqueued deployment recomputations', enqueued });
    return enqueued;
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

  /** One batch of a deployment's devices (at most BATCH_SIZE): bulk reads, per-device placement, bulk writes. */
  async recomputeBatch(
    deploymentId: string,
    devices: { clientId: string; deviceId: string }[],
  ): Promise<void> {
    const deployment = await this.deployments.findById(deploymentId);
    if (!deployment) return;
    const facts = new Map(
      (await this.capabilities.facts(devices)).map((f) => [`${f.clientId}|${f.deviceId}`, f]),
    );
    const { changed } = await this.placeTargets(deployment, devices, facts);
    await this.jobs.rebuildManifests(changed);
  }

  async rebuildMany(clientIds: string[]): Promise<void> {
    await this.loadClientRefs(clientIds);
    const clients = clientIds.map((id) => this.clientCache.get(id)).filter((c): c is ClientRef => !!c);
    await this.manifestService.rebuildMany(clients);
  }

  async rebuild(clientId: string): Promise<void> {
    const client = await this.clientRef(clientId);
    if (client) await this.manifestService.rebuild(client);
  }

  /**
   * Places a deployment on devices and renders it where placed. Returns the clients whose manifest
   * may change and the target rows written. One device failing (e.g. a rendering error) is logged
   * and skipped. `within` runs it inside the caller's transaction with targets and loads the caller
   * read, and collects the events for the caller to publish after its commit.
   */
  async placeTargets(
    deployment: DeploymentRow,
    keys: { clientId: string; deviceId: string }[],
    facts: Map<string, DeviceFacts>,
    within?: {
      db: Prisma.TransactionClient;
      existing: TargetRow[];
      loads: Map<string, Load>;
      events: NewOperatorEvent[];
    },
  ): Promise<{ changed: Set<string>; writes: TargetWrites }> {
    const db = within?.db;
    const { pkg } = await this.packages.byId(deployment.packageId);
    const keyOf = (k: { clientId: string; deviceId: string }) => `${k.clientId}|${k.deviceId}`;
    const existing = new Map(
      (within?.existing ?? (await this.deployments.targetsFor(deployment.id, keys))).map((t) => [
        keyOf(t),
        t,
      ]),
    );
    const loads = within?.loads ?? (await this.deployments.loadsOn(keys, deployment.id));
    await this.loadClientRefs(keys.map((k) => k.clientId));
    // A new target gets its id (the ApplicationDeployment id, rendered into the YAML) from the row that
    // wins the insert, so that concurrent recomputations of one device agree on it.
    const fresh = keys.filter(
      (k) =>
        !existing.has(keyOf(k)) &&
        this.wouldPlace(deployment, pkg, facts.get(keyOf(k)), k, loads.get(keyOf(k))),
    );
    if (fresh.length > 0) {
      await this.deployments.insertPending(
        deployment.id,
        fresh.map((k) => ({ ...k, clientExternalId: this.clientCache.get(k.clientId)?.externalId ?? '' })),
        db,
      );
      for (const t of await this.deployments.targetsFor(deployment.id, fresh, db)) existing.set(keyOf(t), t);
    }
    const writes: TargetWrites = [];
    const docs: { clientId: string; digest: string; deploymentId: string; bytes: Buffer }[] = [];
    const changed = new Set<string>();
    for (const key of keys) {
      const k = `${key.clientId}|${key.deviceId}`;
      try {
        const decision = this.decide(deployment, pkg, facts.get(k), key, existing.get(k), loads.get(k));
        if (!decision) continue;
        writes.push(decision.write);
        if (decision.doc) docs.push(decision.doc);
        if (decision.changed) changed.add(key.clientId);
      } catch (error) {
        this.logger.error({
          msg: 'recomputation of one target failed',
          deploymentId: deployment.id,
          deviceId: key.deviceId,
          error: String(error),
        });
      }
    }
    await this.manifests.saveDocuments(docs, db);
    await this.deployments.upsertTargets(writes, db);
    const events = placementEvents(deployment.id, writes, existing);
    if (within) {
      within.events.push(...events);
    } else {
      await this.events
        .publishMany(events)
        .catch((error: unknown) =>
          this.logger.warn({ msg: 'could not publish placement events', error: String(error) }),
        );
    }
    return { changed, writes };
  }

  private wouldPlace(
    deployment: DeploymentRow,
    pkg: ApplicationPackage,
    facts: DeviceFacts | undefined,
    key: { clientId: string; deviceId: string },
    load: { cores: number; memoryBytes: bigint; storageBytes: bigint } | undefined,
  ): boolean {
    if (!facts || !this.clientCache.get(key.clientId)) return false;
    const selector = deployment.selector as Selector | null;
    if (
      !selector &&
      (deployment.targetClientId !== key.clientId || deployment.targetDeviceId !== key.deviceId)
    ) {
      return false;
    }
    if (selector && !selectorMatches(selector, facts)) return false;
    const load0 = load ?? { cores: 0, memoryBytes: 0n, storageBytes: 0n };
    return placePackage(pkg.profiles, facts, load0, deployment.profileId ?? undefined).placeable;
  }

  /** The new state of one target (pure but for rendering), or undefined when nothing is to be written. */
  private decide(
    deployment: DeploymentRow,
    pkg: ApplicationPackage,
    facts: DeviceFacts | undefined,
    key: { clientId: string; deviceId: string },
    existing: TargetRow | undefined,
    load: { cores: number; memoryBytes: bigint; storageBytes: bigint } | undefined,
  ) {
    const client = this.clientCache.get(key.clientId);
    if (!client) return undefined;
    const selector = deployment.selector as Selector | null;
    const ident = {
      id: existing?.id ?? randomUUID(),
      deploymentId: deployment.id,
      ...key,
      clientExternalId: client.externalId,
    };
    const keep = {
      profileId: existing?.profileId ?? null,
      digest: existing?.digest ?? null,
      sizeBytes: existing?.sizeBytes ?? null,
      cores: 0,
      memoryBytes: 0n,
      storageBytes: 0n,
      renderedRevision: existing?.renderedRevision ?? null,
    };
    if (
      !selector &&
      (deployment.targetClientId !== key.clientId || deployment.targetDeviceId !== key.deviceId)
    ) {
      return undefined; // not this deployment's device (checked first: also when the device is gone)
    }
    if (!facts) {
      if (existing?.placement === 'removed') return undefined;
      const reason = existing
        ? 'the device was removed by its client'
        : 'the device has not reported its capabilities yet';
      const write = {
        ...ident,
        ...keep,
        digest: null,
        placement: existing ? 'removed' : 'not-placeable',
        reasons: [reason],
      };
      return { write, changed: existing !== undefined };
    }
    if (selector && !selectorMatches(selector, facts)) {
      if (!existing || existing.placement === 'removed') return undefined;
      const reasons = [
        `the device no longer matches the deployment's selector (on capability loss: ${deployment.onCapabilityLoss})`,
      ];
      return { write: { ...ident, ...keep, placement: 'not-placeable', reasons }, changed: true };
    }
    const result = placePackage(
      pkg.profiles,
      facts,
      load ?? { cores: 0, memoryBytes: 0n, storageBytes: 0n },
      deployment.profileId ?? undefined,
    );
    if (!result.placeable) {
      const reasons = result.reasons.length ? result.reasons : ['no deployment profile fits this device'];
      if (
        existing?.placement === 'not-placeable' &&
        JSON.stringify(existing.reasons) === JSON.stringify(reasons)
      ) {
        return undefined;
      }
      return { write: { ...ident, ...keep, placement: 'not-placeable', reasons }, changed: true };
    }
    const profile = pkg.profiles.find((p) => p.id === result.profileId)!;
    const overrides = (existing?.overrides ?? {}) as Record<string, JsonValue>;
    const bytes = this.render(
      deployment,
      pkg,
      ident.id,
      overrides,
      profile.id,
      key.deviceId,
      client.profile === 'legacy',
    );
    const digest = sha256Digest(bytes);
    const req = profile.requirements;
    const write = {
      ...ident,
      placement: 'placed',
      reasons: result.reasons,
      profileId: profile.id,
      digest,
      sizeBytes: bytes.length,
      cores: req.cores ?? 0,
      memoryBytes: req.memoryBytes ?? 0n,
      storageBytes: req.storageBytes ?? 0n,
      renderedRevision: deployment.revision,
      lockedImmutable: existing?.lockedImmutable ?? this.immutableValues(pkg, deployment, overrides),
    };
    const changed = existing?.placement !== 'placed' || existing.digest !== digest || !existing.inManifest;
    return { write, doc: { clientId: key.clientId, digest, deploymentId: ident.id, bytes }, changed };
  }

  private render(
    deployment: DeploymentRow,
    pkg: ApplicationPackage,
    id: string,
    overrides: Record<string, JsonValue>,
    profileId: string,
    deviceId: string,
    legacy: boolean,
  ): Buffer {
    const parameters = effectiveParameters(pkg, [
      deployment.parameters as Record<string, JsonValue>,
      overrides,
    ]);
    // the common segment depends on the deployment's revision (its package and parameters), the
    // profile and the device's overrides only: rendered once per combination
    const segment = `${deployment.id}|${deployment.revision}|${deployment.packageId}|${profileId}|${JSON.stringify(overrides)}`;
    return renderApplicationDeployment(
      {
        id,
        applicationId: pkg.applicationId,
        name: `${k8sName(pkg.applicationId, 54)}-${id.slice(0, 8)}`,
        namespace: k8sName(`margo-${pkg.applicationId}`, 63),
        deviceId,
        profile: pkg.profiles.find((p) => p.id === profileId)!,
        parameters: Object.fromEntries(
          Object.entries(parameters).map(([name, p]) => [name, { value: p.value, targets: p.targets }]),
        ),
        extensions: pkg.extensions,
        legacy,
      },
      { segments: this.specSegments, key: segment },
    );
  }

  /** The values of immutable parameters at the first placement (they may not change afterwards). */
  private immutableValues(
    pkg: ApplicationPackage,
    deployment: DeploymentRow,
    overrides: Record<string, JsonValue>,
  ): Record<string, JsonValue> {
    const immutable = new Set(pkg.settings.filter((s) => s.immutable).map((s) => s.parameter));
    const effective = effectiveParameters(pkg, [
      deployment.parameters as Record<string, JsonValue>,
      overrides,
    ]);
    return Object.fromEntries(
      Object.entries(effective)
        .filter(([name]) => immutable.has(name))
        .map(([name, p]) => [name, p.value]),
    );
  }

  private readonly clientCache = new Map<string, ClientRef | null>();
  private readonly specSegments = new SpecSegmentCache();

  private async loadClientRefs(ids: string[]): Promise<void> {
    const missing = [...new Set(ids)].filter((id) => !this.clientCache.has(id));
    if (missing.length === 0) return;
    if (this.clientCache.size + missing.length > CLIENT_CACHE_LIMIT) this.clientCache.clear();
    const found = await this.clients.findRefs(missing);
    for (const id of missing) this.clientCache.set(id, found.get(id) ?? null);
  }

  private async clientRef(clientId: string): Promise<ClientRef | null> {
    if (!this.clientCache.has(clientId)) await this.loadClientRefs([clientId]);
    return this.clientCache.get(clientId) ?? null;
  }
}
