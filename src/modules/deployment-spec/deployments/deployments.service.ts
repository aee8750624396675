import { Injectable, Logger } from '@nestjs/common';
import { decodeCursor, encodeCursor } from '../../../common/http/cursor.js';
import { mergePatch } from '../../../common/http/merge-patch.js';
import { decodeKey, type Page, pageOf } from '../../../common/http/page.js';
import { SemanticError } from '../../../common/problem/domain-error.js';
import type { FieldError } from '../../../common/problem/problem-types.js';
import { AuditService } from '../../../infra/audit/audit.service.js';
import { DeviceCapabilityService } from '../../device-capability/device-capability.service.js';
import { Prisma } from '../../../generated/prisma/client.js';
import { ClientsService } from '../../enrollment/clients.service.js';
import { ClientNotFoundError } from '../../enrollment/enrollment.errors.js';
import type { ApplicationPackage, JsonValue } from '../packages/domain.js';
import { DeploymentRepository } from './deployment.repository.js';
import type { DeploymentRow, TargetRow } from './deployment-rows.js';
import { DeploymentNotFoundError } from './deployment.errors.js';
import { DeploymentJobs } from './deployment.jobs.js';
import { toDeploymentDto, toDeploymentSummaryDto, toTargetDto } from './deployment.mapper.js';
import type {
  DeploymentCreateDto,
  DeploymentDto,
  DeploymentListQueryDto,
  DeploymentPatchDto,
  DeploymentSummaryDto,
  DeploymentTargetDto,
  DeploymentTargetPageDto,
  DeploymentTargetQueryDto,
  SelectorDto,
} from './dto/deployment.dto.js';
import { effectiveParameters, validateParameterValues } from '../packages/parameter-values.js';
import { PackagesService } from '../packages/packages.service.js';
import type { Selector } from './placement/decision.js';
import { type RolloutPolicy, validatePolicy } from './rollout/policy.js';
import { RolloutConflictError, RolloutService } from './rollout/rollout.service.js';
import type { RolloutRow } from './rollout/rollout.repository.js';
import type { NewOperatorEvent } from '../../../infra/events/event-log.service.js';
import { EventLogService } from '../../../infra/events/event-log.service.js';

const OPERATORS_WITH_VALUES = new Set(['In', 'NotIn']);

/** A principal's label scope (undefined: the whole fleet). */
type Scope = Record<string, string> | undefined;
const NUMERIC_OPERATORS = new Set(['Gt', 'Lt']);

function scopeText(scope: Record<string, string>): string {
  return Object.entries(scope)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}

/** A JSON value with its object keys sorted (to compare parameter sets). */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** The (internal client id, deviceId) key of a targets-page cursor. */
function targetKey(cursor: string): { clientId: string; deviceId: string } {
  const [clientId, deviceId] = decodeCursor(cursor, ([client]) => /^[0-9a-f-]{36}$/.test(client));
  return { clientId, deviceId };
}

/**
 * A deployment as the operator API shows it, with the target rows its `targets` were mapped from (in
 * the same order), so that the status module can add each target's status (DeploymentViewsService).
 */
export interface DeploymentDetail {
  dto: DeploymentDto;
  targets: TargetRow[];
}

/** A page of a deployment's targets with the rows they were mapped from (in the same order). */
export interface TargetPage {
  page: DeploymentTargetPageDto;
  rows: TargetRow[];
}

/** Operator intent: deployments of a package version to one device or to a selector. */
@Injectable()
export class DeploymentsService {
  private readonly logger = new Logger(DeploymentsService.name);

  constructor(
    private readonly deployments: DeploymentRepository,
    private readonly packages: PackagesService,
    private readonly clients: ClientsService,
    private readonly jobs: DeploymentJobs,
    private readonly audit: AuditService,
    private readonly devices: DeviceCapabilityService,
    private readonly rollouts: RolloutService,
    private readonly events: EventLogService,
  ) {}

  /**
   * A deployment created with a scoped principal records that scope (it is visible only within it)
   * and targets only devices inside it: its selector's matchLabels are AND-ed with the scope (a
   * conflicting pair is a 422), and a direct target must be a device inside the scope (else 422).
   */
  async create(
    input: DeploymentCreateDto,
    scope?: Scope,
    actor: string | null = null,
  ): Promise<DeploymentDetail> {
    const { row: pkgRow, pkg } = await this.packages.resolve(input.applicationId, input.version);
    const errors = [
      ...this.checkProfile(pkg, input.profileId, '/profileId'),
      ...validateParameterValues(pkg, input.parameters ?? {}, { pointerPrefix: '/parameters' }),
    ];
    let targetClientId: string | null = null;
    let targetDeviceId: string | null = null;
    let selector: Selector | null = null;
    if (
      input.target.selector &&
      (input.target.clientId !== undefined || input.target.deviceId !== undefined)
    ) {
      throw new SemanticError(
        'A target is either one device ({clientId, deviceId}) or a selector, not both',
        [{ field: '/target', message: 'give clientId and deviceId, or selector' }],
      );
    }
    const policy = this.checkPolicy(input.rollout, errors);
    if (input.target.selector) {
      errors.push(...this.checkSelector(input.target.selector));
      if (scope !== undefined) errors.push(...this.checkSelectorScope(input.target.selector, scope));
      selector = await this.toSelector(input.target.selector, scope);
    } else {
      const client = await this.directTarget(input.target.clientId!, input.target.profile, scope);
      targetClientId = client.id;
      targetDeviceId = input.target.deviceId!;
      if (scope !== undefined && !(await this.devices.isInScope(client.id, targetDeviceId, scope))) {
        throw new SemanticError("The target device is outside the caller's scope", [
          { field: '/target/deviceId', message: `is not a device inside the scope ${scopeText(scope)}` },
        ]);
      }
    }
    if (errors.length > 0) {
      throw new SemanticError(`The deployment is invalid: ${errors[0].field} ${errors[0].message}`, errors);
    }
    const { row, lastEventId } = await this.deployments.transaction(async (tx) => {
      const created = await this.deployments.create(
        {
          applicationId: pkg.applicationId,
          packageId: pkgRow.id,
          profileId: input.profileId ?? null,
          parameters: (input.parameters ?? {}) as object,
          targetClientId,
          targetDeviceId,
          selector: selector ? (selector as object) : undefined,
          onCapabilityLoss: input.onCapabilityLoss ?? 'keep',
          ...(scope !== undefined ? { scope } : {}),
          rolloutPolicy: policy ? (policy as object) : undefined,
          // without a policy the first revision reaches every target at once
          stableRevision: policy ? null : 1,
        },
        tx,
      );
      await this.audit.record(tx, {
        action: 'deployment.create',
        resource: { type: 'deployment', id: created.id },
        summary: {
          after: {
            applicationId: pkg.applicationId,
            version: pkg.version,
            profileId: created.profileId,
            parameters: created.parameters,
            target: input.target,
            onCapabilityLoss: created.onCapabilityLoss,
            ...(scope !== undefined ? { scope } : {}),
            ...(policy ? { rollout: policy } : {}),
          },
        },
      });
      await this.rollouts.recordRevision(tx, created, 'created', actor);
      const events = policy ? [await this.rollouts.startRollout(tx, created, policy, actor)] : [];
      return {
        row: (await this.deployments.findById(created.id, tx))!,
        lastEventId: await this.events.appendIn(tx, events),
      };
    });
    await this.events.published(lastEventId);
    this.logger.log({ msg: 'deployment created', id: row.id, applicationId: row.applicationId });
    await this.jobs.recomputeDeployment(row.id);
    return this.dto(row);
  }

  async get(id: string, scope?: Scope): Promise<DeploymentDetail> {
    const row = await this.deployments.findVisible(id, scope);
    if (!row) throw new DeploymentNotFoundError(id);
    return this.dto(row);
  }

  /** Deployments without their targets (a count per placement instead): cheap whatever the fleet size. */
  async list(query: DeploymentListQueryDto, scope?: Scope): Promise<Page<DeploymentSummaryDto>> {
    const after = query.after ? decodeKey(query.after, ['date', 'uuid'] as const) : undefined;
    const rows = await this.deployments.list({
      applicationId: query.applicationId,
      after,
      take: query.limit + 1,
      scope,
    });
    const page = pageOf(
      rows,
      query.limit,
      (r) => [r.createdAt, r.id],
      (r) => r,
    );
    const counts = await this.deployments.targetCounts(page.items.map((r) => r.id));
    const items = await Promise.all(
      page.items.map(async (row) => {
        const { row: pkgRow, pkg } = await this.packages.byId(row.packageId);
        return toDeploymentSummaryDto(row, pkgRow, pkg, await this.targetOf(row), counts.get(row.id) ?? {});
      }),
    );
    return { items, next: page.next };
  }

  /** One page of a deployment's targets (keyset pagination in client, device order). */
  async targets(id: string, query: DeploymentTargetQueryDto, scope?: Scope): Promise<TargetPage> {
    const row = await this.deployments.findVisible(id, scope);
    if (!row) throw new DeploymentNotFoundError(id);
    const { pkg } = await this.packages.byId(row.packageId);
    const rows = await this.deployments.targetsPage(id, {
      placement: query.placement,
      after: query.after ? targetKey(query.after) : undefined,
      limit: query.limit + 1,
    });
    const page = rows.slice(0, query.limit);
    const parameters = row.parameters as Record<string, JsonValue>;
    const last = page[page.length - 1];
    return {
      page: {
        items: page.map((t) => toTargetDto(t, pkg, parameters)),
        next: rows.length > query.limit && last ? encodeCursor([last.clientId, last.deviceId]) : null,
      },
      rows: page,
    };
  }

  /**
   * Parameters, version, profile or policy, as a JSON Merge Patch (RFC 7396): members left out stay,
   * `parameters` merges into the stored values (a key set to null removes that value, so the package
   * default applies again). One atomic UPDATE bumps the revision (no lock held while
   * validating), so concurrent changes are all applied in some order and the highest revision wins.
   */
  async patch(
    id: string,
    input: DeploymentPatchDto,
    options: { supersede?: boolean; actor?: string | null; scope?: Scope } = {},
  ): Promise<DeploymentDetail> {
    const current = await this.deployments.findVisible(id, options.scope);
    if (!current) throw new DeploymentNotFoundError(id);
    const active = await this.rollouts.active(id);
    if (active && !options.supersede) throw this.busy(active);
    const { row: pkgRow, pkg } = input.version
      ? await this.packages.resolve(current.applicationId, input.version)
      : await this.packages.byId(current.packageId);
    if (input.version === null) {
      throw new SemanticError('The package version cannot be removed', [
        { field: '/version', message: 'must be a version of the package, not null' },
      ]);
    }
    const parameters = (
      input.parameters === undefined
        ? current.parameters
        : input.parameters === null
          ? {}
          : mergePatch(current.parameters, input.parameters)
    ) as Record<string, unknown>;
    const profileId = input.profileId === undefined ? current.profileId : input.profileId;
    const errors = [
      ...this.checkProfile(pkg, profileId ?? undefined, '/profileId'),
      ...validateParameterValues(pkg, parameters, { pointerPrefix: '/parameters' }),
      ...(await this.checkImmutable(id, pkg, parameters)),
    ];
    const given = input.rollout === null ? null : this.checkPolicy(input.rollout, errors);
    if (errors.length > 0) {
      throw new SemanticError(`The change is invalid: ${errors[0].field} ${errors[0].message}`, errors);
    }
    const policy =
      input.rollout === undefined
        ? ((current.rolloutPolicy ?? null) as RolloutPolicy | null)
        : (given ?? null);
    // what devices get changes (a new revision to roll out), or only how the deployment behaves
    const contentChanged =
      pkgRow.id !== current.packageId ||
      (profileId ?? null) !== current.profileId ||
      JSON.stringify(canonical(parameters)) !== JSON.stringify(canonical(current.parameters));
    const actor = options.actor ?? null;
    const { row, lastEventId } = await this.deployments.transaction(async (tx) => {
      await this.rollouts.lockDeployment(tx, id);
      const events: NewOperatorEvent[] = [];
      const running = await this.rollouts.active(id, tx);
      if (running) {
        if (!options.supersede) throw this.busy(running);
        events.push((await this.rollouts.endActive(tx, id, 'superseded', actor ?? 'operator'))!);
      }
      const updated = await this.deployments.update(
        id,
        {
          packageId: pkgRow.id,
          parameters: parameters as object,
          profileId,
          onCapabilityLoss:
            input.onCapabilityLoss === null ? 'keep' : (input.onCapabilityLoss ?? current.onCapabilityLoss),
          ...(input.rollout !== undefined
            ? { rolloutPolicy: policy ? (policy as object) : Prisma.DbNull }
            : {}),
          revision: { increment: 1 },
        },
        tx,
      );
      const { row: beforePkg } = await this.packages.byId(current.packageId);
      await this.audit.record(tx, {
        action: 'deployment.update',
        resource: { type: 'deployment', id },
        summary: {
          patch: input,
          before: {
            version: beforePkg.version,
            profileId: current.profileId,
            parameters: current.parameters,
            onCapabilityLoss: current.onCapabilityLoss,
            revision: current.revision,
          },
          after: {
            version: pkgRow.version,
            profileId: updated.profileId,
            parameters: updated.parameters,
            onCapabilityLoss: updated.onCapabilityLoss,
            revision: updated.revision,
          },
          ...(running ? { superseded: running.id } : {}),
        },
      });
      await this.rollouts.recordRevision(
        tx,
        updated,
        contentChanged ? null : 'no change of what devices get',
        actor,
      );
      if (contentChanged && policy) {
        events.push(await this.rollouts.startRollout(tx, updated, policy, actor));
      } else if (contentChanged || !updated.rolloutId) {
        // at once: every target gets this revision, whatever an earlier (aborted) rollout left
        await this.deployments.update(id, { rolloutId: null, stableRevision: updated.revision }, tx);
      }
      return {
        row: (await this.deployments.findById(id, tx))!,
        lastEventId: await this.events.appendIn(tx, events),
      };
    });
    await this.events.published(lastEventId);
    await this.jobs.recomputeDeployment(id);
    return this.dto(row);
  }

  /** 409 problem for a change during an unfinished rollout. */
  private busy(rollout: RolloutRow): RolloutConflictError {
    return new RolloutConflictError(
      `Deployment ${rollout.deploymentId} has a rollout of revision ${rollout.toRevision} that is ${rollout.state}; ` +
        'wait for it to complete, abort it, or send the change with ?supersede=true',
      rollout,
    );
  }

  /** The rollout policy as sent (undefined: none sent), with its errors added to `errors`. */
  private checkPolicy(input: unknown, errors: FieldError[]): RolloutPolicy | undefined {
    if (input === undefined) return undefined;
    const result = validatePolicy(input, '/rollout');
    errors.push(...result.errors);
    return result.policy;
  }

  /** Marks the deployment deleted; its ApplicationDeployments leave the manifests asynchronously (202). */
  async remove(id: string, scope?: Scope): Promise<void> {
    const row = await this.deployments.findVisible(id, scope);
    if (!row) throw new DeploymentNotFoundError(id);
    const lastEventId = await this.deployments.transaction(async (tx) => {
      await this.rollouts.lockDeployment(tx, id);
      const ended = await this.rollouts.endActive(tx, id, 'deleted', 'operator');
      await this.deployments.update(id, { deletedAt: new Date(), revision: { increment: 1 } }, tx);
      await this.audit.record(tx, {
        action: 'deployment.delete',
        resource: { type: 'deployment', id },
        summary: { before: { applicationId: row.applicationId, revision: row.revision } },
      });
      return this.events.appendIn(tx, ended ? [ended] : []);
    });
    await this.events.published(lastEventId);
    await this.jobs.recomputeDeployment(id);
  }

  /** Device-level parameter overrides, layered over the deployment values. */
  async setOverrides(
    id: string,
    clientId: string,
    deviceId: string,
    values: Record<string, unknown>,
    scope?: Scope,
  ): Promise<DeploymentTargetDto> {
    const row = await this.deployments.findVisible(id, scope);
    if (!row) throw new DeploymentNotFoundError(id);
    const client = await this.clients.resolveRef(clientId, undefined, scope);
    const target = await this.deployments.findTarget(id, client.id, deviceId);
    if (!target) throw new DeploymentNotFoundError(`${id} has no target ${clientId}/${deviceId}`);
    const { pkg } = await this.packages.byId(row.packageId);
    const errors = validateParameterValues(pkg, values, {
      pointerPrefix: '/parameters',
      lockedImmutable: (target.lockedImmutable ?? undefined) as Record<string, JsonValue> | undefined,
    });
    if (errors.length > 0) {
      throw new SemanticError(`The overrides are invalid: ${errors[0].field} ${errors[0].message}`, errors);
    }
    const updated = await this.deployments.transaction(async (tx) => {
      const result = await this.deployments.setOverrides(target.id, values, tx);
      await this.audit.record(tx, {
        action: 'deployment.override',
        resource: { type: 'deployment', id },
        summary: { clientId: client.externalId, deviceId, before: target.overrides, after: values },
      });
      return result;
    });
    if (!(await this.jobs.tryRecomputeBatches(id, [{ clientId: client.id, deviceId }]))) {
      await this.deployments.markRecomputePending(id); // the sweeper recomputes the whole deployment
    }
    return toTargetDto(updated, pkg, row.parameters as Record<string, JsonValue>);
  }

  private async dto(row: DeploymentRow): Promise<DeploymentDetail> {
    const { row: pkgRow, pkg } = await this.packages.byId(row.packageId);
    const targets = await this.deployments.targetsOfDeployment(row.id);
    return { dto: toDeploymentDto(row, pkgRow, pkg, await this.targetOf(row), targets), targets };
  }

  /** The operator's target as given: `{clientId, deviceId}` or `{selector}`, with external client ids. */
  private async targetOf(row: DeploymentRow): Promise<Record<string, unknown>> {
    if (row.selector) {
      const { clientId, ...rest } = row.selector as Selector;
      return {
        selector: {
          ...rest,
          ...(clientId ? { clientId: (await this.clients.findRef(clientId))?.externalId } : {}),
        },
      };
    }
    return {
      clientId: (await this.clients.findRef(row.targetClientId!))?.externalId,
      deviceId: row.targetDeviceId,
    };
  }

  /** For the status module: the target a device reports on (by its ApplicationDeployment id), or null. */
  async targetForStatus(
    clientId: string,
    targetId: string,
  ): Promise<{ target: TargetRow; components: string[]; governed?: boolean } | null> {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(targetId)) return null;
    const target = await this.deployments.findTargetById(targetId);
    if (!target || target.clientId !== clientId) return null;
    const deployment = await this.deployments.findById(target.deploymentId);
    if (!deployment) return { target, components: [] };
    const { pkg } = await this.packages.byId(deployment.packageId);
    const profile = pkg.profiles.find((p) => p.id === target.profileId);
    // governed: a rollout decides this deployment's targets (the status module then asks it to look soon)
    return { target, components: profile?.componentNames ?? [], governed: deployment.rolloutId !== null };
  }

  /** For the status module: every live target with its operator deployment and application (within `scope`). */
  allTargets(scope?: Scope): Promise<(TargetRow & { applicationId: string })[]> {
    return this.deployments.liveTargets(scope);
  }

  /** A direct target's client; with a scope, one outside it is a 422 (it does not exist for the caller). */
  private async directTarget(
    clientId: string,
    profile: 'rc3' | 'legacy' | undefined,
    scope: Scope,
  ): Promise<{ id: string }> {
    try {
      return await this.clients.resolveRef(clientId, profile, scope);
    } catch (error) {
      if (scope === undefined || !(error instanceof ClientNotFoundError)) throw error;
      throw new SemanticError("The target client is outside the caller's scope", [
        { field: '/target/clientId', message: `owns no device inside the scope ${scopeText(scope)}` },
      ]);
    }
  }

  /** A scoped principal's selector may not ask for other values of the scope's labels. */
  private checkSelectorScope(
    selector: SelectorDto,
    scope: Record<string, string>,
    prefix = '/target/selector',
  ): FieldError[] {
    return Object.entries(scope)
      .filter(([key]) => selector.matchLabels?.[key] !== undefined)
      .filter(([key, value]) => String(selector.matchLabels![key]) !== value)
      .map(([key, value]) => ({
        field: `${prefix}/matchLabels/${key}`,
        message: `must be ${value} (or left out): the caller is limited to ${scopeText(scope)}`,
      }));
  }

  /** Also used by the deployment preview (deployment-preview.service.ts). */
  checkProfile(pkg: ApplicationPackage, profileId: string | undefined, at: string): FieldError[] {
    if (profileId === undefined || pkg.profiles.some((p) => p.id === profileId)) return [];
    return [
      {
        field: at,
        message: `the package has no profile ${profileId} (it has ${pkg.profiles.map((p) => p.id).join(', ')})`,
      },
    ];
  }

  /**
   * A selector given elsewhere than in a deployment (the bulk label call), checked like a deployment's
   * with pointers below `at`, and resolved (its client id to the internal one; unknown: 404).
   */
  async readSelector(
    dto: SelectorDto,
    at: string,
    scope?: Scope,
  ): Promise<{ errors: FieldError[]; selector: Selector }> {
    const errors = [
      ...this.checkSelector(dto, at),
      ...(scope !== undefined ? this.checkSelectorScope(dto, scope, at) : []),
    ];
    return { errors, selector: await this.toSelector(dto, scope) };
  }

  private checkSelector(selector: SelectorDto, prefix = '/target/selector'): FieldError[] {
    const errors: FieldError[] = [];
    for (const kind of ['labelSelector', 'propertySelector'] as const) {
      (selector[kind]?.matchExpressions ?? []).forEach((e, i) => {
        const at = `${prefix}/${kind}/matchExpressions/${i}`;
        if (OPERATORS_WITH_VALUES.has(e.operator) && !(e.values && e.values.length > 0)) {
          errors.push({ field: `${at}/values`, message: `${e.operator} needs values` });
        }
        if (
          NUMERIC_OPERATORS.has(e.operator) &&
          !(e.values?.length === 1 && typeof e.values[0] === 'number')
        ) {
          errors.push({ field: `${at}/values`, message: `${e.operator} needs exactly one number` });
        }
        if (kind === 'propertySelector' && !e.key.startsWith('/')) {
          errors.push({ field: `${at}/key`, message: 'must be a JSON pointer such as /vendor' });
        }
      });
    }
    for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
      if (!['string', 'number', 'boolean'].includes(typeof value)) {
        errors.push({
          field: `${prefix}/matchLabels/${key}`,
          message: 'must be a string, number or boolean',
        });
      }
    }
    return errors;
  }

  private async toSelector(dto: SelectorDto, scope: Scope): Promise<Selector> {
    const matchLabels = scope !== undefined ? { ...dto.matchLabels, ...scope } : dto.matchLabels;
    return {
      ...(matchLabels ? { matchLabels } : {}),
      ...(dto.labelSelector ? { labelSelector: dto.labelSelector as Selector['labelSelector'] } : {}),
      ...(dto.propertySelector
        ? { propertySelector: dto.propertySelector as Selector['propertySelector'] }
        : {}),
      ...(dto.clientId
        ? { clientId: (await this.clients.resolveRef(dto.clientId, undefined, scope)).id }
        : {}),
    };
  }

  /** An immutable parameter keeps the value it had when it was first used to install (per target). */
  private async checkImmutable(
    id: string,
    pkg: ApplicationPackage,
    parameters: Record<string, unknown>,
  ): Promise<FieldError[]> {
    const targets = await this.deployments.targetsOfDeployment(id);
    for (const target of targets) {
      if (!target.lockedImmutable) continue;
      const locked = target.lockedImmutable as Record<string, JsonValue>;
      const effective = effectiveParameters(pkg, [
        parameters as Record<string, JsonValue>,
        target.overrides as Record<string, JsonValue>,
      ]);
      const values = Object.fromEntries(
        Object.keys(locked).map((name) => [name, effective[name]?.value ?? null]),
      );
      const errors = validateParameterValues(pkg, values, {
        pointerPrefix: '/parameters',
        lockedImmutable: locked,
      });
      if (errors.length > 0) return errors;
    }
    return [];
  }
}
