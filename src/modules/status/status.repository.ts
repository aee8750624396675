import { Injectable } from '@nestjs/common';
import { Prisma } from '../../generated/prisma/client.js';
import type { DeploymentStatus, DeploymentStatusReport } from '../../generated/prisma/client.js';
import { keysetAfter, keysetOrder } from '../../infra/database/keyset.js';
import { PrismaService } from '../../infra/database/prisma.service.js';

export type StatusRow = DeploymentStatus;
export type StatusReportRow = DeploymentStatusReport;

export interface IngestRow {
  clientId: string;
  deploymentId: string;
  deviceId: string;
  known: boolean;
  adoptedManifestVersion: bigint | null;
  state: string;
  error: unknown;
  components: unknown;
  inconsistent: boolean;
  receivedAt: Date;
}

/** Current status per (client, deployment, device) and the history of reports. */
/** A page of latest statuses: after the key `[lastReportedAt, clientId, deploymentId, deviceId]`. */
export interface StatusPage {
  after?: readonly [Date, string, string, string];
  take: number;
}

@Injectable()
export class StatusRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * One transaction: the report goes to history; it becomes the current state unless an older
   * adoptedManifestVersion than the stored one (D12; equal versions: last received wins). Safe under
   * concurrency and across instances: the upsert is one statement, and only one report can insert.
   */
  async ingest(row: IngestRow, historyLimit: number): Promise<{ first: boolean; applied: boolean }> {
    return this.prisma.$transaction(async (tx) => {
      const errorJson = row.error === undefined || row.error === null ? null : JSON.stringify(row.error);
      const result = await tx.$queryRaw<{ inserted: boolean; reports: number }[]>`
        INSERT INTO deployment_status AS s (client_id, deployment_id, device_id, known, adopted_manifest_version, state, error,
                                            components, inconsistent, first_reported_at, last_reported_at)
        VALUES (${row.clientId}::uuid, ${row.deploymentId}, ${row.deviceId}, ${row.known}, ${row.adoptedManifestVersion},
                ${row.state}, ${errorJson}::jsonb, ${JSON.stringify(row.components)}::jsonb, ${row.inconsistent},
                ${row.receivedAt}, ${row.receivedAt})
        ON CONFLICT (client_id, deployment_id, device_id) DO UPDATE
           SET adopted_manifest_version = excluded.adopted_manifest_version, state = excluded.state,
               error = excluded.error, components = excluded.components, inconsistent = excluded.inconsistent,
               known = excluded.known, reports = s.reports + 1, last_reported_at = excluded.last_reported_at
         WHERE excluded.adopted_manifest_version IS NULL OR s.adopted_manifest_version IS NULL
            OR excluded.adopted_manifest_version >= s.adopted_manifest_version
        RETURNING (xmax = 0) AS inserted, s.reports`;
      const applied = result.length > 0;
      const first = applied && result[0].inserted;
      let reports = applied ? result[0].reports : 0;
      if (!applied) {
        const counted = await tx.$queryRaw<{ reports: number }[]>`
          UPDATE deployment_status SET reports = reports + 1
           WHERE client_id = ${row.clientId}::uuid AND deployment_id = ${row.deploymentId} AND device_id = ${row.deviceId}
          RETURNING reports`;
        reports = counted[0]?.reports ?? 0;
      }
      await tx.deploymentStatusReport.create({
        data: {
          clientId: row.clientId,
          deploymentId: row.deploymentId,
          deviceId: row.deviceId,
          adoptedManifestVersion: row.adoptedManifestVersion,
          state: row.state,
          error: row.error ?? Prisma.DbNull,
          components: row.components as Prisma.InputJsonValue,
          inconsistent: row.inconsistent,
          applied,
          receivedAt: row.receivedAt,
        },
      });
      // the history holds at most as many entries as reports were received: trim only past the limit
      if (reports > historyLimit) {
        await tx.$executeRaw`
        DELETE FROM deployment_status_report
         WHERE client_id = ${row.clientId}::uuid AND deployment_id = ${row.deploymentId} AND device_id = ${row.deviceId}
           AND id <= (SELECT id FROM deployment_status_report
                       WHERE client_id = ${row.clientId}::uuid AND deployment_id = ${row.deploymentId} AND device_id = ${row.deviceId}
                       ORDER BY id DESC OFFSET ${historyLimit} LIMIT 1)`;
      }
      return { first, applied };
    });
  }

  forTargets(keys: { clientId: string; deploymentId: string; deviceId: string }[]): Promise<StatusRow[]> {
    if (keys.length === 0) return Promise.resolve([]);
    return this.prisma.deploymentStatus.findMany({
      where: {
        OR: keys.map((k) => ({ clientId: k.clientId, deploymentId: k.deploymentId, deviceId: k.deviceId })),
      },
    });
  }

  history(
    clientId: string | undefined,
    deploymentIds: string[],
    deviceId: string | undefined,
    page: { after?: bigint; take: number },
  ): Promise<StatusReportRow[]> {
    return this.prisma.deploymentStatusReport.findMany({
      where: {
        clientId,
        deploymentId: { in: deploymentIds },
        deviceId,
        ...(page.after !== undefined ? { id: { lt: page.after } } : {}),
      },
      orderBy: { id: 'desc' },
      take: page.take,
    });
  }

  orphans(page: StatusPage): Promise<StatusRow[]> {
    return this.statusPage({ known: false }, page);
  }

  failing(page: StatusPage): Promise<StatusRow[]> {
    return this.statusPage({ state: 'failed', known: true }, page);
  }

  /** Latest statuses, most recently reported first (ties in key order), after `page.after`. */
  private statusPage(where: Record<string, unknown>, page: StatusPage): Promise<StatusRow[]> {
    const sort = [
      { field: 'lastReportedAt', dir: 'desc' },
      { field: 'clientId', dir: 'asc' },
      { field: 'deploymentId', dir: 'asc' },
      { field: 'deviceId', dir: 'asc' },
    ] as const;
    return this.prisma.deploymentStatus.findMany({
      where: {
        ...where,
        ...(page.after ? keysetAfter(sort.map((c, i) => ({ ...c, value: page.after![i] }))) : {}),
      },
      orderBy: keysetOrder(sort),
      take: page.take,
    });
  }

  all(): Promise<StatusRow[]> {
    return this.prisma.deploymentStatus.findMany({ where: { known: true } });
  }
}
