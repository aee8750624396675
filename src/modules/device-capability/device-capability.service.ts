import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { DEVICE_ID_RULE, isDeviceId } from '../../common/http/input-limits.js';
import { InvalidRequestError, SemanticError } from '../../common/problem/domain-error.js';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import { EventLogService } from '../../infra/events/event-log.service.js';
import type { AuthenticatedClient } from '../enrollment/auth/authenticated-client.js';
import { ancestorsOf, type CapabilityModel, parentOf, parseCapabilities } from './capabilities.parser.js';
import { CapabilityMetrics } from './capability.metrics.js';
import { RecomputeProducer } from './device-capability.jobs.js';
import { DeviceNotFoundError, GatewayNotFoundError } from './device-capability.errors.js';
import { type DeviceFields, DeviceRepository, type DeviceRow } from './device.repository.js';
import { toDeviceFacts } from './device.mapper.js';
import type { DeviceFacts } from './device-facts.js';
import { stable } from './stable-json.js';

export interface ReportOutcome {
  created: boolean;
  changed: boolean;
  deviceId: string;
}

const DIFF_FIELDS = [
  'hosting',
  'vendor',
  'modelNumber',
  'serialNumber',
  'cpus',
  'memoryText',
  'storageText',
  'peripherals',
  'interfaceTypes',
  'runtimes',
  'deploymentTypes',
  'otelCollector',
  'labels',
] as const;

type Comparable = Record<(typeof DIFF_FIELDS)[number], unknown>;

function comparable(model: CapabilityModel): Comparable {
  return {
    hosting: model.hosting,
    vendor: model.vendor,
    modelNumber: model.modelNumber,
    serialNumber: model.serialNumber,
    cpus: model.cpus,
    memoryText: model.memory?.text ?? null,
    storageText: model.storage?.text ?? null,
    peripherals: model.peripherals,
    interfaceTypes: model.interfaceTypes,
    runtimes: model.runtimes,
    deploymentTypes: model.deploymentTypes,
    otelCollector: model.otelCollector,
    labels: model.labels,
  };
}

function diff(
  before: Comparable | undefined,
  after: Comparable,
): { field: string; from: unknown; to: unknown }[] {
  return DIFF_FIELDS.filter((f) => stable(before?.[f]) !== stable(after[f])).map((f) => ({
    field: f,
    from: before?.[f] ?? null,
    to: after[f],
  }));
}

/**
 * The WFM's knowledge of the fleet: validates capability reports, keeps the current normalised
 * model per (client, device) plus the exact document, an append-only history of changes, and
 * enqueues a recomputation whenever the model changes (never when it does not).
 */
/** How long a recomputed mark waits for others to be written with it. */
const MARK_BATCH_MS = 20;

@Injectable()
export class DeviceCapabilityService {
  private readonly logger = new Logger(DeviceCapabilityService.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly devices: DeviceRepository,
    private readonly producer: RecomputeProducer,
    private readonly metrics: CapabilityMetrics,
    private readonly events: EventLogService,
  ) {}

  /** PUT/POST of a DeviceCapabilitiesManifest. `pathDeviceId` is absent on the oldest legacy route. */
  async report(
    client: AuthenticatedClient,
    pathDeviceId: string | undefined,
    body: unknown,
    raw: Buffer,
  ): Promise<ReportOutcome> {
    if (body === undefined) {
      this.metrics.rejected.inc({ reason: 'no-body' });
      throw new InvalidRequestError('The request needs a DeviceCapabilitiesManifest as a JSON body');
    }
    if (pathDeviceId !== undefined && !isDeviceId(pathDeviceId)) {
      this.metrics.rejected.inc({ reason: 'device-id' });
      throw new SemanticError(`The deviceId in the path (${pathDeviceId.slice(0, 80)}) is not a DeviceId`, [
        { field: '/properties/id', message: `the path deviceId ${DEVICE_ID_RULE}` },
      ]);
    }
    const parsed = parseCapabilities(body, { profile: client.profile, pathDeviceId });
    if (!parsed.ok) {
      this.metrics.rejected.inc({ reason: 'validation' });
      this.metrics.reports.inc({ profile: client.profile, result: 'rejected' });
      const first = parsed.errors[0];
      throw new SemanticError(
        `The capabilities manifest is invalid: ${first.field || '/'} ${first.message}`,
        parsed.errors,
      );
    }
    const model = parsed.model;
    const deviceId = model.deviceId;
    const ancestors = ancestorsOf(deviceId);
    if (ancestors.length > 0) {
      const present = await this.devices.existingDeviceIds(client.id, ancestors);
      const missing = ancestors.find((a) => !present.has(a));
      if (missing !== undefined) {
        this.metrics.rejected.inc({ reason: 'gateway-not-found' });
        throw new GatewayNotFoundError(deviceId, missing);
      }
    }

    const comparableModel = comparable(model);
    const hash = createHash('sha256').update(stable(comparableModel)).digest('hex');
    const fields: DeviceFields = {
      clientId: client.id,
      clientExternalId: client.externalId,
      clientProfile: client.profile,
      deviceId,
      parentDeviceId: parentOf(deviceId),
      depth: ancestors.length,
      hosting: model.hosting,
      vendor: model.vendor,
      modelNumber: model.modelNumber,
      serialNumber: model.serialNumber,
      architectures: model.architectures,
      maxCores: model.maxCores,
      cpus: model.cpus as object[],
      memoryBytes: model.memory?.bytes ?? null,
      memoryText: model.memory?.text ?? null,
      storageBytes: model.storage?.bytes ?? null,
      storageText: model.storage?.text ?? null,
      peripheralTypes: model.peripheralTypes,
      interfaceTypes: model.interfaceTypes,
      runtimes: model.runtimes,
      deploymentTypes: model.deploymentTypes,
      otelCollector: model.otelCollector,
      labels: model.labels,
      extensions: model.extensions as object,
      document: new Uint8Array(raw),
      modelHash: hash,
    };

    const outcome = await this.devices.transaction(async (tx) => {
      const existing = await this.devices.lockDevice(tx, client.id, deviceId);
      // what selectors match: the reported labels with the operator's over them (docs/decisions.md, "Operator labels")
      // (a revived device starts without them: they went with its deletion)
      if (existing?.deletedAt) await this.devices.clearOperatorLabels(tx, client.id, deviceId);
      fields.effectiveLabels = {
        ...model.labels,
        ...(existing && !existing.deletedAt
          ? await this.devices.operatorLabelsOf(tx, client.id, deviceId)
          : {}),
      };
      if (!existing) {
        const row = await this.devices.insert(tx, fields);
        await this.devices.addHistory(
          tx,
          this.historyEntry(client, row, 'created', diff(undefined, comparableModel)),
          this.config.capabilities.historyLimit,
        );
        return { row, created: true, changed: true };
      }
      const revive = existing.deletedAt !== null;
      const changed = revive || existing.modelHash !== hash;
      const previous = revive ? undefined : this.previousComparable(existing);
      const row = await this.devices.update(tx, existing.id, fields, changed, revive);
      if (changed) {
        await this.devices.addHistory(
          tx,
          this.historyEntry(client, row, revive ? 'created' : 'updated', diff(previous, comparableModel)),
          this.config.capabilities.historyLimit,
        );
      }
      return { row, created: revive, changed };
    });

    this.metrics.reports.inc({
      profile: client.profile,
      result: outcome.created ? 'created' : outcome.changed ? 'updated' : 'unchanged',
    });
    if (outcome.changed) {
      this.metrics.changes.inc({ kind: outcome.created ? 'created' : 'updated' });
      await this.producer.enqueueDevice({
        clientId: client.id,
        deviceId,
        capabilityVersion: outcome.row.capabilityVersion,
        reportedAt: outcome.row.changedAt.getTime(),
      });
      await this.announce(client, [outcome.row], outcome.created ? 'created' : 'updated');
    }
    return { created: outcome.created, changed: outcome.changed, deviceId };
  }

  /** DELETE: removes the device and, for a gateway, every device below it (D13). */
  async remove(client: AuthenticatedClient, deviceId: string): Promise<void> {
    const removed = await this.devices.transaction(async (tx) => {
      const rows = await this.devices.softDeleteTree(tx, client.id, deviceId);
      if (!rows.some((r) => r.deviceId === deviceId)) throw new DeviceNotFoundError(deviceId);
      for (const row of rows) {
        await this.devices.addHistory(
          tx,
          this.historyEntry(client, row, 'deleted', []),
          this.config.capabilities.historyLimit,
        );
      }
      return rows;
    });
    this.metrics.changes.inc({ kind: 'deleted' }, removed.length);
    for (const row of removed) {
      await this.producer.enqueueDevice({
        clientId: client.id,
        deviceId: row.deviceId,
        capabilityVersion: row.capabilityVersion,
        reportedAt: row.changedAt.getTime(),
      });
    }
    await this.announce(client, removed, 'deleted');
  }

  /**
   * A `device.changed` operator event per changed device (only when the model changed, never for a
   * repeated report), so that live views (the console's device list) see devices come and go. An
   * event that cannot be written is logged: the report itself has succeeded.
   */
  private async announce(
    client: AuthenticatedClient,
    rows: Pick<DeviceRow, 'deviceId' | 'capabilityVersion'>[],
    kind: 'created' | 'updated' | 'deleted',
  ): Promise<void> {
    await this.events
      .publishMany(
        rows.map((row) => ({
          type: 'device.changed',
          clientId: client.externalId,
          data: { deviceId: row.deviceId, kind, capabilityVersion: row.capabilityVersion },
        })),
      )
      .catch((error: unknown) =>
        this.logger.warn({ msg: 'could not publish device events', error: String(error) }),
      );
  }

  /** What placement needs to know about devices (missing or deleted ones are left out). */
  async facts(keys: { clientId: string; deviceId: string }[]): Promise<DeviceFacts[]> {
    return (await this.devices.factsOf(keys)).map(toDeviceFacts);
  }

  /** Whether a live device (internal client id) lies inside a label scope: a scoped deployment's direct target. */
  isInScope(clientId: string, deviceId: string, scope: Record<string, string>): Promise<boolean> {
    return this.devices.isInScope(clientId, deviceId, scope);
  }

  /** One page of devices whose labels contain `labels` (selector fan-out), keyset-paged by an opaque cursor. */
  scanDevices(
    labels: Record<string, unknown>,
    clientId: string | undefined,
    after: string | undefined,
    limit: number,
  ) {
    return this.devices.scan(labels, clientId, after, limit);
  }

  /** How many devices `scanDevices` pages through for these labels and client (deployment preview). */
  countDevices(labels: Record<string, unknown>, clientId: string | undefined): Promise<number> {
    return this.devices.countScan(labels, clientId);
  }

  /**
   * Called by the recomputation worker once it has handled `capabilityVersion` of a device; resolves
   * when that is stored. The marks of the jobs that finish within MARK_BATCH_MS are written in one
   * statement (a failure fails all of them: their jobs are retried, recomputing is idempotent).
   */
  async markRecomputed(
    clientId: string,
    deviceId: string,
    capabilityVersion: number,
    reportedAt?: number,
  ): Promise<void> {
    const key = `${clientId}|${deviceId}`;
    const pending = this.pendingMarks.get(key);
    if (!pending || pending.version < capabilityVersion) {
      this.pendingMarks.set(key, { clientId, deviceId, version: capabilityVersion });
    }
    this.marksWritten ??= new Promise<void>((resolve) => setTimeout(resolve, MARK_BATCH_MS)).then(() => {
      const batch = [...this.pendingMarks.values()];
      this.pendingMarks.clear();
      this.marksWritten = undefined;
      return this.devices.markRecomputed(batch);
    });
    await this.marksWritten;
    if (reportedAt !== undefined) this.metrics.recomputeLatency.observe((Date.now() - reportedAt) / 1000);
  }

  private readonly pendingMarks = new Map<string, { clientId: string; deviceId: string; version: number }>();
  private marksWritten?: Promise<void>;

  /** The sweeper: re-enqueues changes whose recomputation never ran (e.g. Redis was away). */
  async sweep(): Promise<number> {
    const graceMs = Math.max(2 * this.config.capabilities.recomputeDebounceMs, 2_000);
    const pending = await this.devices.pendingRecompute(new Date(Date.now() - graceMs), 1_000);
    for (const row of pending) {
      await this.producer.enqueueDevice({
        clientId: row.clientId,
        deviceId: row.deviceId,
        capabilityVersion: row.capabilityVersion,
        reportedAt: new Date(row.changedAt).getTime(),
      });
    }
    if (pending.length > 0) {
      this.logger.log({ msg: 'sweeper re-enqueued recomputations', devices: pending.length });
    }
    return pending.length;
  }

  /** The model of the stored document (it was valid when stored), for the history's before/after. */
  private previousComparable(row: Pick<DeviceRow, 'document' | 'clientProfile'>): Comparable | undefined {
    try {
      const reparsed = parseCapabilities(JSON.parse(Buffer.from(row.document).toString('utf8')) as unknown, {
        profile: row.clientProfile === 'legacy' ? 'legacy' : 'rc3',
      });
      return reparsed.ok ? comparable(reparsed.model) : undefined;
    } catch {
      return undefined;
    }
  }

  private historyEntry(client: AuthenticatedClient, row: DeviceRow, kind: string, changes: unknown[]) {
    return {
      clientId: client.id,
      deviceId: row.deviceId,
      kind,
      capabilityVersion: row.capabilityVersion,
      changes,
      reportedBy: client.spiffeId ?? `legacy:${client.externalId}`,
    };
  }
}
