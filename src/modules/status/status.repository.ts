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
  /** The client's Idempotency-Key for this report, if it sent one. */
  idempotencyKey?: string;
}

export interface IngestOutcome {
  /** It created the current status of its target (the first report stored for it). */
  first: boolean;
  /** It became the current status (not older than the stored adoptedManifestVersion). */
  applied: boolean;
  /** Its idempotency key was stored already: nothing was written for it. */
  replay: boolean;
  /** A replay of the report at this index of the same batch (its `applied` is known after the write). */
  sameAs?: number;
}

interface KeyedCount {
  client_id: string;
  deployment_id: string;
  device_id: string;
  inserted: boolean;
  reports: number;
}

const targetKey = (r: { clientId: string; deploymentId: string; deviceId: string } | KeyedCount): string =>
  'client_id' in r
    ? `${r.client_id}\0${r.deployment_id}\0${r.device_id}`
    : `${r.clientId}\0${r.deploymentId}\0${r.deviceId}`;

const jsonOrNull = (value: unknown): string | null =>
  value === undefined || value === null ? null : JSON.stringify(value);

/** A page of latest statuses: after the key `[lastReportedAt, clientId, deploymentId, deviceId]`. */
export interface StatusPage {
  after?: readonly [Date, string, string, string];
  take: number;
  /**
   * A principal's label scope: only statuses of devices inside it (and, for known targets, of
   * deployments created within it).
   */
  scope?: Record<string, string>;
}

/** Current status per (client, deployment, device) and the history of reports. */
@Injectable()
export class StatusRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Writes many reports in one transaction (group commit, issue 15), with the same result as writing
   * them one after the other in the given order: each goes to history; it becomes the current state
   * unless an older adoptedManifestVersion than the stored one (D12; equal versions: last received
   * wins); the history is trimmed to `historyLimit` per target. A report whose `idempotencyKey` is
   * already stored for its client (a resend) changes nothing and is answered as `replay`. `then`
   * runs last inside the transaction (the caller appends its events there); its result is returned
   * with the outcomes once the transaction has committed. Safe under concurrency and across
   * instances: every upsert is one statement, rows are locked in key order, only one report inserts.
   */
  async ingestBatch<T>(
    rows: readonly IngestRow[],
    historyLimit: number,
    then: (tx: Prisma.TransactionClient, outcomes: IngestOutcome[]) => Promise<T>,
  ): Promise<{ outcomes: IngestOutcome[]; result: T }> {
    return this.prisma.$transaction(async (tx) => {
      const outcomes: IngestOutcome[] = rows.map(() => ({ first: false, applied: false, replay: false }));
      const fresh = await this.withoutReplays(tx, rows, outcomes);
      // rounds: the n-th report of each target in round n, so one statement never touches a row twice
      const rounds: number[][] = [];
      const seen = new Map<string, number>();
      const reportsOf = new Map<string, { row: IngestRow; reports: number }>();
      for (const i of fresh) {
        const key = targetKey(rows[i]);
        const n = seen.get(key) ?? 0;
        seen.set(key, n + 1);
        (rounds[n] ??= []).push(i);
      }
      for (const round of rounds) {
        const list = round.map((i) => rows[i]);
        // one statement: the upsert, and the history rows (applied = the upsert took the report)
        const upserted = await tx.$queryRaw<KeyedCount[]>`
          WITH r AS (
            SELECT * FROM unnest(${list.map((r) => r.clientId)}::uuid[], ${list.map((r) => r.deploymentId)}::text[],
                                 ${list.map((r) => r.deviceId)}::text[], ${list.map((r) => r.known)}::boolean[],
                                 ${list.map((r) => r.adoptedManifestVersion?.toString() ?? null)}::bigint[],
                                 ${list.map((r) => r.state)}::text[], ${list.map((r) => jsonOrNull(r.error))}::jsonb[],
                                 ${list.map((r) => JSON.stringify(r.components))}::jsonb[],
                                 ${list.map((r) => r.inconsistent)}::boolean[],
                                 ${list.map((r) => r.receivedAt.toISOString())}::timestamptz[],
                                 ${list.map((r) => r.idempotencyKey ?? null)}::text[])
                   WITH ORDINALITY AS r(client_id, deployment_id, device_id, known, version, state, error, components,
                                        inconsistent, received_at, idempotency_key, ord)
          ), up AS (
            INSERT INTO deployment_status AS s (client_id, deployment_id, device_id, known, adopted_manifest_version,
                                                state, error, components, inconsistent, first_reported_at,
                                                last_reported_at)
            SELECT r.client_id, r.deployment_id, r.device_id, r.known, r.version, r.state, r.error, r.components,
                   r.inconsistent, r.received_at, r.received_at
              FROM r ORDER BY r.client_id, r.deployment_id, r.device_id
            ON CONFLICT (client_id, deployment_id, device_id) DO UPDATE
               SET adopted_manifest_version = excluded.adopted_manifest_version, state = excluded.state,
                   error = excluded.error, components = excluded.components, inconsistent = excluded.inconsistent,
                   known = excluded.known, reports = s.reports + 1, last_reported_at = excluded.last_reported_at
             WHERE excluded.adopted_manifest_version IS NULL OR s.adopted_manifest_version IS NULL
                OR excluded.adopted_manifest_version >= s.adopted_manifest_version
            RETURNING s.client_id, s.deployment_id, s.device_id, (xmax = 0) AS inserted, s.reports
          ), history AS (
            INSERT INTO deployment_status_report (client_id, deployment_id, device_id, adopted_manifest_version, state,
                                                  error, components, inconsistent, applied, received_at, idempotency_key)
            SELECT r.client_id, r.deployment_id, r.device_id, r.version, r.state, r.error, r.components, r.inconsistent,
                   up.client_id IS NOT NULL, r.received_at, r.idempotency_key
              FROM r LEFT JOIN up ON up.client_id = r.client_id AND up.deployment_id = r.deployment_id
                                 AND up.device_id = r.device_id
             ORDER BY r.ord
          )
          SELECT client_id::text AS client_id, deployment_id, device_id, inserted, reports FROM up`;
        const byKey = new Map(upserted.map((u) => [targetKey(u), u]));
        const stale = round.filter((i) => !byKey.has(targetKey(rows[i])));
        for (const i of round) {
          const u = byKey.get(targetKey(rows[i]));
          if (!u) continue;
          outcomes[i] = { first: u.inserted, applied: true, replay: false };
          reportsOf.set(targetKey(rows[i]), { row: rows[i], reports: u.reports });
        }
        if (stale.length > 0) {
          // an older version than the stored one: history only, but it still counts as received
          const counted = await tx.$queryRaw<KeyedCount[]>`
            UPDATE deployment_status AS s SET reports = s.reports + 1
              FROM unnest(${stale.map((i) => rows[i].clientId)}::uuid[], ${stale.map((i) => rows[i].deploymentId)}::text[],
                          ${stale.map((i) => rows[i].deviceId)}::text[]) AS k(client_id, deployment_id, device_id)
             WHERE s.client_id = k.client_id AND s.deployment_id = k.deployment_id AND s.device_id = k.device_id
            RETURNING s.client_id::text AS client_id, s.deployment_id, s.device_id, false AS inserted, s.reports`;
          const staleByKey = new Map(stale.map((i) => [targetKey(rows[i]), rows[i]]));
          for (const c of counted) {
            const row = staleByKey.get(targetKey(c));
            if (row) reportsOf.set(targetKey(c), { row, reports: c.reports });
          }
        }
      }
      // the history holds at most as many entries as reports were received: trim only past the limit
      for (const outcome of outcomes) {
        if (outcome.sameAs !== undefined) outcome.applied = outcomes[outcome.sameAs].applied;
      }
      const over = [...reportsOf.values()].filter((t) => t.reports > historyLimit).map((t) => t.row);
      if (over.length > 0) {
        await tx.$executeRaw`
          DELETE FROM deployment_status_report AS d
           USING (SELECT k.client_id, k.deployment_id, k.device_id,
                         (SELECT x.id FROM deployment_status_report AS x
                           WHERE x.client_id = k.client_id AND x.deployment_id = k.deployment_id
                             AND x.device_id = k.device_id
                           ORDER BY x.id DESC OFFSET ${historyLimit} LIMIT 1) AS cut
                    FROM unnest(${over.map((k) => k.clientId)}::uuid[], ${over.map((k) => k.deploymentId)}::text[],
                                ${over.map((k) => k.deviceId)}::text[]) AS k(client_id, deployment_id, device_id)) AS c
           WHERE d.client_id = c.client_id AND d.deployment_id = c.deployment_id AND d.device_id = c.device_id
             AND d.id <= c.cut`;
      }
      const result = await then(tx, outcomes);
      return { outcomes, result };
    });
  }

  /**
   * Marks the reports whose idempotency key is stored already (or repeated earlier in this batch) as
   * replays, with the stored report's `applied`; returns the indexes of the others, in order.
   */
  private async withoutReplays(
    tx: Prisma.TransactionClient,
    rows: readonly IngestRow[],
    outcomes: IngestOutcome[],
  ): Promise<number[]> {
    const keyed = rows.flatMap((r, i) => (r.idempotencyKey !== undefined ? [i] : []));
    if (keyed.length === 0) return rows.map((_, i) => i);
    const stored = await tx.$queryRaw<{ client_id: string; idempotency_key: string; applied: boolean }[]>`
      SELECT r.client_id::text AS client_id, r.idempotency_key, r.applied
        FROM deployment_status_report AS r
        JOIN unnest(${keyed.map((i) => rows[i].clientId)}::uuid[], ${keyed.map((i) => rows[i].idempotencyKey!)}::text[])
             AS k(client_id, idempotency_key)
          ON r.client_id = k.client_id AND r.idempotency_key = k.idempotency_key`;
    const applied = new Map(stored.map((s) => [`${s.client_id}|${s.idempotency_key}`, s.applied]));
    const firstIndex = new Map<string, number>();
    const fresh: number[] = [];
    rows.forEach((row, i) => {
      if (row.idempotencyKey === undefined) {
        fresh.push(i);
        return;
      }
      const key = `${row.clientId}|${row.idempotencyKey}`;
      const before = applied.get(key);
      if (before !== undefined) {
        outcomes[i] = { first: false, applied: before, replay: true };
      } else if (firstIndex.has(key)) {
        outcomes[i] = { first: false, applied: false, replay: true, sameAs: firstIndex.get(key) };
      } else {
        firstIndex.set(key, i);
        fresh.push(i);
      }
    });
    return fresh;
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
    if (page.scope !== undefined) return this.statusPageInScope(Prisma.sql`NOT s.known`, page, page.scope);
    return this.statusPage({ known: false }, page);
  }

  failing(page: StatusPage): Promise<StatusRow[]> {
    if (page.scope !== undefined) {
      return this.statusPageInScope(Prisma.sql`s.known AND s.state = 'failed'`, page, page.scope);
    }
    return this.statusPage({ state: 'failed', known: true }, page);
  }

  /** `statusPage` for a scoped principal: the scope is part of the query (device labels, deployment scope). */
  private statusPageInScope(
    condition: Prisma.Sql,
    page: StatusPage,
    scope: Record<string, string>,
  ): Promise<StatusRow[]> {
    const json = JSON.stringify(scope);
    const after = page.after
      ? Prisma.sql`AND (s.last_reported_at < ${page.after[0]}::timestamptz
                        OR (s.last_reported_at = ${page.after[0]}::timestamptz
                            AND (s.client_id, s.deployment_id, s.device_id) > (${page.after[1]}::uuid, ${page.after[2]}, ${page.after[3]})))`
      : Prisma.empty;
    return this.prisma.$queryRaw<StatusRow[]>`
      SELECT s.client_id AS "clientId", s.deployment_id AS "deploymentId", s.device_id AS "deviceId", s.known,
             s.adopted_manifest_version AS "adoptedManifestVersion", s.state, s.error, s.components,
             s.inconsistent, s.reports, s.first_reported_at AS "firstReportedAt",
             s.last_reported_at AS "lastReportedAt"
        FROM deployment_status s
       WHERE ${condition}
         AND EXISTS (SELECT 1 FROM device d WHERE d.client_id = s.client_id AND d.device_id = s.device_id
                        AND d.deleted_at IS NULL AND d.effective_labels @> ${json}::jsonb)
         AND (NOT s.known OR EXISTS (
               SELECT 1 FROM deployment_target t JOIN deployment dep ON dep.id = t.deployment_id
                WHERE t.id::text = s.deployment_id AND dep.scope @> ${json}::jsonb))
         ${after}
       ORDER BY s.last_reported_at DESC, s.client_id, s.deployment_id, s.device_id
       LIMIT ${page.take}`;
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

/**
 * Whether `error` is a unique violation of the history's (client, idempotency key): a resend of a
 * report raced its original into another transaction (which has committed by the time this is seen).
 */
export function isIdempotencyConflict(error: unknown): boolean {
  if (!(error instanceof Prisma.PrismaClientKnownRequestError)) return false;
  if (error.code === 'P2002') return true;
  const meta = (error.meta ?? {}) as { code?: unknown; message?: unknown; driverAdapterError?: unknown };
  const text = `${String(meta.code)} ${String(meta.message)} ${error.message}`;
  return /23505|unique constraint/i.test(text) && /idempotency_key/.test(text);
}
