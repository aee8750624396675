import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { currentActor, currentRequestId, noteAppendedEvent } from '../../common/logging/request-context.js';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { EventLogService } from '../events/event-log.service.js';
import {
  type AuditEntryRow,
  type AuditFilter,
  type AuditOutcomeName,
  AuditRepository,
} from './audit.repository.js';

export type { AuditEntryRow, AuditFilter } from './audit.repository.js';

/** The event type the operator stream carries each audit entry as. */
export const AUDIT_EVENT = 'audit.recorded';
/** Keys whose values never reach a summary (at any depth): credentials and key material. */
const SECRET_KEY = /token|secret|password|passphrase|private|credential|authorization|hash$/i;
/** A summary larger than this (as JSON) is replaced by the list of its keys. */
const MAX_SUMMARY_BYTES = 8 * 1024;
const PURGE_INTERVAL_MS = 60 * 60_000;
const DAY_MS = 86_400_000;

/** What a service records about a change it makes. */
export interface AuditRecord {
  /** `<resource>.<verb>`, e.g. `deployment.update`. */
  action: string;
  resource: { type: string; id?: string | null };
  /** A compact before/after (`{before: {...}, after: {...}}` or the fields that matter). */
  summary?: Record<string, unknown>;
  outcome?: AuditOutcomeName;
}

/** An audit entry as the API and the event stream show it. */
export interface AuditEntryView {
  id: string;
  at: string;
  actor: { kind: string; id?: string; name: string };
  action: string;
  resource: { type: string; id?: string };
  summary: Record<string, unknown>;
  requestId?: string;
  sourceAddress?: string;
  outcome: AuditOutcomeName;
}

/** Drops secret-looking keys at any depth, turns bigints and dates into strings, bounds the size. */
export function compactSummary(summary: Record<string, unknown> = {}): Prisma.InputJsonObject {
  const clean = (value: unknown, depth: number): unknown => {
    if (typeof value === 'bigint') return value.toString();
    if (value instanceof Date) return value.toISOString();
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return undefined;
    if (value === null || typeof value !== 'object') return value;
    if (depth > 8) return '…';
    if (Array.isArray(value)) return value.map((v) => clean(v, depth + 1) ?? null);
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .filter(([key, v]) => !SECRET_KEY.test(key) && v !== undefined)
        .map(([key, v]) => [key, clean(v, depth + 1)]),
    );
  };
  const cleaned = clean(summary, 0) as Prisma.InputJsonObject;
  if (Buffer.byteLength(JSON.stringify(cleaned)) <= MAX_SUMMARY_BYTES) return cleaned;
  return { truncated: true, keys: Object.keys(cleaned) };
}

export function toAuditView(row: AuditEntryRow): AuditEntryView {
  return {
    id: row.id.toString(),
    at: row.at.toISOString(),
    actor: {
      kind: row.actorKind,
      ...(row.actorId !== null ? { id: row.actorId } : {}),
      name: row.actorName,
    },
    action: row.action,
    resource: { type: row.resourceType, ...(row.resourceId !== null ? { id: row.resourceId } : {}) },
    summary: (row.summary ?? {}) as Record<string, unknown>,
    ...(row.requestId !== null ? { requestId: row.requestId } : {}),
    ...(row.sourceAddress !== null ? { sourceAddress: row.sourceAddress } : {}),
    outcome: row.outcome,
  };
}

/**
 * The audit log of operator changes (issue 17). Services call `record(tx, …)` inside the transaction
 * of the change, so the entry commits with it or not at all; who acted, the request id and the
 * source address come from the request context the operator guard filled. Each entry is also
 * appended to the operator event log (`audit.recorded`) in the same transaction and announced when
 * the request is done (AuditEventsInterceptor). There is no update or delete path, only the
 * retention purge (WFM_AUDIT_RETENTION_DAYS) that worker processes run hourly.
 */
@Injectable()
export class AuditService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(AuditService.name);
  private purgeTimer?: NodeJS.Timeout;

  constructor(
    private readonly entries: AuditRepository,
    private readonly events: EventLogService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    if (!this.config.roles.worker || this.config.audit.retentionDays === 0) return;
    this.purgeTimer = setInterval(() => void this.purgeExpired(), PURGE_INTERVAL_MS);
    this.purgeTimer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.purgeTimer);
  }

  /** Appends an entry (and its event) inside the caller's transaction `tx`. */
  async record(tx: Prisma.TransactionClient, entry: AuditRecord): Promise<AuditEntryView> {
    const { actor, sourceAddress } = currentActor();
    const row = await this.entries.insert(
      {
        actorKind: actor?.kind ?? 'system',
        actorId: actor?.id ?? null,
        actorName: actor?.name ?? 'system',
        action: entry.action,
        resourceType: entry.resource.type,
        resourceId: entry.resource.id ?? null,
        summary: compactSummary(entry.summary),
        requestId: currentRequestId() ?? null,
        sourceAddress: sourceAddress ?? null,
        outcome: entry.outcome ?? 'ok',
      },
      tx,
    );
    const view = toAuditView(row);
    const eventId = await this.events.appendIn(tx, [{ type: AUDIT_EVENT, data: { ...view } }]);
    noteAppendedEvent(eventId);
    return view;
  }

  /**
   * Records an action that changes no row of its own (e.g. issuing a stream token), in a transaction
   * of its own; rejects when the entry cannot be written, so the action is not done unrecorded.
   */
  async recordAlone(entry: AuditRecord): Promise<AuditEntryView> {
    return this.entries.transaction((tx) => this.record(tx, entry));
  }

  /** Records an attempt refused by authorization (403), in a transaction of its own. */
  async recordDenied(entry: Omit<AuditRecord, 'outcome'>): Promise<void> {
    try {
      await this.entries.transaction((tx) => this.record(tx, { ...entry, outcome: 'denied' }));
    } catch (error) {
      // the refusal stands either way; a lost entry is logged
      this.logger.warn({ msg: 'could not record a denied operator request', error: String(error) });
    }
  }

  /** After the request: tells the event stream about entries committed in it. */
  async announce(eventIds: readonly bigint[]): Promise<void> {
    if (eventIds.length === 0) return;
    await this.events.published(eventIds.reduce((max, id) => (id > max ? id : max), 0n));
  }

  list(filter: AuditFilter): Promise<AuditEntryRow[]> {
    return this.entries.list(filter);
  }

  /** Deletes the entries older than the retention period (as of `now`); returns how many went. */
  async purgeExpired(now = new Date()): Promise<number> {
    if (this.config.audit.retentionDays === 0) return 0;
    try {
      const purged = await this.entries.purgeBefore(
        new Date(now.getTime() - this.config.audit.retentionDays * DAY_MS),
      );
      if (purged > 0) this.logger.log({ msg: 'audit entries past retention purged', purged });
      return purged;
    } catch (error) {
      this.logger.warn({ msg: 'could not purge the audit log', error: String(error) });
      return 0;
    }
  }
}
