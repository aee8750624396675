import { Injectable } from '@nestjs/common';
import { Prisma } from '../../generated/prisma/client.js';
import type { OperatorEvent } from '../../generated/prisma/client.js';
import { PrismaService } from '../database/prisma.service.js';

export type OperatorEventRow = OperatorEvent;

/** Which events a subscriber wants; every given member must match. */
export interface EventFilter {
  types?: readonly string[];
  /** Types this subscriber may not see (e.g. audit entries for non-admins). */
  excludeTypes?: readonly string[];
  deploymentId?: string;
  clientId?: string;
}

export interface NewEventRow {
  type: string;
  clientId?: string;
  deploymentId?: string;
  data: Prisma.InputJsonObject;
}

/** The operator event log (`operator_event`). */
@Injectable()
export class EventRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Appends one event in its own statement (so its id commits at once) and returns the id. */
  async insert(event: NewEventRow): Promise<bigint> {
    const row = await this.prisma.operatorEvent.create({
      data: {
        type: event.type,
        clientId: event.clientId ?? null,
        deploymentId: event.deploymentId ?? null,
        data: event.data,
      },
      select: { id: true },
    });
    return row.id;
  }

  /** Appends many events in one statement (in `db`'s transaction, if any) and returns the highest id. */
  async insertMany(events: NewEventRow[], db: Prisma.TransactionClient = this.prisma): Promise<bigint> {
    const rows = await db.operatorEvent.createManyAndReturn({
      data: events.map((event) => ({
        type: event.type,
        clientId: event.clientId ?? null,
        deploymentId: event.deploymentId ?? null,
        data: event.data,
      })),
      select: { id: true },
    });
    return rows.reduce((max, r) => (r.id > max ? r.id : max), 0n);
  }

  /** Every event after `afterId`, in id order (the shared poller's read). */
  readAfter(afterId: bigint, limit: number): Promise<OperatorEventRow[]> {
    return this.prisma.operatorEvent.findMany({
      where: { id: { gt: afterId } },
      orderBy: { id: 'asc' },
      take: limit,
    });
  }

  /** Events in (afterId, upTo] matching the filter, in id order (a subscriber's replay). */
  readRange(afterId: bigint, upTo: bigint, filter: EventFilter, limit: number): Promise<OperatorEventRow[]> {
    return this.prisma.operatorEvent.findMany({
      where: {
        id: { gt: afterId, lte: upTo },
        ...(filter.types || filter.excludeTypes
          ? {
              type: {
                ...(filter.types ? { in: [...filter.types] } : {}),
                ...(filter.excludeTypes ? { notIn: [...filter.excludeTypes] } : {}),
              },
            }
          : {}),
        ...(filter.deploymentId !== undefined ? { deploymentId: filter.deploymentId } : {}),
        ...(filter.clientId !== undefined ? { clientId: filter.clientId } : {}),
      },
      orderBy: { id: 'asc' },
      take: limit,
    });
  }

  /** The highest id in the log (0 when empty). */
  async maxId(): Promise<bigint> {
    const result = await this.prisma.operatorEvent.aggregate({ _max: { id: true } });
    return result._max.id ?? 0n;
  }

  /**
   * Where a poller may start: the newest id written more than `settledMs` ago (rows that old are no
   * longer in flight), else just below the oldest row, else 0.
   */
  async settledId(settledMs: number): Promise<bigint> {
    const rows = await this.prisma.$queryRaw<{ settled: bigint }[]>`
      SELECT coalesce(
        max(id) FILTER (WHERE at < now() - make_interval(secs => ${settledMs / 1000})),
        min(id) - 1,
        0
      )::bigint AS settled
      FROM operator_event`;
    return rows[0]?.settled ?? 0n;
  }

  /** Deletes everything but the newest `keep` ids; returns how many rows went. */
  async pruneKeeping(keep: number): Promise<number> {
    return this.prisma.$executeRaw`
      DELETE FROM operator_event
      WHERE id <= (SELECT max(id) FROM operator_event) - ${BigInt(keep)}`;
  }
}
