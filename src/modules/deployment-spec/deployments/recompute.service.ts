import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { sha256Digest } from '../../../common/digest.js';
import type { Prisma } from '../../../generated/prisma/client.js';
import { EventLogService, type NewOperatorEvent } from '../../../infra/events/event-log.service.js';
import type { DeviceFacts } from '../../device-capability/device-facts.js';
import { DeviceCapabilityService } from '../../device-capability/device-capability.service.js';
import { type ClientRef, ClientsService } from '../../enrollment/clients.service.js';
import { issuedEvents, ManifestService } from '../manifests/manifest.service.js';
import type { ApplicationPackage, JsonValue } from '../packages/domain.js';
import { PackagesService } from '../packages/packages.service.js';
import { DeploymentRepository } from './deployment.repository.js';
import type { DeploymentRow, TargetRow, TargetWriteRow } from './deployment-rows.js';
import { DeploymentJobs } from './deployment.jobs.js';
import {
  decidePlacement,
  immutableValues,
  type LoadEntry,
  loadExcept,
  type PlacementDecision,
  placedWrite,
  placementEvents,
  type Selector,
  type TargetKey,
  unplacedWrite,
} from './placement/decision.js';
import type { DeviceLoad } from './placement/placement.js';
import { SpecSegmentCache } from './render/render.js';
import { renderTarget } from './render/target-render.js';
import { type Pin, pinOf } from './rollout/pins.js';
import { RolloutService } from './rollout/rollout.service.js';

/** Client references (id, external id, profile never change) kept per worker before starting over. */
const CLIENT_CACHE_LIMIT = 200_000;
/** A change younger than this is left to the job its request enqueued. */
const SWEEP_GRACE_MS = 2_000;

type RenderedDocument = { clientId: string; digest: string; deploymentId: string; bytes: Buffer };

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
    private readonly manifests: ManifestService,
    private readonly packages: PackagesService,
    private readonly capabilities: DeviceCapabilityService,
    private readonly clients: ClientsService,
    private readonly jobs: DeploymentJobs,
    private readonly events: EventLogService,
    private readonly rollouts: RolloutService,
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
      const issued = changed && client ? (await this.manifests.rebuildLocked(tx, client)).issued : null;
      if (issued) events.push(...issuedEvents([issued]));
      // the last statement: the events commit with what they report
      return { issued, lastEventId: await this.events.appendIn(tx, events) };
    });
    if (outcome.issued) await this.manifests.cacheIssued([outcome.issued]);
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
    // a pending rollout plans its waves from these devices, and starts its first wave, before the fan-out
    await this.rollouts.planIfPending(deployment, [...devices.values()]);
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
    await this.manifests.rebuildMany(clients);
  }

  async rebuild(clientId: string): Promise<void> {
    const client = await this.clientRef(clientId);
    if (client) await this.manifests.rebuild(client);
  }

  /**
   * Places a deployment on devices and renders it where placed: loads the targets, loads and client
   * references, decides each target once (placement/decision.ts), writes documents and targets, and
   * announces the placement events. Returns the clients whose manifest may change and the target rows
   * written. One device failing (e.g. a rendering error) is logged and skipped. `within` runs it
   * inside the caller's transaction with targets and loads the caller read, and collects the events
   * for the caller to publish after its commit.
   */
  async placeTargets(
    deployment: DeploymentRow,
    keys: TargetKey[],
    facts: Map<string, DeviceFacts>,
    within?: {
      db: Prisma.TransactionClient;
      existing: TargetRow[];
      loads: Map<string, DeviceLoad>;
      events: NewOperatorEvent[];
    },
  ): Promise<{ changed: Set<string>; writes: TargetWriteRow[] }> {
    const db = within?.db;
    // load
    const keyOf = (k: TargetKey) => `${k.clientId}|${k.deviceId}`;
    const existing = new Map(
      (within?.existing ?? (await this.deployments.targetsFor(deployment.id, keys))).map((t) => [
        keyOf(t),
        t,
      ]),
    );
    const loads = within?.loads ?? (await this.deployments.loadsOn(keys, deployment.id));
    await this.loadClientRefs(keys.map((k) => k.clientId));
    // which revision each target renders (a rollout pins the targets it has not reached yet)
    const { governing, reached } = await this.rollouts.pinsOf(deployment, db);
    const pins = new Map(
      keys.map((k) => [keyOf(k), pinOf(governing, reached.has(keyOf(k)), existing.get(keyOf(k)))]),
    );
    const revisionOf = (pin: Pin) => ('revision' in pin ? pin.revision : deployment.revision);
    const contents = await this.rollouts.contents(deployment, [...pins.values()].map(revisionOf), db);
    const views = new Map<number, { deployment: DeploymentRow; pkg: ApplicationPackage }>();
    const viewAt = async (revision: number) => {
      let view = views.get(revision);
      if (!view) {
        const c = contents.get(revision) ?? deployment; // not recorded (before revisions were): the current one
        const at = {
          ...deployment,
          revision,
          packageId: c.packageId,
          profileId: c.profileId,
          parameters: c.parameters as DeploymentRow['parameters'],
        };
        view = { deployment: at, pkg: (await this.packages.byId(at.packageId)).pkg };
        views.set(revision, view);
      }
      return view;
    };
    // decide, once per target
    const decided: { key: TargetKey; decision: PlacementDecision; pin: Pin }[] = [];
    for (const key of keys) {
      const k = keyOf(key);
      try {
        const pin = pins.get(k)!;
        const { deployment: at, pkg } = await viewAt(revisionOf(pin));
        let decision = decidePlacement({
          deployment: at,
          profiles: pkg.profiles,
          key,
          clientKnown: !!this.clientCache.get(key.clientId),
          facts: facts.get(k),
          existing: existing.get(k),
          load: loads.get(k),
        });
        if (decision.kind === 'place' && pin.kind === 'wait') {
          const before = existing.get(k);
          decision = {
            kind: 'unplaced',
            placement: 'waiting-rollout',
            reasons: [...decision.reasons, pin.note],
            clearDigest: true,
            changed: !!before?.inManifest,
          };
        }
        if (decision.kind !== 'skip') decided.push({ key, decision, pin });
      } catch (error) {
        this.failed(deployment, key, error);
      }
    }
    // A new target gets its id (the ApplicationDeployment id, rendered into the YAML) from the row that
    // wins the insert, so that concurrent recomputations of one device agree on it.
    const fresh = decided.filter((d) => d.decision.kind === 'place' && !existing.has(keyOf(d.key)));
    if (fresh.length > 0) {
      const freshKeys = fresh.map((d) => d.key);
      await this.deployments.insertPending(
        deployment.id,
        freshKeys.map((k) => ({
          ...k,
          clientExternalId: this.clientCache.get(k.clientId)?.externalId ?? '',
        })),
        db,
      );
      for (const t of await this.deployments.targetsFor(deployment.id, freshKeys, db)) {
        existing.set(keyOf(t), t);
      }
    }
    const writes: TargetWriteRow[] = [];
    const docs: RenderedDocument[] = [];
    const changed = new Set<string>();
    for (const { key, decision, pin } of decided) {
      try {
        const before = existing.get(keyOf(key));
        const client = this.clientCache.get(key.clientId)!;
        const ident = {
          id: before?.id ?? randomUUID(),
          deploymentId: deployment.id,
          ...key,
          clientExternalId: client.externalId,
        };
        if (decision.kind === 'unplaced') {
          writes.push(unplacedWrite(decision, ident, before));
          if (decision.changed) changed.add(key.clientId);
          continue;
        }
        if (decision.kind !== 'place') continue;
        const revision = revisionOf(pin);
        const { deployment: at, pkg } = await viewAt(revision);
        const reasons =
          pin.kind === 'kept' || pin.kind === 'late' ? [...decision.reasons, pin.note] : decision.reasons;
        const overrides = (before?.overrides ?? {}) as Record<string, JsonValue>;
        const profile = pkg.profiles.find((p) => p.id === decision.profileId)!;
        const immutable = () => immutableValues(pkg, at.parameters as Record<string, JsonValue>, overrides);
        if (
          pin.kind === 'kept' &&
          before?.placement === 'placed' &&
          before.digest &&
          before.sizeBytes !== null &&
          before.profileId === decision.profileId
        ) {
          // not reached by the rollout: the stored rendering stays, byte for byte
          const kept = placedWrite({
            ident,
            before,
            profile,
            reasons,
            digest: before.digest,
            sizeBytes: before.sizeBytes,
            revision,
            immutable,
          });
          writes.push(kept.write);
          if (kept.changed) changed.add(key.clientId);
          continue;
        }
        const bytes = renderTarget(
          at,
          pkg,
          { id: ident.id, deviceId: key.deviceId, profileId: decision.profileId, overrides },
          client.profile === 'legacy',
          this.specSegments,
        );
        const digest = sha256Digest(bytes);
        const placed = placedWrite({
          ident,
          before,
          profile,
          reasons,
          digest,
          sizeBytes: bytes.length,
          revision,
          immutable,
        });
        writes.push(placed.write);
        docs.push({ clientId: key.clientId, digest, deploymentId: ident.id, bytes });
        if (placed.changed) changed.add(key.clientId);
      } catch (error) {
        this.failed(deployment, key, error);
      }
    }
    // write
    await this.manifests.saveDocuments(docs, db);
    await this.deployments.upsertTargets(writes, db);
    // announce
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

  private failed(deployment: DeploymentRow, key: TargetKey, error: unknown): void {
    this.logger.error({
      msg: 'recomputation of one target failed',
      deploymentId: deployment.id,
      deviceId: key.deviceId,
      error: String(error),
    });
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
