import { Injectable } from '@nestjs/common';
import { PrismaService } from '../../infra/database/prisma.service.js';

/**
 * Which operator events a principal limited to a label scope may see (issue 17 item 3), decided in
 * one query over the events' ids: an event about a deployment needs that deployment to be created
 * within the scope; an event about a client needs that client's device (`data.deviceId`) — or, for
 * client-level events, any live device of it — to carry the scope's labels; an event about neither
 * (fleet-wide) is not shown. Replayed (Last-Event-ID) and live events both pass through it.
 */
@Injectable()
export class EventScopeRepository {
  constructor(private readonly prisma: PrismaService) {}

  async visibleIds(ids: readonly bigint[], scope: Record<string, string>): Promise<Set<bigint>> {
    if (ids.length === 0) return new Set();
    const json = JSON.stringify(scope);
    const rows = await this.prisma.$queryRaw<{ id: bigint }[]>`
      SELECT e.id FROM operator_event e
       WHERE e.id = ANY(${[...ids]}::bigint[])
         AND (e.client_id IS NOT NULL OR e.deployment_id IS NOT NULL)
         AND (e.deployment_id IS NULL OR EXISTS (
               SELECT 1 FROM deployment dep WHERE dep.id::text = e.deployment_id AND dep.scope @> ${json}::jsonb))
         AND (e.client_id IS NULL OR EXISTS (
               SELECT 1 FROM device d
                WHERE d.client_external_id = e.client_id AND d.deleted_at IS NULL AND d.effective_labels @> ${json}::jsonb
                  AND (e.data->>'deviceId' IS NULL OR d.device_id = e.data->>'deviceId')))`;
    return new Set(rows.map((r) => BigInt(r.id)));
  }
}
