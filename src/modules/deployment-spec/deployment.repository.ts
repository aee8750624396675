import { Injectable } from '@nestjs/common';
import { Prisma } from '../../generated/prisma/client.js';
import type { Deployment, DeploymentTarget } from '../../generated/prisma/client.js';
import { PrismaService } from '../../infra/database/prisma.service.js';

export type DeploymentRow = Deployment;
export type TargetRow = DeploymentTarget;
type Db = PrismaService | Prisma.TransactionClient;

export interface TargetWrite {
  placement: string;
  reasons: string[];
  profileId: string | null;
  digest: string | null;
  sizeBytes: number | null;
  cores: number;
  memoryBytes: bigint;
  storageBytes: bigint;
  renderedRevision: number | null;
  lockedImmutable?: unknown;
}

/** Operator deployments and their per-device targets. */
@Injectable()
export class DeploymentRepository {
  constructor(private readonly prisma: PrismaService) {}

  transaction<T>(fn: (tx: Prisma.TransactionClient) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(fn);
  }

  create(data: Prisma.DeploymentUncheckedCreateInput): Promise<DeploymentRow> {
    return this.prisma.deployment.create({ data });
  }

  findById(id: string, db: Db = this.prisma): Promise<DeploymentRow | null> {
    return db.deployment.findFirst({ where: { id, deletedAt: null } });
  }

  update(
    id: string,
    data: Prisma.DeploymentUncheckedUpdateInput,
    db: Db = this.prisma,
  ): Promise<DeploymentRow> {
    return db.deployment.update({ where: { id }, data });
  }

  list(filter: { applicationId?: string }): Promise<DeploymentRow[]> {
    return this.prisma.deployment.findMany({
      where: { deletedAt: null, applicationId: filter.applicationId },
      orderBy: { createdAt: 'asc' },
    });
  }

  countUsingPackage(packageId: string): Promise<number> {
    return this.prisma.deployment.count({ where: { packageId, deletedAt: null } });
  }

  /** Active deployments that may concern a device: direct ones on it, and every selector deployment. */
  async candidatesForDevice(clientId: string, deviceId: string): Promise<DeploymentRow[]> {
    const ids = await this.prisma.$queryRaw<{ id: string }[]>`
      SELECT id FROM deployment
       WHERE deleted_at IS NULL
         AND ((target_client_id = ${clientId}::uuid AND target_device_id = ${deviceId}) OR selector IS NOT NULL)`;
    return this.prisma.deployment.findMany({ where: { id: { in: ids.map((r) => r.id) } } });
  }

  targetsOfDeployment(deploymentId: string): Promise<TargetRow[]> {
    return this.prisma.deploymentTarget.findMany({
      where: { deploymentId },
      orderBy: [{ clientId: 'asc' }, { deviceId: 'asc' }],
    });
  }

  targetsOfDevice(clientId: string, deviceId: string): Promise<TargetRow[]> {
    return this.prisma.deploymentTarget.findMany({ where: { clientId, deviceId } });
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

  setOverrides(id: string, overrides: unknown): Promise<TargetRow> {
    return this.prisma.deploymentTarget.update({
      where: { id },
      data: { overrides: overrides as Prisma.InputJsonValue },
    });
  }

  /** Placed targets of a client with a rendering: what its manifest lists. */
  manifestEntries(
    clientId: string,
    db: Db = this.prisma,
  ): Promise<{ id: string; digest: string; sizeBytes: number }[]> {
    return db.$queryRaw<{ id: string; digest: string; sizeBytes: number }[]>`
      SELECT t.id, t.digest, t.size_bytes AS "sizeBytes"
        FROM deployment_target t JOIN deployment d ON d.id = t.deployment_id
       WHERE t.client_id = ${clientId}::uuid AND t.digest IS NOT NULL AND d.deleted_at IS NULL
         AND (t.placement = 'placed'
              OR (t.placement = 'not-placeable' AND d.on_capability_loss = 'keep' AND t.in_manifest))
       ORDER BY t.id`;
  }

  markInManifest(clientId: string, ids: string[], version: bigint, db: Db = this.prisma): Promise<unknown> {
    return db.$executeRaw`
      UPDATE deployment_target
         SET in_manifest = (id = ANY(${ids}::uuid[])),
             manifest_version = CASE WHEN id = ANY(${ids}::uuid[]) THEN ${version} ELSE manifest_version END
       WHERE client_id = ${clientId}::uuid`;
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
