import { Injectable } from '@nestjs/common';
import { decodeKey, type Page, type PageQueryDto, pageOf } from '../../common/http/page.js';
import { NotFoundError } from '../../common/problem/domain-error.js';
import { DeviceCapabilityService } from '../device-capability/device-capability.service.js';
import { DeploymentsService } from '../deployment-spec/deployments/deployments.service.js';
import { ClientsService } from '../enrollment/clients.service.js';
import type { StatusEntryDto, StatusSummaryDto } from './dto/status.dto.js';
import { type StatusReportRow, StatusRepository, type StatusRow } from './status.repository.js';
import { StatusService } from './status.service.js';

function entry(row: StatusRow | StatusReportRow, clientExternalId: string): StatusEntryDto {
  const at = 'lastReportedAt' in row ? row.lastReportedAt : row.receivedAt;
  return {
    clientId: clientExternalId,
    deploymentId: row.deploymentId,
    deviceId: row.deviceId,
    state: row.state,
    adoptedManifestVersion: row.adoptedManifestVersion?.toString() ?? null,
    error: row.error,
    components: row.components,
    inconsistent: row.inconsistent,
    reportedAt: at.toISOString(),
    ...('applied' in row ? { applied: row.applied } : {}),
  };
}

/** Operator views: histories, the fleet rollup, failing targets and orphan reports. */
@Injectable()
export class StatusQueryService {
  constructor(
    private readonly statuses: StatusRepository,
    private readonly status: StatusService,
    private readonly deployments: DeploymentsService,
    private readonly capabilities: DeviceCapabilityService,
    private readonly clients: ClientsService,
  ) {}

  /** History of one operator deployment's targets (optionally one device), newest first. */
  async history(
    deploymentId: string,
    deviceId: string | undefined,
    query: PageQueryDto,
    scope?: Record<string, string>,
  ): Promise<Page<StatusEntryDto>> {
    const deployment = (await this.deployments.get(deploymentId, scope)).dto;
    const targets = deployment.targets.filter((t) => deviceId === undefined || t.deviceId === deviceId);
    if (deviceId !== undefined && targets.length === 0) {
      throw new NotFoundError(`Deployment ${deploymentId} has no target device ${deviceId}`);
    }
    const clientOf = new Map(targets.map((t) => [t.deploymentId, t.clientId]));
    const rows = await this.statuses.history(
      undefined,
      targets.map((t) => t.deploymentId),
      deviceId,
      {
        after: query.after ? decodeKey(query.after, ['bigint'] as const)[0] : undefined,
        take: query.limit + 1,
      },
    );
    return pageOf(
      rows,
      query.limit,
      (r) => [r.id],
      (r) => entry(r, clientOf.get(r.deploymentId) ?? ''),
    );
  }

  /**
   * Counts of targets by derived state (placed targets) or placement (the others), overall only: what
   * the `wfm_targets` gauge exports. Unlike `summary` it does not read every device's capabilities
   * (documents included) for the per-label counts, which the gauge does not export.
   */
  async overall(): Promise<Record<string, number>> {
    const targets = await this.deployments.allTargets();
    const views = await this.status.viewOf(targets);
    const overall: Record<string, number> = {};
    for (const t of targets) {
      const state = t.placement === 'placed' ? (views.get(t.id)?.derivedState ?? 'unknown') : t.placement;
      overall[state] = (overall[state] ?? 0) + 1;
    }
    return overall;
  }

  /** Counts of targets by derived state: overall, per deployment, per application, per label value. */
  async summary(scope?: Record<string, string>): Promise<StatusSummaryDto> {
    const targets = await this.deployments.allTargets(scope);
    const views = await this.status.viewOf(targets);
    const facts = new Map(
      (
        await this.capabilities.facts(targets.map((t) => ({ clientId: t.clientId, deviceId: t.deviceId })))
      ).map((f) => [`${f.clientId}|${f.deviceId}`, f]),
    );
    const out: StatusSummaryDto = { overall: {}, byDeployment: {}, byApplication: {}, byLabel: {} };
    const count = (bucket: Record<string, number>, state: string) =>
      (bucket[state] = (bucket[state] ?? 0) + 1);
    for (const t of targets) {
      const state = t.placement === 'placed' ? (views.get(t.id)?.derivedState ?? 'unknown') : t.placement;
      count(out.overall, state);
      count((out.byDeployment[t.deploymentId] ??= {}), state);
      count((out.byApplication[t.applicationId] ??= {}), state);
      for (const [key, value] of Object.entries(facts.get(`${t.clientId}|${t.deviceId}`)?.labels ?? {})) {
        for (const v of Array.isArray(value) ? value : [value]) {
          count(
            (out.byLabel[`${key}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`] ??= {}),
            state,
          );
        }
      }
    }
    return out;
  }

  async failing(query: PageQueryDto, scope?: Record<string, string>): Promise<Page<StatusEntryDto>> {
    const rows = await this.statuses.failing({
      after: this.statusKey(query.after),
      take: query.limit + 1,
      scope,
    });
    return this.withClients(rows, query.limit);
  }

  async orphans(query: PageQueryDto, scope?: Record<string, string>): Promise<Page<StatusEntryDto>> {
    const rows = await this.statuses.orphans({
      after: this.statusKey(query.after),
      take: query.limit + 1,
      scope,
    });
    return this.withClients(rows, query.limit);
  }

  private statusKey(after: string | undefined): readonly [Date, string, string, string] | undefined {
    return after ? decodeKey(after, ['date', 'uuid', 'string', 'string'] as const) : undefined;
  }

  private async withClients(all: StatusRow[], limit: number): Promise<Page<StatusEntryDto>> {
    const page = pageOf(
      all,
      limit,
      (r) => [r.lastReportedAt, r.clientId, r.deploymentId, r.deviceId],
      (r) => r,
    );
    const rows = page.items;
    const ids = [...new Set(rows.map((r) => r.clientId))];
    const refs = new Map(
      (await Promise.all(ids.map((id) => this.clients.findRef(id))))
        .filter((r) => r !== null)
        .map((r) => [r.id, r.externalId]),
    );
    return { items: rows.map((r) => entry(r, refs.get(r.clientId) ?? r.clientId)), next: page.next };
  }
}
