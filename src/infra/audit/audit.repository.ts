import { Injectable } from '@nestjs/common';
import type { AuditEntry, AuditOutcome, Prisma } from '../../generated/prisma/client.js';
import { PrismaService } from '../database/prisma.service.js';

export type AuditEntryRow = AuditEntry;
export type AuditOutcomeName = AuditOutcome;

export interface NewAuditRow {
  actorKind: string;
  actorId: string | null;
  actorName: string;
  action: string;
  resourceType: string;
  resourceId: string | null;
  summary: Prisma.InputJsonObject;
  requestId: string | null;
  sourceAddress: string | null;
  outcome: AuditOutcome;
}

export interface AuditFilter {
  /** A created token's id, an OIDC subject, or an actor name. */
  actor?: string;
  resourceType?: string;
  resourceId?: string;
  action?: string;
  from?: Date;
  to?: Date;
  /** Entries with a smaller id than this (the previous page's last). */
  beforeId?: bigint;
  take: number;
}

/** The audit log (`audit_entry`): insert, list and the retention purge; no other write exists. */
@Injectable()
export class AuditRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Appends one entry in `db`'s transaction (or on its own) and returns its id and time. */
  insert(row: NewAuditRow, db: Prisma.TransactionClient = this.prisma): Promise<AuditEntryRow> {
    return db.auditEntry.create({ data: row });
  }

  /** Runs `fn` in one transaction (for entries recorded outside a service's own transaction). */
  transaction<T>(fn: (tx: Prisma.TransactionClient) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(fn);
  }

  /** Newest first (keyset on id). */
  list(filter: AuditFilter): Promise<AuditEntryRow[]> {
    const where: Prisma.AuditEntryWhereInput = {
      ...(filter.actor !== undefined ? { OR: [{ actorId: filter.actor }, { actorName: filter.actor }] } : {}),
      ...(filter.resourceType !== undefined ? { resourceType: filter.resourceType } : {}),
      ...(filter.resourceId !== undefined ? { resourceId: filter.resourceId } : {}),
      ...(filter.action !== undefined ? { action: filter.action } : {}),
      ...(filter.from !== undefined || filter.to !== undefined
        ? {
            at: {
              ...(filter.from !== undefined ? { gte: filter.from } : {}),
              ...(filter.to !== undefined ? { lt: filter.to } : {}),
            },
          }
        : {}),
      ...(filter.beforeId !== undefined ? { id: { lt: filter.beforeId } } : {}),
    };
    return this.prisma.auditEntry.findMany({ where, orderBy: { id: 'desc' }, take: filter.take });
  }

  /** The retention purge: deletes entries older than `cutoff`; returns how many went. */
  async purgeBefore(cutoff: Date): Promise<number> {
    const result = await this.prisma.auditEntry.deleteMany({ where: { at: { lt: cutoff } } });
    return result.count;
  }
}
