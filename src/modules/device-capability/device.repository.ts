import { Injectable } from '@nestjs/common';
import { Prisma } from '../../generated/prisma/client.js';
import type { Device, DeviceCapabilityChange } from '../../generated/prisma/client.js';
import { PrismaService } from '../../infra/database/prisma.service.js';

/** Advisory-lock class of per-device report serialisation (4242002: manifest rebuilds per client). */
const DEVICE_LOCK_CLASS = 4242003;

export type DeviceRow = Device;
export type DeviceChangeRow = DeviceCapabilityChange;
type Db = PrismaService | Prisma.TransactionClient;

/** The columns a report writes (everything but identity and bookkeeping). */
export type DeviceFields = Omit<
  Prisma.DeviceUncheckedCreateInput,
  | 'id'
  | 'capabilityVersion'
  | 'recomputedVersion'
  | 'firstReportedAt'
  | 'lastReportedAt'
  | 'changedAt'
  | 'deletedAt'
>;

export interface DeviceListFilter {
  clientExternalId?: string;
  labels: Record<string, string>;
  architecture?: string;
  minCores?: number;
  minMemoryBytes?: bigint;
  minStorageBytes?: bigint;
  peripheral?: string;
  deploymentType?: string;
  parentDeviceId?: string;
  topLevel?: boolean;
  lastSeenAfter?: Date;
  lastSeenBefore?: Date;
  after?: { deviceId: string; id: string };
  limit: number;
  /** A principal's label scope: only devices whose labels contain it. */
  scope?: Record<string, string>;
}

/**
 * `effective_labels @> scope` (true without a scope): the one scope predicate on device rows. The
 * effective labels (reported, overlaid by operator labels) are what selectors match, so a scope
 * covers exactly the devices a deployment limited to it can reach.
 */
function inScope(scope: Record<string, string> | undefined): Prisma.Sql {
  return scope === undefined
    ? Prisma.sql`TRUE`
    : Prisma.sql`effective_labels @> ${JSON.stringify(scope)}::jsonb`;
}

export interface DeviceKey {
  /** Internal client id. */
  clientId: string;
  deviceId: string;
}

/** What a label change reads of a locked device (see `lockLabelled`). */
export interface LabelledDevice extends DeviceKey {
  id: string;
  clientExternalId: string;
  labels: Prisma.JsonValue;
}

/** One operator label as stored. */
export interface OperatorLabelRow extends DeviceKey {
  key: string;
  value: Prisma.JsonValue;
  setBy: string;
  setAt: Date;
}

/** A device whose labels a change wrote: its new capability version. */
export interface LabelWrite extends DeviceKey {
  capabilityVersion: number;
  changedAt: Date;
}

/** A device row of a list, with the keys of its operator-set labels. */
export type DeviceListRow = DeviceRow & { operatorKeys: string[] };

/** The columns a capability report compares against (see `lockDevice`). */
export type LockedDevice = Pick<DeviceRow, 'id' | 'modelHash' | 'document' | 'clientProfile' | 'deletedAt'>;

/** The columns placement reads (see `toDeviceFacts`). */
export type DeviceFactsRow = Pick<
  DeviceRow,
  | 'clientId'
  | 'deviceId'
  | 'hosting'
  | 'cpus'
  | 'memoryBytes'
  | 'memoryText'
  | 'storageBytes'
  | 'storageText'
  | 'peripheralTypes'
  | 'interfaceTypes'
  | 'deploymentTypes'
  | 'labels'
  | 'document'
>;

/** Devices and their capability history: the only Prisma user of the device-capability module. */
@Injectable()
export class DeviceRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** A transaction, retried (up to 3 times) when Postgres aborts it for a deadlock or write conflict. */
  async transaction<T>(fn: (tx: Prisma.TransactionClient) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.prisma.$transaction(fn);
      } catch (error) {
        const conflict = error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2034';
        if (!conflict || attempt >= 3) throw error;
      }
    }
  }

  /**
   * What a report compares against, of the device row (also a soft-deleted one), with a row lock.
   * A row lock cannot serialise the first report of a new device (there is no row yet), so a
   * transaction-scoped advisory lock on (client, deviceId) comes first: concurrent first reports wait
   * for each other, the first inserts, the others see its row (READ COMMITTED: a new snapshot per
   * statement) and update it — no unique-constraint violation, exactly one "created".
   */
  async lockDevice(
    tx: Prisma.TransactionClient,
    clientId: string,
    deviceId: string,
  ): Promise<LockedDevice | null> {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(${DEVICE_LOCK_CLASS}::int, hashtext(${clientId} || '/' || ${deviceId}))`;
    const rows = await tx.$queryRaw<LockedDevice[]>`
      SELECT id, model_hash AS "modelHash", document, client_profile AS "clientProfile", deleted_at AS "deletedAt"
        FROM device WHERE client_id = ${clientId}::uuid AND device_id = ${deviceId} FOR UPDATE`;
    return rows[0] ?? null;
  }

  /** Which of these deviceIds are registered (not deleted) for the client. */
  async existingDeviceIds(clientId: string, deviceIds: string[], db: Db = this.prisma): Promise<Set<string>> {
    if (deviceIds.length === 0) return new Set();
    const rows = await db.device.findMany({
      where: { clientId, deviceId: { in: deviceIds }, deletedAt: null },
      select: { deviceId: true },
    });
    return new Set(rows.map((r) => r.deviceId));
  }

  insert(tx: Prisma.TransactionClient, fields: DeviceFields): Promise<DeviceRow> {
    return tx.device.create({ data: fields });
  }

  /** Replaces a device's reported fields; bumps its capability version when the model changed. */
  update(
    tx: Prisma.TransactionClient,
    id: string,
    fields: Partial<DeviceFields>,
    changed: boolean,
    revive = false,
  ): Promise<DeviceRow> {
    const now = new Date();
    return tx.device.update({
      where: { id },
      data: {
        ...fields,
        lastReportedAt: now,
        ...(changed ? { capabilityVersion: { increment: 1 }, changedAt: now } : {}),
        ...(revive ? { deletedAt: null, firstReportedAt: now } : {}),
      },
    });
  }

  /** Soft-deletes a device and every device below it; returns the affected rows. */
  async softDeleteTree(
    tx: Prisma.TransactionClient,
    clientId: string,
    deviceId: string,
  ): Promise<DeviceRow[]> {
    // the operator's labels go with the device (docs/decisions.md, "Operator labels")
    const ids = await tx.$queryRaw<{ id: string }[]>`
      WITH gone AS (
        UPDATE device
           SET deleted_at = now(), capability_version = capability_version + 1, changed_at = now(),
               effective_labels = labels
         WHERE client_id = ${clientId}::uuid AND deleted_at IS NULL
           AND (device_id = ${deviceId} OR device_id LIKE ${`${escapeLike(deviceId)}/%`})
        RETURNING id, client_id, device_id
      ), unlabelled AS (
        DELETE FROM device_operator_label o USING gone
         WHERE o.client_id = gone.client_id AND o.device_id = gone.device_id
      )
      SELECT id FROM gone`;
    return tx.device.findMany({ where: { id: { in: ids.map((r) => r.id) } } });
  }

  /** Removes the operator's labels of one device (a deleted device reported again starts without them). */
  async clearOperatorLabels(tx: Prisma.TransactionClient, clientId: string, deviceId: string): Promise<void> {
    await tx.deviceOperatorLabel.deleteMany({ where: { clientId, deviceId } });
  }

  /** The operator's labels of one device (a capability report layers them over the reported ones). */
  async operatorLabelsOf(
    tx: Db,
    clientId: string,
    deviceId: string,
  ): Promise<Record<string, Prisma.JsonValue>> {
    const rows = await tx.deviceOperatorLabel.findMany({
      where: { clientId, deviceId },
      select: { key: true, value: true },
    });
    return Object.fromEntries(rows.map((r) => [r.key, r.value]));
  }

  /**
   * Live devices among `keys` with a row lock each, taken in id order (so two label changes of
   * overlapping sets of devices cannot deadlock), with what a label change reads.
   */
  lockLabelled(tx: Prisma.TransactionClient, keys: DeviceKey[]): Promise<LabelledDevice[]> {
    if (keys.length === 0) return Promise.resolve([]);
    return tx.$queryRaw<LabelledDevice[]>`
      SELECT d.id, d.client_id AS "clientId", d.client_external_id AS "clientExternalId",
             d.device_id AS "deviceId", d.labels
        FROM device d
        JOIN unnest(${keys.map((k) => k.clientId)}::uuid[], ${keys.map((k) => k.deviceId)}::text[]) AS k(client_id, device_id)
          ON d.client_id = k.client_id AND d.device_id = k.device_id
       WHERE d.deleted_at IS NULL
       ORDER BY d.id
         FOR UPDATE OF d`;
  }

  /** The operator labels of these devices, with who set them and when, in key order. */
  operatorLabels(keys: DeviceKey[], db: Db = this.prisma): Promise<OperatorLabelRow[]> {
    if (keys.length === 0) return Promise.resolve([]);
    return db.$queryRaw<OperatorLabelRow[]>`
      SELECT o.client_id AS "clientId", o.device_id AS "deviceId", o.key, o.value, o.set_by AS "setBy",
             o.set_at AS "setAt"
        FROM unnest(${keys.map((k) => k.clientId)}::uuid[], ${keys.map((k) => k.deviceId)}::text[]) AS k(client_id, device_id)
        JOIN device_operator_label o ON o.client_id = k.client_id AND o.device_id = k.device_id
       ORDER BY o.client_id, o.device_id, o.key`;
  }

  /**
   * Writes label changes of many devices in three statements: removes `removed` keys, upserts
   * `upserts` (value, who and when), and sets each device's effective labels with a new
   * capability version (the recomputation trigger and the sweeper's outbox, as for a report).
   */
  async writeLabels(
    tx: Prisma.TransactionClient,
    change: {
      removed: (DeviceKey & { key: string })[];
      upserts: (DeviceKey & { key: string; value: Prisma.JsonValue })[];
      devices: { id: string; effectiveLabels: Prisma.JsonValue }[];
      setBy: string;
    },
  ): Promise<LabelWrite[]> {
    const { removed, upserts, devices } = change;
    if (removed.length > 0) {
      await tx.$executeRaw`
        DELETE FROM device_operator_label o
         USING unnest(${removed.map((r) => r.clientId)}::uuid[], ${removed.map((r) => r.deviceId)}::text[],
                      ${removed.map((r) => r.key)}::text[]) AS r(client_id, device_id, key)
         WHERE o.client_id = r.client_id AND o.device_id = r.device_id AND o.key = r.key`;
    }
    if (upserts.length > 0) {
      await tx.$executeRaw`
        INSERT INTO device_operator_label (client_id, device_id, key, value, set_by, set_at)
        SELECT u.client_id, u.device_id, u.key, u.value, ${change.setBy}, now()
          FROM unnest(${upserts.map((u) => u.clientId)}::uuid[], ${upserts.map((u) => u.deviceId)}::text[],
                      ${upserts.map((u) => u.key)}::text[],
                      ${upserts.map((u) => JSON.stringify(u.value))}::jsonb[]) AS u(client_id, device_id, key, value)
        ON CONFLICT (client_id, device_id, key)
        DO UPDATE SET value = excluded.value, set_by = excluded.set_by, set_at = excluded.set_at`;
    }
    if (devices.length === 0) return [];
    return tx.$queryRaw<LabelWrite[]>`
      UPDATE device d
         SET effective_labels = v.effective, capability_version = d.capability_version + 1, changed_at = now()
        FROM unnest(${devices.map((d) => d.id)}::uuid[],
                    ${devices.map((d) => JSON.stringify(d.effectiveLabels))}::jsonb[]) AS v(id, effective)
       WHERE d.id = v.id
      RETURNING d.client_id AS "clientId", d.device_id AS "deviceId", d.capability_version AS "capabilityVersion",
                d.changed_at AS "changedAt"`;
  }

  /** History rows of many devices in two statements, each device's history trimmed to `keep`. */
  async addHistoryMany(
    tx: Prisma.TransactionClient,
    entries: {
      clientId: string;
      deviceId: string;
      kind: string;
      capabilityVersion: number;
      changes: unknown;
      reportedBy: string;
    }[],
    keep: number,
  ): Promise<void> {
    if (entries.length === 0) return;
    await tx.$executeRaw`
      INSERT INTO device_capability_change (client_id, device_id, kind, capability_version, changes, reported_by)
      SELECT * FROM unnest(${entries.map((e) => e.clientId)}::uuid[], ${entries.map((e) => e.deviceId)}::text[],
                           ${entries.map((e) => e.kind)}::text[], ${entries.map((e) => e.capabilityVersion)}::int[],
                           ${entries.map((e) => JSON.stringify(e.changes))}::jsonb[],
                           ${entries.map((e) => e.reportedBy)}::text[])`;
    await tx.$executeRaw`
      DELETE FROM device_capability_change c
       USING (SELECT h.id, row_number() OVER (PARTITION BY h.client_id, h.device_id ORDER BY h.id DESC) AS n
                FROM device_capability_change h
                JOIN unnest(${entries.map((e) => e.clientId)}::uuid[], ${entries.map((e) => e.deviceId)}::text[])
                     AS k(client_id, device_id)
                  ON h.client_id = k.client_id AND h.device_id = k.device_id) old
       WHERE c.id = old.id AND old.n > ${keep}`;
  }

  async addHistory(
    tx: Prisma.TransactionClient,
    entry: {
      clientId: string;
      deviceId: string;
      kind: string;
      capabilityVersion: number;
      changes: unknown;
      reportedBy: string;
    },
    keep: number,
  ): Promise<void> {
    // one statement; the trim does not see the new row, so it keeps `keep - 1` older ones
    await tx.$executeRaw`
      WITH added AS (
        INSERT INTO device_capability_change (client_id, device_id, kind, capability_version, changes, reported_by)
        VALUES (${entry.clientId}::uuid, ${entry.deviceId}, ${entry.kind}, ${entry.capabilityVersion},
                ${JSON.stringify(entry.changes)}::jsonb, ${entry.reportedBy})
      )
      DELETE FROM device_capability_change
       WHERE client_id = ${entry.clientId}::uuid AND device_id = ${entry.deviceId}
         AND id <= (SELECT id FROM device_capability_change
                     WHERE client_id = ${entry.clientId}::uuid AND device_id = ${entry.deviceId}
                     ORDER BY id DESC OFFSET ${keep - 1} LIMIT 1)`;
  }

  /**
   * Records that the recomputation for `version` ran, for many devices in one statement (one entry
   * per device); removes a soft-deleted device once it has. A newer change (higher
   * capability_version) leaves the row as it is.
   */
  async markRecomputed(marks: { clientId: string; deviceId: string; version: number }[]): Promise<void> {
    if (marks.length === 0) return;
    await this.prisma.$executeRaw`
      WITH v AS (
        SELECT * FROM unnest(${marks.map((m) => m.clientId)}::uuid[], ${marks.map((m) => m.deviceId)}::text[],
                             ${marks.map((m) => m.version)}::int[]) AS v(client_id, device_id, version)
      ), removed AS (
        DELETE FROM device d USING v
         WHERE d.client_id = v.client_id AND d.device_id = v.device_id
           AND d.deleted_at IS NOT NULL AND d.capability_version = v.version
      )
      UPDATE device d SET recomputed_version = v.version
        FROM v
       WHERE d.client_id = v.client_id AND d.device_id = v.device_id AND d.deleted_at IS NULL
         AND d.capability_version <= v.version AND d.recomputed_version < v.version`;
  }

  /** Devices whose last change has not been recomputed and is older than `olderThan`. */
  pendingRecompute(olderThan: Date, limit: number): Promise<DeviceRow[]> {
    return this.prisma.$queryRaw<DeviceRow[]>`
      SELECT id, client_id AS "clientId", device_id AS "deviceId", capability_version AS "capabilityVersion",
             changed_at AS "changedAt"
        FROM device
       WHERE capability_version > recomputed_version AND changed_at < ${olderThan}
       ORDER BY changed_at
       LIMIT ${limit}`;
  }

  /**
   * What placement reads of some devices (for recomputations), not deleted: one join against the
   * keys (a recompute batch asks for up to 1,000 devices at once).
   */
  factsOf(keys: { clientId: string; deviceId: string }[]): Promise<DeviceFactsRow[]> {
    if (keys.length === 0) return Promise.resolve([]);
    return this.prisma.$queryRaw<DeviceFactsRow[]>`
      SELECT d.client_id AS "clientId", d.device_id AS "deviceId", d.hosting, d.cpus,
             d.memory_bytes AS "memoryBytes", d.memory_text AS "memoryText",
             d.storage_bytes AS "storageBytes", d.storage_text AS "storageText",
             d.peripheral_types AS "peripheralTypes", d.interface_types AS "interfaceTypes",
             d.deployment_types AS "deploymentTypes", d.effective_labels AS labels, d.document
        FROM unnest(${keys.map((k) => k.clientId)}::uuid[], ${keys.map((k) => k.deviceId)}::text[]) AS k(client_id, device_id)
        JOIN device d ON d.client_id = k.client_id AND d.device_id = k.device_id
       WHERE d.deleted_at IS NULL`;
  }

  /** Devices whose effective labels contain `labels` (all, when empty), keyset-paged by id: selector fan-out. */
  scan(
    labels: Record<string, unknown>,
    clientId: string | undefined,
    afterId: string | undefined,
    limit: number,
  ): Promise<{ id: string; clientId: string; deviceId: string }[]> {
    return this.prisma.$queryRaw<{ id: string; clientId: string; deviceId: string }[]>`
      SELECT id, client_id AS "clientId", device_id AS "deviceId"
        FROM device
       WHERE deleted_at IS NULL
         AND effective_labels @> ${JSON.stringify(labels)}::jsonb
         AND (${clientId ?? null}::uuid IS NULL OR client_id = ${clientId ?? null}::uuid)
         AND (${afterId ?? null}::uuid IS NULL OR id > ${afterId ?? null}::uuid)
       ORDER BY id
       LIMIT ${limit}`;
  }

  /** How many devices `scan` pages through (deployment preview). */
  async countScan(labels: Record<string, unknown>, clientId: string | undefined): Promise<number> {
    const [row] = await this.prisma.$queryRaw<{ n: number }[]>`
      SELECT count(*)::int AS n
        FROM device
       WHERE deleted_at IS NULL
         AND labels @> ${JSON.stringify(labels)}::jsonb
         AND (${clientId ?? null}::uuid IS NULL OR client_id = ${clientId ?? null}::uuid)`;
    return row?.n ?? 0;
  }

  findOne(clientId: string, deviceId: string): Promise<DeviceRow | null> {
    return this.prisma.device.findFirst({ where: { clientId, deviceId, deletedAt: null } });
  }

  /** A device by its operator-facing ids (one per profile), inside `scope` when given. */
  async findByExternal(
    clientExternalId: string,
    deviceId: string,
    profile?: string,
    scope?: Record<string, string>,
  ): Promise<DeviceRow[]> {
    const ids = await this.prisma.$queryRaw<{ id: string }[]>`
      SELECT id::text AS id FROM device
       WHERE client_external_id = ${clientExternalId} AND device_id = ${deviceId} AND deleted_at IS NULL
         AND (${profile ?? null}::text IS NULL OR client_profile = ${profile ?? null}::text)
         AND ${inScope(scope)}`;
    if (ids.length === 0) return [];
    return this.prisma.device.findMany({ where: { id: { in: ids.map((r) => r.id) } } });
  }

  /** A gateway's children (inside `scope` when given). */
  children(
    clientId: string,
    deviceId: string,
    scope?: Record<string, string>,
  ): Promise<{ deviceId: string }[]> {
    return this.prisma.$queryRaw<{ deviceId: string }[]>`
      SELECT device_id AS "deviceId" FROM device
       WHERE client_id = ${clientId}::uuid AND parent_device_id = ${deviceId} AND deleted_at IS NULL
         AND ${inScope(scope)}
       ORDER BY device_id`;
  }

  /** Whether a live device lies inside `scope` (by internal client id). */
  async isInScope(clientId: string, deviceId: string, scope: Record<string, string>): Promise<boolean> {
    const rows = await this.prisma.$queryRaw<{ found: boolean }[]>`
      SELECT EXISTS (SELECT 1 FROM device WHERE client_id = ${clientId}::uuid AND device_id = ${deviceId}
                        AND deleted_at IS NULL AND ${inScope(scope)}) AS found`;
    return rows[0]?.found ?? false;
  }

  history(clientId: string, deviceId: string, limit: number): Promise<DeviceChangeRow[]> {
    return this.prisma.deviceCapabilityChange.findMany({
      where: { clientId, deviceId },
      orderBy: { id: 'desc' },
      take: limit,
    });
  }

  /** Filtered, keyset-paginated device list (ordered by deviceId, then id). */
  list(filter: DeviceListFilter): Promise<DeviceListRow[]> {
    const where: Prisma.Sql[] = [Prisma.sql`deleted_at IS NULL`, inScope(filter.scope)];
    if (filter.clientExternalId !== undefined) {
      where.push(Prisma.sql`client_external_id = ${filter.clientExternalId}`);
    }
    if (Object.keys(filter.labels).length > 0) {
      where.push(Prisma.sql`effective_labels @> ${JSON.stringify(filter.labels)}::jsonb`);
    }
    if (filter.architecture) where.push(Prisma.sql`architectures @> ARRAY[${filter.architecture}]::text[]`);
    if (filter.minCores !== undefined) where.push(Prisma.sql`max_cores >= ${filter.minCores}`);
    if (filter.minMemoryBytes !== undefined) where.push(Prisma.sql`memory_bytes >= ${filter.minMemoryBytes}`);
    if (filter.minStorageBytes !== undefined) {
      where.push(Prisma.sql`storage_bytes >= ${filter.minStorageBytes}`);
    }
    if (filter.peripheral) where.push(Prisma.sql`peripheral_types @> ARRAY[${filter.peripheral}]::text[]`);
    if (filter.deploymentType) {
      where.push(Prisma.sql`deployment_types @> ARRAY[${filter.deploymentType}]::text[]`);
    }
    if (filter.parentDeviceId !== undefined) {
      where.push(Prisma.sql`parent_device_id = ${filter.parentDeviceId}`);
    }
    if (filter.topLevel) where.push(Prisma.sql`parent_device_id IS NULL`);
    if (filter.lastSeenAfter) where.push(Prisma.sql`last_reported_at >= ${filter.lastSeenAfter}`);
    if (filter.lastSeenBefore) where.push(Prisma.sql`last_reported_at < ${filter.lastSeenBefore}`);
    if (filter.after) {
      where.push(Prisma.sql`(device_id, id) > (${filter.after.deviceId}, ${filter.after.id}::uuid)`);
    }
    return this.prisma.$queryRaw<DeviceListRow[]>`
      SELECT id, client_id AS "clientId", client_external_id AS "clientExternalId", client_profile AS "clientProfile",
             device_id AS "deviceId", parent_device_id AS "parentDeviceId", depth, hosting, vendor,
             model_number AS "modelNumber", serial_number AS "serialNumber", architectures, max_cores AS "maxCores",
             cpus, memory_bytes AS "memoryBytes", memory_text AS "memoryText", storage_bytes AS "storageBytes",
             storage_text AS "storageText", peripheral_types AS "peripheralTypes", interface_types AS "interfaceTypes",
             runtimes, deployment_types AS "deploymentTypes", otel_collector AS "otelCollector", labels,
             effective_labels AS "effectiveLabels", extensions,
             capability_version AS "capabilityVersion", recomputed_version AS "recomputedVersion",
             first_reported_at AS "firstReportedAt", last_reported_at AS "lastReportedAt", changed_at AS "changedAt",
             ARRAY(SELECT o.key FROM device_operator_label o
                    WHERE o.client_id = device.client_id AND o.device_id = device.device_id) AS "operatorKeys"
        FROM device
       WHERE ${Prisma.join(where, ' AND ')}
       ORDER BY device_id, id
       LIMIT ${filter.limit}`;
  }
}

function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}
