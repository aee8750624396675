import { Inject, Injectable } from '@nestjs/common';
import { Collector } from '../../common/json/json-reader.js';
import { SemanticError } from '../../common/problem/domain-error.js';
import type { FieldError } from '../../common/problem/problem-types.js';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import { type AuditRecord, AuditService } from '../../infra/audit/audit.service.js';
import type { OperatorPrincipal } from '../enrollment/auth/authenticated-client.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { CapabilityMetrics } from './capability.metrics.js';
import { RecomputeProducer } from './device-capability.jobs.js';
import { DeviceInventoryService } from './device-inventory.service.js';
import { toDeviceLabels } from './device.mapper.js';
import { type DeviceKey, DeviceRepository } from './device.repository.js';
import type { DeviceLabelsDto } from './dto/device.dto.js';
import {
  applyEdit,
  type LabelEdit,
  type LabelMap,
  OPERATOR_LABEL_LIMITS,
  patchEdit,
  readLabelKeys,
  readLabelMap,
  tooMany,
} from './operator-labels.js';
import { stable } from './stable-json.js';

export { OPERATOR_LABEL_LIMITS } from './operator-labels.js';

/** A bulk change as the bulk call reads it (set these, remove those). */
export interface BulkLabelChange {
  set: LabelMap;
  remove: string[];
}

const keyOf = (k: DeviceKey) => `${k.clientId}|${k.deviceId}`;

/**
 * Operator-set labels (docs/decisions.md, "Operator labels"): kept per device in
 * `device_operator_label`, layered over the reported labels into `device.effective_labels` (the
 * operator wins a conflict) in the same transaction, which also bumps the device's capability
 * version; then the same debounced `recompute-device` job as a capability change re-evaluates the
 * selector deployments, and the sweeper enqueues it when Redis was away.
 */
@Injectable()
export class DeviceLabelsService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly devices: DeviceRepository,
    private readonly inventory: DeviceInventoryService,
    private readonly producer: RecomputeProducer,
    private readonly metrics: CapabilityMetrics,
    private readonly audit: AuditService,
  ) {}

  /** PUT: the body is the device's new operator label set (`{}` removes them all). */
  async replace(
    clientId: string,
    deviceId: string,
    profile: string | undefined,
    body: unknown,
    by: OperatorPrincipal,
  ): Promise<DeviceLabelsDto> {
    const c = new Collector();
    const labels = readLabelMap(c, body, '', false) as LabelMap;
    this.throwIfBad(c.errors);
    return this.editOne(clientId, deviceId, profile, { kind: 'replace', labels }, by);
  }

  /** PATCH: the body is a JSON Merge Patch of the operator label set (`null` removes a key). */
  async patch(
    clientId: string,
    deviceId: string,
    profile: string | undefined,
    body: unknown,
    by: OperatorPrincipal,
  ): Promise<DeviceLabelsDto> {
    const c = new Collector();
    const patch = readLabelMap(c, body, '', true);
    this.throwIfBad(c.errors);
    return this.editOne(clientId, deviceId, profile, patchEdit(patch), by);
  }

  /** The labels of one device with their sources and the operator's entries. */
  async view(clientId: string, deviceId: string, profile: string | undefined): Promise<DeviceLabelsDto> {
    const row = await this.inventory.resolve(clientId, deviceId, profile);
    return toDeviceLabels(row, await this.devices.operatorLabels([row]));
  }

  /**
   * Reads and checks the `set`/`remove` members of a bulk call: the change and every problem
   * (pointers `/set/…`, `/remove/…`), for the caller to report with its own.
   */
  readBulk(body: { set?: unknown; remove?: unknown }): { change: BulkLabelChange; errors: FieldError[] } {
    const c = new Collector();
    const set = body.set === undefined ? {} : (readLabelMap(c, body.set, '/set', false) as LabelMap);
    const remove = body.remove === undefined ? [] : readLabelKeys(c, body.remove, '/remove');
    (Array.isArray(body.remove) ? (body.remove as unknown[]) : []).forEach((key, i) => {
      if (typeof key === 'string' && Object.hasOwn(set, key)) {
        c.add(`/remove/${i}`, 'is also in set (set it or remove it)');
      }
    });
    if (c.ok && Object.keys(set).length === 0 && remove.length === 0) {
      c.add('/set', 'give labels to set or keys to remove');
    }
    return { change: { set, remove }, errors: c.errors };
  }

  /**
   * The bulk change on these devices (internal keys, at most OPERATOR_LABEL_LIMITS.bulkDevices), in
   * one transaction; devices deleted meanwhile are skipped. Returns how many devices changed.
   */
  async changeMany(keys: DeviceKey[], change: BulkLabelChange, by: OperatorPrincipal): Promise<number> {
    if (keys.length > OPERATOR_LABEL_LIMITS.bulkDevices) {
      throw new SemanticError(
        `A bulk label change reaches at most ${OPERATOR_LABEL_LIMITS.bulkDevices} devices (this one ${keys.length})`,
        [{ field: '/selector', message: `matches more than ${OPERATOR_LABEL_LIMITS.bulkDevices} devices` }],
      );
    }
    const changed = await this.edit(keys, { kind: 'merge', ...change }, by, '/set', {
      action: 'device-labels.bulk',
      resource: { type: 'device' },
      summary: { set: change.set, remove: change.remove, matched: keys.length },
    });
    return changed.length;
  }

  private async editOne(
    clientId: string,
    deviceId: string,
    profile: string | undefined,
    edit: LabelEdit,
    by: OperatorPrincipal,
  ): Promise<DeviceLabelsDto> {
    const row = await this.inventory.resolve(clientId, deviceId, profile, by.scope);
    await this.edit([row], edit, by, '', {
      action: edit.kind === 'replace' ? 'device-labels.replace' : 'device-labels.patch',
      resource: { type: 'device', id: `${clientId}/${deviceId}` },
    });
    return this.view(clientId, deviceId, profile);
  }

  /** One transaction over every device: lock, read, edit, write, history; then enqueue the changed ones. */
  private async edit(
    keys: DeviceKey[],
    edit: LabelEdit,
    by: OperatorPrincipal,
    at: string,
    audit: AuditRecord,
  ) {
    const written = await this.devices.transaction(async (tx) => {
      const locked = await this.devices.lockLabelled(tx, keys);
      const current = new Map<string, LabelMap>();
      for (const row of await this.devices.operatorLabels(locked, tx)) {
        const labels = current.get(keyOf(row)) ?? {};
        labels[row.key] = row.value as LabelMap[string];
        current.set(keyOf(row), labels);
      }
      const removed: (DeviceKey & { key: string })[] = [];
      const upserts: (DeviceKey & { key: string; value: Prisma.JsonValue })[] = [];
      const devices: { id: string; effectiveLabels: Prisma.JsonValue }[] = [];
      const changes = new Map<string, { device: string; from: LabelMap; to: LabelMap }>();
      for (const device of locked) {
        const before = current.get(keyOf(device)) ?? {};
        const after = applyEdit(before, edit);
        if (stable(before) === stable(after)) continue;
        const problem = tooMany(after, at);
        if (problem) {
          throw new SemanticError(`Too many operator labels on device ${device.deviceId}`, [problem]);
        }
        const base = { clientId: device.clientId, deviceId: device.deviceId };
        for (const key of Object.keys(before)) if (!(key in after)) removed.push({ ...base, key });
        for (const [key, value] of Object.entries(after)) {
          if (stable(before[key]) !== stable(value)) upserts.push({ ...base, key, value });
        }
        const effectiveLabels = { ...(device.labels as Record<string, Prisma.JsonValue>), ...after };
        // a principal limited to a scope may not move a device out of it
        const outside = Object.entries(by.scope ?? {}).find(([key, value]) => effectiveLabels[key] !== value);
        if (outside) {
          throw new SemanticError(
            `The change would move device ${device.deviceId} out of the caller's scope`,
            [{ field: at || '/', message: `must keep ${outside[0]}=${outside[1]} (the caller's scope)` }],
          );
        }
        devices.push({ id: device.id, effectiveLabels });
        changes.set(keyOf(device), {
          device: `${device.clientExternalId}/${device.deviceId}`,
          from: before,
          to: after,
        });
      }
      const rows = await this.devices.writeLabels(tx, { removed, upserts, devices, setBy: by.name });
      // one entry per call: what changed on (at most 100 of) the devices it reached
      const shown = [...changes].slice(0, 100);
      await this.audit.record(tx, {
        ...audit,
        summary: {
          ...audit.summary,
          changed: changes.size,
          devices: shown.map(([, change]) => change),
        },
      });
      await this.devices.addHistoryMany(
        tx,
        rows.map((r) => ({
          clientId: r.clientId,
          deviceId: r.deviceId,
          kind: 'labels',
          capabilityVersion: r.capabilityVersion,
          changes: [
            { field: 'operatorLabels', from: changes.get(keyOf(r))?.from, to: changes.get(keyOf(r))?.to },
          ],
          reportedBy: `operator:${by.name}`,
        })),
        this.config.capabilities.historyLimit,
      );
      return rows;
    });
    if (written.length > 0) {
      this.metrics.changes.inc({ kind: 'labels' }, written.length);
      await this.producer.enqueueDevices(
        written.map((r) => ({
          clientId: r.clientId,
          deviceId: r.deviceId,
          capabilityVersion: r.capabilityVersion,
          reportedAt: new Date(r.changedAt).getTime(),
        })),
      );
    }
    return written;
  }

  private throwIfBad(errors: FieldError[]): void {
    if (errors.length === 0) return;
    const first = errors[0];
    throw new SemanticError(`The labels are invalid: ${first.field || '/'} ${first.message}`, errors);
  }
}
