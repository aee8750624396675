import { Injectable } from '@nestjs/common';
import type { EnrollmentRequest, EnrollmentRequestState, Prisma } from '../../generated/prisma/client.js';
import { keysetAfter, keysetOrder } from '../../infra/database/keyset.js';
import { PrismaService } from '../../infra/database/prisma.service.js';

export type EnrollmentRequestRow = EnrollmentRequest;
export type EnrollmentRequestStateName = EnrollmentRequestState;

/** Device ids kept per request (the first ones the client tried). */
export const MAX_DEVICE_IDS = 16;

/** What the request path saw of one certificate since the last flush (coalesced in memory). */
export interface EnrollmentObservation {
  clientId: string;
  spiffeId: string;
  fingerprint: string;
  notBefore: Date;
  notAfter: Date;
  firstSeenAt: Date;
  lastSeenAt: Date;
  count: number;
  deviceIds: string[];
  address: string | null;
  /** Set when WFM_ENROLLMENT_AUTO_ACCEPT accepted the client: the request is recorded as approved. */
  approvedBy?: string;
}

export interface RecordCaps {
  /** Pending rows at most (new pending rows beyond it are not inserted). */
  maxPending: number;
  /** Rows per client id at most, any state. */
  perClient: number;
}

export interface RecordedRequest {
  id: string;
  clientId: string;
  fingerprint: string;
  inserted: boolean;
}

export interface EnrollmentRequestFilter {
  state?: EnrollmentRequestState;
  clientId?: string;
  after?: readonly [Date, string];
  take: number;
}

/** The `enrollment_request` table: the only SQL about rc.3 enrollment requests. */
@Injectable()
export class EnrollmentRequestRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Writes a flush of observations in one statement: a known certificate's row is updated (count
   * added, last seen, device ids merged up to MAX_DEVICE_IDS); a new certificate is inserted only
   * while its client id has fewer than `perClient` rows and fewer than `maxPending` rows are
   * pending (approximate across instances flushing at the same moment). Returns the rows written.
   */
  async record(observations: readonly EnrollmentObservation[], caps: RecordCaps): Promise<RecordedRequest[]> {
    if (observations.length === 0) return [];
    const payload = JSON.stringify(
      observations.map((o, ord) => ({
        ord,
        client_id: o.clientId,
        spiffe_id: o.spiffeId,
        fingerprint: o.fingerprint,
        not_before: o.notBefore.toISOString(),
        not_after: o.notAfter.toISOString(),
        first_seen_at: o.firstSeenAt.toISOString(),
        last_seen_at: o.lastSeenAt.toISOString(),
        n: o.count,
        device_ids: o.deviceIds.slice(0, MAX_DEVICE_IDS),
        address: o.address,
        decided_by: o.approvedBy ?? null,
      })),
    );
    const rows = await this.prisma.$queryRaw<
      { id: string; client_id: string; fingerprint: string; inserted: boolean }[]
    >`
      WITH v AS (
        SELECT * FROM jsonb_to_recordset(${payload}::jsonb) AS v(
          ord int, client_id text, spiffe_id text, fingerprint text, not_before timestamptz,
          not_after timestamptz, first_seen_at timestamptz, last_seen_at timestamptz, n bigint,
          device_ids text[], address text, decided_by text)
      ),
      known AS (
        SELECT v.* FROM v WHERE EXISTS (SELECT 1 FROM enrollment_request e WHERE e.fingerprint = v.fingerprint)
      ),
      fresh AS (
        SELECT v.*,
               row_number() OVER (PARTITION BY v.client_id ORDER BY v.ord) AS client_rank,
               row_number() OVER (PARTITION BY v.decided_by IS NULL ORDER BY v.ord) AS pending_rank
          FROM v
         WHERE NOT EXISTS (SELECT 1 FROM enrollment_request e WHERE e.fingerprint = v.fingerprint)
      ),
      per_client AS (
        SELECT e.client_id, count(*) AS n FROM enrollment_request e
         WHERE e.client_id IN (SELECT client_id FROM fresh) GROUP BY e.client_id
      ),
      pending AS (SELECT count(*) AS n FROM enrollment_request WHERE state = 'pending'),
      admitted AS (
        SELECT ord, client_id, spiffe_id, fingerprint, not_before, not_after, first_seen_at,
               last_seen_at, n, device_ids, address, decided_by
          FROM known
        UNION ALL
        SELECT f.ord, f.client_id, f.spiffe_id, f.fingerprint, f.not_before, f.not_after,
               f.first_seen_at, f.last_seen_at, f.n, f.device_ids, f.address, f.decided_by
          FROM fresh f LEFT JOIN per_client c ON c.client_id = f.client_id CROSS JOIN pending p
         WHERE COALESCE(c.n, 0) + f.client_rank <= ${caps.perClient}::int
           AND (f.decided_by IS NOT NULL OR p.n + f.pending_rank <= ${caps.maxPending}::int)
      )
      INSERT INTO enrollment_request AS r (
        id, client_id, spiffe_id, fingerprint, not_before, not_after, first_seen_at, last_seen_at,
        request_count, device_ids, last_remote_address, state, decided_by, decided_at)
      SELECT gen_random_uuid(), client_id, spiffe_id, fingerprint, not_before, not_after,
             first_seen_at, last_seen_at, n, COALESCE(device_ids, '{}'), address,
             (CASE WHEN decided_by IS NULL THEN 'pending' ELSE 'approved' END)::enrollment_request_state,
             decided_by, CASE WHEN decided_by IS NULL THEN NULL ELSE last_seen_at END
        FROM admitted ORDER BY ord
      ON CONFLICT (fingerprint) DO UPDATE SET
        last_seen_at = GREATEST(r.last_seen_at, EXCLUDED.last_seen_at),
        request_count = r.request_count + EXCLUDED.request_count,
        device_ids = ARRAY(
          SELECT t.d FROM unnest(r.device_ids || EXCLUDED.device_ids) WITH ORDINALITY AS t(d, o)
           GROUP BY t.d ORDER BY min(t.o) LIMIT ${MAX_DEVICE_IDS}::int),
        last_remote_address = COALESCE(EXCLUDED.last_remote_address, r.last_remote_address),
        state = CASE WHEN EXCLUDED.decided_by IS NOT NULL AND r.state = 'pending'
                     THEN 'approved'::enrollment_request_state ELSE r.state END,
        decided_by = CASE WHEN EXCLUDED.decided_by IS NOT NULL AND r.state = 'pending'
                          THEN EXCLUDED.decided_by ELSE r.decided_by END,
        decided_at = CASE WHEN EXCLUDED.decided_by IS NOT NULL AND r.state = 'pending'
                          THEN EXCLUDED.decided_at ELSE r.decided_at END
      RETURNING r.id::text AS id, r.client_id, r.fingerprint, (r.xmax = 0) AS inserted`;
    return rows.map((r) => ({
      id: r.id,
      clientId: r.client_id,
      fingerprint: r.fingerprint,
      inserted: r.inserted,
    }));
  }

  findById(id: string): Promise<EnrollmentRequestRow | null> {
    return this.prisma.enrollmentRequest.findUnique({ where: { id } });
  }

  /** Requests in order of first contact (keyset pagination on `[firstSeenAt, id]`). */
  list(filter: EnrollmentRequestFilter): Promise<EnrollmentRequestRow[]> {
    const [firstSeenAt, id] = filter.after ?? [];
    return this.prisma.enrollmentRequest.findMany({
      where: {
        state: filter.state,
        clientId: filter.clientId,
        ...(filter.after
          ? {
              AND: keysetAfter([
                { field: 'firstSeenAt', value: firstSeenAt, dir: 'asc' },
                { field: 'id', value: id, dir: 'asc' },
              ]),
            }
          : {}),
      },
      orderBy: keysetOrder([
        { field: 'firstSeenAt', dir: 'asc' },
        { field: 'id', dir: 'asc' },
      ]),
      take: filter.take,
    });
  }

  /**
   * Decides request `id` and every other pending request of the same client id (a decision is about
   * a client id); returns the decided row `id`.
   */
  transaction<T>(fn: (tx: Prisma.TransactionClient) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(fn);
  }

  /** Decides the request and the client id's other pending ones, in the caller's transaction. */
  async decide(
    tx: Prisma.TransactionClient,
    row: EnrollmentRequestRow,
    state: 'approved' | 'rejected',
    by: string,
  ): Promise<EnrollmentRequestRow> {
    const decidedAt = new Date();
    await tx.enrollmentRequest.updateMany({
      where: { clientId: row.clientId, state: 'pending', id: { not: row.id } },
      data: { state, decidedBy: by, decidedAt },
    });
    return tx.enrollmentRequest.update({
      where: { id: row.id },
      data: { state, decidedBy: by, decidedAt },
    });
  }
}
