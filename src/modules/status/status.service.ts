import { Inject, Injectable, Logger } from '@nestjs/common';
import { Clock } from '../../common/clock.js';
import { InvalidRequestError, SemanticError } from '../../common/problem/domain-error.js';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import type { AuthenticatedClient } from '../enrollment/auth/authenticated-client.js';
import { ClientsService } from '../enrollment/clients.service.js';
import type { TargetRow } from '../deployment-spec/deployments/deployment-rows.js';
import { DeploymentsService } from '../deployment-spec/deployments/deployments.service.js';
import { ManifestService } from '../deployment-spec/manifests/manifest.service.js';
import type {
  TargetHealth,
  TargetHealthSource,
} from '../deployment-spec/deployments/rollout/target-health.port.js';
import { type DerivedState, deriveState, inDowntime } from './derive.js';
import { isConsistent, parseStatusReport } from './status.parser.js';
import { type StatusRow, StatusRepository } from './status.repository.js';
import { StatusBatcher } from './status-batcher.js';
import { RolloutTrigger } from './rollout-trigger.js';
import { StatusMetrics } from './status.metrics.js';

/** Reported and derived status of one deployment target (the operator's deployment views show it). */
export interface TargetStatusView {
  status: {
    state: string;
    adoptedManifestVersion: string | null;
    reportedAt: string;
    error: unknown;
    components: unknown;
    inconsistent: boolean;
  } | null;
  derivedState: string;
}

export interface ReportOutcome {
  /** The first report stored for its target (answered 201 on rc.3). */
  first: boolean;
  applied: boolean;
  orphan: boolean;
  /** A resend (same Idempotency-Key) of a report stored before: nothing was written again. */
  replay: boolean;
}

/** An Idempotency-Key header value: 1–255 visible ASCII characters (a UUID, typically). */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * What actually happened: status reports from devices (both profiles), stored without loss or
 * regression (D12), and the derived state per target that operators act on.
 */
@Injectable()
export class StatusService implements TargetHealthSource {
  private readonly logger = new Logger(StatusService.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly statuses: StatusRepository,
    private readonly deployments: DeploymentsService,
    private readonly manifests: ManifestService,
    private readonly clients: ClientsService,
    private readonly clock: Clock,
    private readonly metrics: StatusMetrics,
    private readonly batcher: StatusBatcher,
    private readonly rolloutTrigger: RolloutTrigger,
  ) {}

  async report(
    client: AuthenticatedClient,
    pathDeploymentId: string,
    body: unknown,
    raw: Buffer,
    idempotencyKeyHeader?: string,
  ): Promise<ReportOutcome> {
    const started = process.hrtime.bigint();
    const idempotencyKey = parseIdempotencyKey(idempotencyKeyHeader);
    if (body === undefined) {
      throw new InvalidRequestError('The request needs a DeploymentStatusManifest as a JSON body');
    }
    const parsed = parseStatusReport(body, raw, {
      pathDeploymentId,
      requireAdoptedVersion: client.profile === 'rc3',
    });
    if (!parsed.ok) {
      this.metrics.reports.inc({ state: 'invalid' });
      throw new SemanticError(
        `The status report is invalid: ${parsed.errors[0].field || '/'} ${parsed.errors[0].message}`,
        parsed.errors,
      );
    }
    const report = parsed.report;
    const known = await this.deployments.targetForStatus(client.id, report.deploymentId);
    let deviceId = report.deviceId ?? '';
    if (known) {
      const target = known.target;
      if (report.deviceId !== undefined && report.deviceId !== target.deviceId) {
        throw new SemanticError(
          `Deployment ${report.deploymentId} targets device ${target.deviceId}, not ${report.deviceId}`,
          [
            {
              field: '/deviceId',
              message: `must be ${target.deviceId} (the device this deployment targets)`,
            },
          ],
        );
      }
      deviceId = target.deviceId;
      const unknownComponents = report.components
        .map((c, i) => ({ c, i }))
        .filter(({ c }) => !known.components.includes(c.name));
      if (unknownComponents.length > 0 && known.components.length > 0) {
        throw new SemanticError(
          `Deployment ${report.deploymentId} has the components ${known.components.join(', ')}`,
          unknownComponents.map(({ c, i }) => ({
            field: `/components/${i}/name`,
            message: `${c.name} is not a component of this deployment`,
          })),
        );
      }
      await this.raiseManifestFloor(client, report.adoptedManifestVersion);
    }
    const inconsistent = !isConsistent(report);
    const outcome = await this.batcher.submit({
      row: {
        clientId: client.id,
        deploymentId: report.deploymentId,
        deviceId,
        known: known !== null,
        adoptedManifestVersion: report.adoptedManifestVersion ?? null,
        state: report.state,
        error: report.error ?? null,
        components: report.components,
        inconsistent,
        receivedAt: this.clock.now(),
        ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
      },
      // appended in the batch's transaction when the report becomes the current status
      event: {
        type: 'status.changed',
        clientId: client.externalId,
        ...(known ? { deploymentId: known.target.deploymentId } : {}),
        data: {
          applicationDeploymentId: report.deploymentId,
          deviceId,
          state: report.state,
          adoptedManifestVersion: report.adoptedManifestVersion?.toString() ?? null,
          error: report.error ?? null,
          orphan: !known,
        },
      },
    });
    if (known?.governed && outcome.applied) this.rolloutTrigger.soon(known.target.deploymentId);
    this.metrics.reports.inc({ state: report.state });
    this.metrics.ingestLatency.observe(Number(process.hrtime.bigint() - started) / 1e9);
    if (!known && !outcome.replay) {
      this.logger.log({
        msg: 'orphan status report',
        clientId: client.externalId,
        deploymentId: report.deploymentId,
      });
    }

    return { first: outcome.first, applied: outcome.applied, replay: outcome.replay, orphan: known === null };
  }

  /** D7 restore safety: a client that adopted a version this WFM does not remember gets a higher one. */
  private async raiseManifestFloor(client: AuthenticatedClient, adopted: bigint | undefined): Promise<void> {
    if (adopted === undefined) return;
    const current = await this.manifests.currentVersion(client.id);
    if (adopted <= current) return;
    this.logger.warn({
      msg: 'a client adopted a manifest version newer than this WFM remembers (database restored?); issuing a higher one',
      clientId: client.externalId,
      adopted: adopted.toString(),
      current: current.toString(),
    });
    await this.manifests.rebuild(client, adopted + 1n);
  }

  /** Each target's status view, keyed by target id. */
  async viewOf(targets: TargetRow[]): Promise<Map<string, TargetStatusView>> {
    const rows = await this.statuses.forTargets(
      targets.map((t) => ({ clientId: t.clientId, deploymentId: t.id, deviceId: t.deviceId })),
    );
    const byKey = new Map(rows.map((r) => [`${r.clientId}|${r.deploymentId}|${r.deviceId}`, r]));
    const clientIds = [...new Set(targets.map((t) => t.clientId))];
    const [settings, polls] = await Promise.all([
      this.clients.effectiveSettings(clientIds),
      this.manifests.pollFacts(clientIds),
    ]);
    const now = this.clock.now();
    const out = new Map<string, TargetStatusView>();
    for (const t of targets) {
      const row = byKey.get(`${t.clientId}|${t.id}|${t.deviceId}`);
      const s = settings.get(t.clientId);
      const derivedState: DerivedState = deriveState({
        now,
        state: row?.state,
        adoptedManifestVersion: row?.adoptedManifestVersion,
        digestSinceVersion: t.digestSinceVersion,
        lastPolledAt: polls.get(t.clientId)?.lastPolledAt ?? null,
        lastReportedAt: row?.lastReportedAt ?? null,
        pollingIntervalSeconds: s?.pollingIntervalSeconds ?? 30,
        downtimeWindows: s?.downtimeWindows ?? [],
      });
      out.set(t.id, { status: row ? this.statusView(row) : null, derivedState });
    }
    return out;
  }

  /** The rollout gate's view of targets (TargetHealthSource): derived state and announced downtime. */
  async healthOf(targets: TargetRow[]): Promise<Map<string, TargetHealth>> {
    if (targets.length === 0) return new Map();
    const [views, settings] = await Promise.all([
      this.viewOf(targets),
      this.clients.effectiveSettings([...new Set(targets.map((t) => t.clientId))]),
    ]);
    const now = this.clock.now();
    const out = new Map<string, TargetHealth>();
    for (const t of targets) {
      out.set(t.id, {
        derivedState: views.get(t.id)?.derivedState ?? 'unknown',
        inDowntime: inDowntime(now, settings.get(t.clientId)?.downtimeWindows ?? []),
      });
    }
    return out;
  }

  private statusView(row: StatusRow): NonNullable<TargetStatusView['status']> {
    return {
      state: row.state,
      adoptedManifestVersion: row.adoptedManifestVersion?.toString() ?? null,
      reportedAt: row.lastReportedAt.toISOString(),
      error: row.error,
      components: row.components,
      inconsistent: row.inconsistent,
    };
  }
}

/**
 * The optional `Idempotency-Key` request header (draft-ietf-httpapi-idempotency-key-header; a
 * structured-field string such as `"8e03978e-40d5-43e8-bc93-6894a57f9324"`, quotes optional here).
 */
function parseIdempotencyKey(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const trimmed = header.trim();
  const key = /^"[^"]*"$/.test(trimmed) ? trimmed.slice(1, -1) : trimmed;
  if (!IDEMPOTENCY_KEY.test(key)) {
    throw new InvalidRequestError(
      'The Idempotency-Key header must be 1 to 255 visible ASCII characters (a UUID, for example)',
    );
  }
  return key;
}
