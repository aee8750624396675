import { Injectable } from '@nestjs/common';
import { Prisma } from '../../../generated/prisma/client.js';
import { keysetAfter, keysetOrder } from '../../../infra/database/keyset.js';
import { PrismaService } from '../../../infra/database/prisma.service.js';
import type { DeploymentRow, TargetRow, TargetWrite, TargetWriteRow } from './deployment-rows.js';
type Db = PrismaService | Prisma.TransactionClient;

/**
 * Deployments visible to a principal limited to `scope`: those created within it (their stored
 * creating scope contains every pair of it). Without a scope: every deployment.
 */
function visibleIn(scope: Record<string, string> | undefined): Prisma.DeploymentWhereInput {
  if (scope === undefined) return {};
  return { AND: Object.entries(scope).map(([key, value]) => ({ scope: { path: [key], equals: value } })) };
}

/** The targets `t` (of deployment `d`) a client's manifest lists: placed, or kept while not placeable. */
const LISTED = Prisma.sql`
  t.digest IS NOT NULL AND d.deleted_at IS NULL
  AND (t.placement = 'placed' OR (t.placement = 'not-placeable' AND d.on_capability_loss = 'keep' AND t.in_manifest))`;

/** Every deployment_target column of `t` under its TargetRow name (for raw reads). */
const TARGET_COLUMNS = Prisma.sql`
  t.id, t.deployment_id AS "deploymentId", t.client_id AS "clientId", t.client_external_id AS "clientExternalId",
  t.device_id AS "deviceId", t.placement, t.reasons, t.profile_id AS "profileId", t.overrides,
  t.locked_immutable AS "lockedImmutable", t.digest, t.size_bytes AS "sizeBytes", t.cores,
  t.memory_bytes AS "memoryBytes", t.storage_bytes AS "storageBytes", t.in_manifest AS "inManifest",
  t.digest_since_version AS "digestSinceVersion", t.rendered_revision AS "renderedRevision",
  t.manifest_version AS "manifestVersion", t.created_at AS "createdAt", t.updated_at AS "updatedAt"`;

/** Operator deployments and their per-device targets. */
@Injectable()
export class DeploymentRepository {
  constructor(private readonly prisma: PrismaService) {}

  transaction<T>(fn: (tx: Prisma.TransactionClient) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(fn);
  }

  create(data: Prisma.DeploymentUncheckedCreateInput, db: Db = this.prisma): Promise<DeploymentRow> {
    // A direct deployment's selector is SQL NULL, never JSON null (which made every device a candidate).
    const selector = data.selector === null || data.selector === undefined ? Prisma.DbNull : data.selector;
    return db.deployment.create({ data: { ...data, selector } });
  }

  /** The current revision, also of a deleted deployment (undefined: no such row). */
  async revisionOf(id: string): Promise<number | undefined> {
    const row = await this.prisma.deployment.findUnique({ where: { id }, select: { revision: true } });
    return row?.revision;
  }

  /** Records that a recompute-deployment ran for `revision` (never moves backwards). */
  async markRecomputed(id: string, revision: number): Promise<void> {
    await this.prisma.deployment.updateMany({
      where: { id, recomputedRevision: { lt: revision } },
      data: { recomputedRevision: revision },
    });
  }

  /** Asks the sweeper for a full recomputation (an enqueue failed). */
  async markRecomputePending(id: string, db: Db = this.prisma): Promise<void> {
    await db.deployment.updateMany({ where: { id }, data: { recomputedRevision: 0 } });
  }

  /** Deployments (deleted ones too) whose last change was not recomputed, changed before `before`. */
  async pendingRecompute(before: Date, take: number): Promise<string[]> {
    const rows = await this.prisma.$queryRaw<{ id: string }[]>`
      SELECT id::text AS id FROM deployment
      WHERE recomputed_revision < revision AND updated_at < ${before}
      ORDER BY updated_at LIMIT ${take}`;
    return rows.map((row) => row.id);
  }

  findById(id: string, db: Db = this.prisma): Promise<DeploymentRow | null> {
    return db.deployment.findFirst({ where: { id, deletedAt: null } });
  }

  /** A live deployment, only when it is visible within `scope` (see `visibleIn`). */
  findVisible(id: string, scope: Record<string, string> | undefined): Promise<DeploymentRow | null> {
    return this.prisma.deployment.findFirst({ where: { id, deletedAt: null, ...visibleIn(scope) } });
  }

  update(
    id: string,
    data: Prisma.DeploymentUncheckedUpdateInput,
    db: Db = this.prisma,
  ): Promise<DeploymentRow> {
    return db.deployment.update({ where: { id }, data });
  }

  /** Live deployments in creation order; after the key `[createdAt, id]` when given. */
  list(filter: {
    applicationId?: string;
    after?: readonly [Date, string];
    take: number;
    scope?: Record<string, string>;
  }): Promise<DeploymentRow[]> {
    const sort = [
      { field: 'createdAt', dir: 'asc' },
      { field: 'id', dir: 'asc' },
    ] as const;
    return this.prisma.deployment.findMany({
      where: {
        deletedAt: null,
        applicationId: filter.applicationId,
        AND: [
          visibleIn(filter.scope),
          filter.after ? keysetAfter(sort.map((c, i) => ({ ...c, value: filter.after![i] }))) : {},
        ],
      },
      orderBy: keysetOrder(sort),
      take: filter.take,
    });
  }

  /**
   * Live deployments that use a package version now, or may render it again: a revision from the
   * deployment's last completed one on (targets a rollout has not reached, late joiners), or the
   * revision its newest rollout would roll back to.
   */
  async countUsingPackage(packageId: string): Promise<number> {
    const rows = await this.prisma.$queryRaw<{ n: bigint }[]>`
      SELECT count(*) AS n FROM deployment d
       WHERE d.deleted_at IS NULL
         AND (d.package_id = ${packageId}::uuid OR EXISTS (
               SELECT 1 FROM deployment_revision r
                WHERE r.deployment_id = d.id AND r.package_id = ${packageId}::uuid
                  AND r.revision >= coalesce(least(d.stable_revision, (
                        SELECT o.from_revision FROM deployment_rollout o WHERE o.deployment_id = d.id
                         ORDER BY o.created_at DESC, o.id DESC LIMIT 1)), 0)))`;
    return Number(rows[0]?.n ?? 0);
  }

  /** Active deployments that may concern a device: direct ones on it, and every selector deployment. */
  candidatesForDevice(clientId: string, deviceId: string, db: Db = this.prisma): Promise<DeploymentRow[]> {
    return db.$queryRaw<DeploymentRow[]>`
      SELECT id, application_id AS "applicationId", package_id AS "packageId", profile_id AS "profileId", parameters,
             target_client_id AS "targetClientId", target_device_id AS "targetDeviceId", selector,
             on_capability_loss AS "onCapabilityLoss", revision, scope, recomputed_revision AS "recomputedRevision",
             rollout_policy AS "rolloutPolicy", stable_revision AS "stableRevision", rollout_id::text AS "rolloutId",
             created_at AS "createdAt",
             updated_at AS "updatedAt", deleted_at AS "deletedAt"
        FROM deployment
       WHERE deleted_at IS NULL
         AND ((target_client_id = ${clientId}::uuid AND target_device_id = ${deviceId}) OR (selector IS NOT NULL AND selector <> 'null'::jsonb))`;
  }

  /** One page of a deployment's targets in (client, device) order, after the `after` key. */
  targetsPage(
    deploymentId: string,
    filter: { placement?: string; after?: { clientId: string; deviceId: string }; limit: number },
  ): Promise<TargetRow[]> {
    const after = filter.after;
    return this.prisma.deploymentTarget.findMany({
      where: {
        deploymentId,
        ...(filter.placement ? { placement: filter.placement } : {}),
        ...(after
          ? {
              OR: [
                { clientId: { gt: after.clientId } },
                { clientId: after.clientId, deviceId: { gt: after.deviceId } },
              ],
            }
          : {}),
      },
      orderBy: [{ clientId: 'asc' }, { deviceId: 'asc' }],
      take: filter.limit,
    });
  }

  /** Targets per placement of each of these deployments. */
  async targetCounts(deploymentIds: string[]): Promise<Map<string, Record<string, number>>> {
    const rows = await this.prisma.deploymentTarget.groupBy({
      by: ['deploymentId', 'placement'],
      where: { deploymentId: { in: deploymentIds } },
      _count: { _all: true },
    });
    const out = new Map<string, Record<string, number>>(deploymentIds.map((id) => [id, {}]));
    for (const r of rows) out.get(r.deploymentId)![r.placement] = r._count._all;
    return out;
  }

  targetsOfDeployment(deploymentId: string): Promise<TargetRow[]> {
    return this.prisma.deploymentTarget.findMany({
      where: { deploymentId },
      orderBy: [{ clientId: 'asc' }, { deviceId: 'asc' }],
    });
  }

  /** Every target on a device, each with whether its deployment is still active. */
  targetsOfDevice(
    clientId: string,
    deviceId: string,
    db: Db = this.prisma,
  ): Promise<(TargetRow & { deploymentActive: boolean })[]> {
    return db.$queryRaw<(TargetRow & { deploymentActive: boolean })[]>`
      SELECT ${TARGET_COLUMNS}, (d.deleted_at IS NULL) AS "deploymentActive"
        FROM deployment_target t JOIN deployment d ON d.id = t.deployment_id
       WHERE t.client_id = ${clientId}::uuid AND t.device_id = ${deviceId}`;
  }

  findTargetById(id: string): Promise<TargetRow | null> {
    return this.prisma.deploymentTarget.findUnique({ where: { id } });
  }

  /** Live targets of live deployments (only of deployments visible within `scope`, when given). */
  async liveTargets(scope?: Record<string, string>): Promise<(TargetRow & { applicationId: string })[]> {
    const deployments = await this.prisma.deployment.findMany({
      where: { deletedAt: null, ...visibleIn(scope) },
      select: { id: true, applicationId: true },
    });
    const rows = await this.prisma.deploymentTarget.findMany({
      where: {
        placement: { not: 'removed' },
        ...(scope !== undefined ? { deploymentId: { in: deployments.map((d) => d.id) } } : {}),
      },
    });
    const apps = new Map(deployments.map((d) => [d.id, d.applicationId]));
    return rows
      .filter((r) => apps.has(r.deploymentId))
      .map((r) => ({ ...r, applicationId: apps.get(r.deploymentId)! }));
  }

  findTarget(
    deploymentId: string,
    clientId: string,
    deviceId: string,
    db: Db = this.prisma,
  ): Promise<TargetRow | null> {
    return db.deploymentTarget.findUnique({
      where: { deploymentId_clientId_deviceId: { deploymentId, clientId, deviceId } },
    });
  }

  /** Targets of a deployment not in `keep` (for selector fan-out: devices that no longer match). */
  async targetKeys(deploymentId: string): Promise<{ clientId: string; deviceId: string }[]> {
    return this.prisma.deploymentTarget.findMany({
      where: { deploymentId, placement: { not: 'removed' } },
      select: { clientId: true, deviceId: true },
    });
  }

  /** Creates or updates a target's placement; returns the row (the id is assigned on first creation only). */
  upsertTarget(
    key: { deploymentId: string; clientId: string; deviceId: string },
    clientExternalId: string,
    write: TargetWrite,
    db: Db = this.prisma,
  ): Promise<TargetRow> {
    const data = {
      placement: write.placement,
      reasons: write.reasons,
      profileId: write.profileId,
      digest: write.digest,
      sizeBytes: write.sizeBytes,
      cores: write.cores,
      memoryBytes: write.memoryBytes,
      storageBytes: write.storageBytes,
      renderedRevision: write.renderedRevision,
      ...(write.lockedImmutable !== undefined
        ? { lockedImmutable: write.lockedImmutable as Prisma.InputJsonValue }
        : {}),
    };
    return db.deploymentTarget.upsert({
      where: { deploymentId_clientId_deviceId: key },
      create: { ...key, clientExternalId, ...data },
      update: data,
    });
  }

  setOverrides(id: string, overrides: unknown, db: Db = this.prisma): Promise<TargetRow> {
    return db.deploymentTarget.update({
      where: { id },
      data: { overrides: overrides as Prisma.InputJsonValue },
    });
  }

  /** manifestEntries for many clients at once, grouped by client. */
  async manifestEntriesOf(
    clientIds: string[],
    db: Db = this.prisma,
  ): Promise<Map<string, { id: string; digest: string; sizeBytes: number }[]>> {
    const rows = await db.$queryRaw<{ clientId: string; id: string; digest: string; sizeBytes: number }[]>`
      SELECT t.client_id AS "clientId", t.id, t.digest, t.size_bytes AS "sizeBytes"
        FROM deployment_target t JOIN deployment d ON d.id = t.deployment_id
       WHERE t.client_id = ANY(${clientIds}::uuid[]) AND ${LISTED}
       ORDER BY t.client_id, t.id`;
    const out = new Map<string, { id: string; digest: string; sizeBytes: number }[]>(
      clientIds.map((id) => [id, []]),
    );
    for (const r of rows) out.get(r.clientId)?.push({ id: r.id, digest: r.digest, sizeBytes: r.sizeBytes });
    return out;
  }

  /**
   * Records which targets the new manifests of `clientIds` list (`listed`, with the manifest version
   * and whether the digest is new in it); every other target of those clients is marked as not listed.
   */
  async markListed(
    tx: Prisma.TransactionClient,
    clientIds: string[],
    listed: { id: string; version: bigint; changed: boolean }[],
  ): Promise<void> {
    if (clientIds.length === 0) return;
    await tx.$executeRaw`
      UPDATE deployment_target t
         SET in_manifest = (v.id IS NOT NULL),
             manifest_version = coalesce(v.version, t.manifest_version),
             digest_since_version = CASE WHEN v.changed OR (v.id IS NOT NULL AND t.digest_since_version IS NULL)
                                         THEN v.version ELSE t.digest_since_version END
        FROM deployment_target t2
        LEFT JOIN unnest(${listed.map((r) => r.id)}::uuid[], ${listed.map((r) => r.version)}::bigint[],
                         ${listed.map((r) => r.changed)}::boolean[]) AS v(id, version, changed) ON v.id = t2.id
       WHERE t.id = t2.id AND t2.client_id = ANY(${clientIds}::uuid[])`;
  }

  /** The existing targets of a deployment on these devices. */
  async targetsFor(
    deploymentId: string,
    keys: { clientId: string; deviceId: string }[],
    db: Db = this.prisma,
  ): Promise<TargetRow[]> {
    if (keys.length === 0) return [];
    return db.$queryRaw<TargetRow[]>`
      SELECT ${TARGET_COLUMNS}
        FROM deployment_target t
        JOIN unnest(${keys.map((k) => k.clientId)}::uuid[], ${keys.map((k) => k.deviceId)}::text[]) AS k(client_id, device_id)
          ON t.client_id = k.client_id AND t.device_id = k.device_id
       WHERE t.deployment_id = ${deploymentId}::uuid`;
  }

  /** Capacity placed on these devices by other deployments (co-location), keyed `clientId|deviceId`. */
  async loadsOn(
    keys: { clientId: string; deviceId: string }[],
    exceptDeployment: string,
  ): Promise<Map<string, { cores: number; memoryBytes: bigint; storageBytes: bigint }>> {
    if (keys.length === 0) return new Map();
    const rows = await this.prisma.$queryRaw<
      { clientId: string; deviceId: string; cores: number; memory: bigint; storage: bigint }[]
    >`
      SELECT t.client_id AS "clientId", t.device_id AS "deviceId", sum(t.cores)::float8 AS cores,
             sum(t.memory_bytes)::bigint AS memory, sum(t.storage_bytes)::bigint AS storage
        FROM deployment_target t
        JOIN deployment d ON d.id = t.deployment_id AND d.deleted_at IS NULL
        JOIN unnest(${keys.map((k) => k.clientId)}::uuid[], ${keys.map((k) => k.deviceId)}::text[]) AS k(client_id, device_id)
          ON t.client_id = k.client_id AND t.device_id = k.device_id
       WHERE t.placement = 'placed' AND t.deployment_id <> ${exceptDeployment}::uuid
       GROUP BY t.client_id, t.device_id`;
    return new Map(
      rows.map((r) => [
        `${r.clientId}|${r.deviceId}`,
        { cores: r.cores, memoryBytes: r.memory, storageBytes: r.storage },
      ]),
    );
  }

  /** Creates `pending-recompute` targets that do not exist yet (the first insert wins the id). */
  async insertPending(
    deploymentId: string,
    keys: { clientId: string; deviceId: string; clientExternalId: string }[],
    db: Db = this.prisma,
  ): Promise<void> {
    if (keys.length === 0) return;
    await db.$executeRaw`
      INSERT INTO deployment_target (id, deployment_id, client_id, client_external_id, device_id, placement, created_at, updated_at)
      SELECT gen_random_uuid(), ${deploymentId}::uuid, v.client_id, v.client_external_id, v.device_id, 'pending-recompute', now(), now()
        FROM unnest(${keys.map((k) => k.clientId)}::uuid[], ${keys.map((k) => k.clientExternalId)}::text[],
                    ${keys.map((k) => k.deviceId)}::text[]) AS v(client_id, client_external_id, device_id)
      ON CONFLICT (deployment_id, client_id, device_id) DO NOTHING`;
  }

  /** Writes many targets in one statement; id, overrides and a fixed lockedImmutable are never overwritten. */
  async upsertTargets(rows: TargetWriteRow[], db: Db = this.prisma): Promise<void> {
    if (rows.length === 0) return;
    const col = <T>(f: (r: (typeof rows)[number]) => T) => rows.map(f);
    await db.$executeRaw`
      INSERT INTO deployment_target (id, deployment_id, client_id, client_external_id, device_id, placement, reasons, profile_id,
                                     digest, size_bytes, cores, memory_bytes, storage_bytes, rendered_revision, locked_immutable,
                                     created_at, updated_at)
      SELECT v.id, v.deployment_id, v.client_id, v.client_external_id, v.device_id, v.placement, v.reasons::jsonb, v.profile_id,
             v.digest, v.size_bytes, v.cores, v.memory_bytes, v.storage_bytes, v.rendered_revision, v.locked_immutable::jsonb,
             now(), now()
        FROM unnest(${col((r) => r.id)}::uuid[], ${col((r) => r.deploymentId)}::uuid[], ${col((r) => r.clientId)}::uuid[],
                    ${col((r) => r.clientExternalId)}::text[], ${col((r) => r.deviceId)}::text[], ${col((r) => r.placement)}::text[],
                    ${col((r) => JSON.stringify(r.reasons))}::text[], ${col((r) => r.profileId)}::text[], ${col((r) => r.digest)}::text[],
                    ${col((r) => r.sizeBytes)}::int[], ${col((r) => r.cores)}::float8[], ${col((r) => r.memoryBytes)}::bigint[],
                    ${col((r) => r.storageBytes)}::bigint[], ${col((r) => r.renderedRevision)}::int[],
                    ${col((r) => (r.lockedImmutable === undefined ? null : JSON.stringify(r.lockedImmutable)))}::text[])
          AS v(id, deployment_id, client_id, client_external_id, device_id, placement, reasons, profile_id, digest, size_bytes,
               cores, memory_bytes, storage_bytes, rendered_revision, locked_immutable)
      ON CONFLICT (deployment_id, client_id, device_id) DO UPDATE
         SET placement = excluded.placement, reasons = excluded.reasons, profile_id = excluded.profile_id,
             -- a new digest is in no manifest yet: the next manifest that lists it sets the version again
             -- (so an earlier report does not count as installing it, e.g. for a rollout gate)
             digest_since_version = CASE WHEN deployment_target.digest IS DISTINCT FROM excluded.digest
                                         THEN NULL ELSE deployment_target.digest_since_version END,
             digest = excluded.digest, size_bytes = excluded.size_bytes, cores = excluded.cores,
             memory_bytes = excluded.memory_bytes, storage_bytes = excluded.storage_bytes,
             rendered_revision = excluded.rendered_revision,
             locked_immutable = coalesce(deployment_target.locked_immutable, excluded.locked_immutable),
             updated_at = now()`;
  }

  /** Load already placed on a device by other targets (co-location). */
  async loadOnDevice(
    clientId: string,
    deviceId: string,
    exceptTargetOf: string,
  ): Promise<{ cores: number; memoryBytes: bigint; storageBytes: bigint }> {
    const rows = await this.prisma.$queryRaw<
      { cores: number | null; memory: bigint | null; storage: bigint | null }[]
    >`
      SELECT sum(t.cores)::float8 AS cores, sum(t.memory_bytes)::bigint AS memory, sum(t.storage_bytes)::bigint AS storage
        FROM deployment_target t JOIN deployment d ON d.id = t.deployment_id
       WHERE t.client_id = ${clientId}::uuid AND t.device_id = ${deviceId} AND t.placement = 'placed'
         AND t.deployment_id <> ${exceptTargetOf}::uuid AND d.deleted_at IS NULL`;
    const row = rows[0];
    return { cores: row?.cores ?? 0, memoryBytes: row?.memory ?? 0n, storageBytes: row?.storage ?? 0n };
  }

  markRemoved(deploymentId: string, db: Db = this.prisma): Promise<unknown> {
    return db.deploymentTarget.updateMany({
      where: { deploymentId },
      data: { placement: 'removed', reasons: ['the deployment was deleted'] },
    });
  }

  clientsOfDeployment(deploymentId: string): Promise<{ clientId: string }[]> {
    return this.prisma.deploymentTarget.findMany({
      where: { deploymentId },
      distinct: ['clientId'],
      select: { clientId: true },
    });
  }

  deleteTargetsOfRemovedDevice(clientId: string, deviceId: string): Promise<unknown> {
    return this.prisma.deploymentTarget.updateMany({
      where: { clientId, deviceId },
      data: { placement: 'removed', reasons: ['the device was deleted'], digest: null },
    });
  }
}
