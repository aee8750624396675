import { Injectable, Logger } from '@nestjs/common';
import { ConflictError } from '../../../../common/problem/domain-error.js';
import type { Prisma } from '../../../../generated/prisma/client.js';
import { EventLogService, type NewOperatorEvent } from '../../../../infra/events/event-log.service.js';
import { DeviceCapabilityService } from '../../../device-capability/device-capability.service.js';
import { ClientsService } from '../../../enrollment/clients.service.js';
import { PackagesService } from '../../packages/packages.service.js';
import { DeploymentRepository } from '../deployment.repository.js';
import type { DeploymentRow, TargetRow } from '../deployment-rows.js';
import { DeploymentNotFoundError } from '../deployment.errors.js';
import { DeploymentJobs } from '../deployment.jobs.js';
import { type Selector, selectorMatches, type TargetKey } from '../placement/decision.js';
import type {
  DeploymentRevisionDto,
  DeploymentRolloutViewDto,
  RolloutDto,
  RolloutPolicyDto,
  RolloutSummaryDto,
  RolloutWaveDto,
} from './dto/rollout.dto.js';
import { countWave, evaluateGate, type MemberHealth, type WaveCounts } from './gate.js';
import {
  ACTIVE_STATES,
  onAction,
  onPlanned,
  onTick,
  type RolloutAction,
  type RolloutSnapshot,
  type RolloutState,
  type Transition,
} from './machine.js';
import { type Governing } from './pins.js';
import { durationMs, type RolloutPolicy } from './policy.js';
import { RolloutMetrics } from './rollout.metrics.js';
import { type RolloutRow, RolloutRepository, type WaveRow } from './rollout.repository.js';
import type { TargetHealthSource } from './target-health.port.js';
import { AuditService } from '../../../../infra/audit/audit.service.js';
import { planWaves, type WaveCandidate } from './waves.js';

/** Members listed per wave in the view. */
const MEMBERS_SHOWN = 1_000;
/** Transitions one tick applies to one rollout at most (e.g. wave succeeded, next wave started). */
const STEPS_PER_TICK = 4;

const TERMINAL: RolloutState[] = ['completed', 'aborted', 'rolled-back'];

/** A revision's content: what devices get at it. */
export interface RevisionContent {
  revision: number;
  packageId: string;
  profileId: string | null;
  parameters: unknown;
}

/** 409: the deployment has a rollout in a state that does not allow the request. */
export class RolloutConflictError extends ConflictError {
  constructor(detail: string, rollout: RolloutRow) {
    super(detail, {
      rollout: {
        id: rollout.id,
        state: rollout.state,
        reason: rollout.reason,
        currentWave: rollout.currentWave,
        waveCount: rollout.waveCount,
        toRevision: rollout.toRevision,
      },
    });
  }
}

const iso = (d: Date | null) => d?.toISOString() ?? null;

/**
 * Staged rollouts (issue 16): revisions, wave planning, health gates, operator control. State lives
 * in PostgreSQL; every transition is one conditional UPDATE (RolloutRepository.transition) in a
 * transaction with its wave changes, its history row and its operator event, so that with several
 * workers each transition happens exactly once. Pure parts: policy.ts, waves.ts, gate.ts,
 * machine.ts, pins.ts.
 */
@Injectable()
export class RolloutService {
  private readonly logger = new Logger(RolloutService.name);

  constructor(
    private readonly repo: RolloutRepository,
    private readonly deployments: DeploymentRepository,
    private readonly packages: PackagesService,
    private readonly capabilities: DeviceCapabilityService,
    private readonly clients: ClientsService,
    private readonly jobs: DeploymentJobs,
    private readonly events: EventLogService,
    private readonly metrics: RolloutMetrics,
    private readonly audit: AuditService,
  ) {}

  // ------------------------------------------------------------------------------------------------
  // revisions (called by DeploymentsService inside its transactions)

  /** Records what devices get at the deployment's current revision. */
  recordRevision(
    tx: Prisma.TransactionClient,
    row: DeploymentRow,
    note: string | null,
    createdBy: string | null,
  ): Promise<void> {
    return this.repo.insertRevision(tx, {
      deploymentId: row.id,
      revision: row.revision,
      packageId: row.packageId,
      profileId: row.profileId,
      parameters: row.parameters,
      note,
      createdBy,
    });
  }

  /** Starts a rollout of the deployment's current revision (it plans when the deployment is recomputed). */
  async startRollout(
    tx: Prisma.TransactionClient,
    row: DeploymentRow,
    policy: RolloutPolicy,
    createdBy: string | null,
  ): Promise<NewOperatorEvent> {
    const rollout = await this.repo.createRollout(tx, {
      deploymentId: row.id,
      fromRevision: row.stableRevision,
      toRevision: row.revision,
      policy,
      createdBy,
    });
    return this.event(rollout, 'pending', 'created', createdBy ?? 'worker');
  }

  /** The deployment's unfinished rollout, if any. */
  active(deploymentId: string, db?: Prisma.TransactionClient): Promise<RolloutRow | null> {
    return this.repo.activeRollout(deploymentId, db);
  }

  /** Ends the unfinished rollout because a change supersedes it or the deployment is deleted. */
  async endActive(
    tx: Prisma.TransactionClient,
    deploymentId: string,
    reason: 'superseded' | 'deleted',
    actor: string,
  ): Promise<NewOperatorEvent | null> {
    const active = await this.repo.activeRollout(deploymentId, tx);
    if (!active) return null;
    const now = new Date();
    const ok = await this.repo.transition(tx, active.id, active.seq, {
      state: 'aborted',
      reason,
      finishedAt: now,
    });
    if (!ok) throw new RolloutConflictError('The rollout changed meanwhile; try again', active);
    await this.repo.addAction(tx, {
      rolloutId: active.id,
      action: reason,
      actor,
      wave: active.currentWave,
      fromState: active.state,
      toState: 'aborted',
      at: now,
    });
    this.metrics.transitions.inc({ event: 'aborted' });
    return this.event({ ...active, state: 'aborted', reason }, active.state, reason, actor);
  }

  lockDeployment(tx: Prisma.TransactionClient, deploymentId: string): Promise<void> {
    return this.repo.lockDeployment(tx, deploymentId);
  }

  // ------------------------------------------------------------------------------------------------
  // pinning (called by RecomputeService)

  /** The rollout that decides the deployment's targets' revisions, and the devices it reached. */
  async pinsOf(
    deployment: DeploymentRow,
    db?: Prisma.TransactionClient,
  ): Promise<{ governing: Governing | null; reached: Set<string> }> {
    if (!deployment.rolloutId) return { governing: null, reached: new Set() };
    const rollout = await this.repo.findRollout(deployment.rolloutId, db);
    if (!rollout) return { governing: null, reached: new Set() };
    return {
      governing: { toRevision: rollout.toRevision, stableRevision: deployment.stableRevision },
      reached: await this.repo.reachedKeys(rollout.id, db),
    };
  }

  /** Content of these revisions (the current one from the deployment row). */
  async contents(
    deployment: DeploymentRow,
    revisions: number[],
    db?: Prisma.TransactionClient,
  ): Promise<Map<number, RevisionContent>> {
    const out = new Map<number, RevisionContent>([[deployment.revision, deployment]]);
    const wanted = [...new Set(revisions)].filter((r) => r !== deployment.revision);
    for (const row of await this.repo.findRevisions(deployment.id, wanted, db)) out.set(row.revision, row);
    return out;
  }

  // ------------------------------------------------------------------------------------------------
  // planning (called by RecomputeService.recomputeDeployment, before it fans out)

  /**
   * Plans a pending rollout's waves from the devices the deployment concerns (those with capabilities
   * that match its selector), stores them and starts the first wave (or waits for approval). Runs
   * in the deployment fan-out job, so the first wave's pins are committed before its batches run.
   */
  async planIfPending(deployment: DeploymentRow, devices: TargetKey[]): Promise<void> {
    if (!deployment.rolloutId) return;
    const rollout = await this.repo.findRollout(deployment.rolloutId);
    if (!rollout || rollout.state !== 'pending') return;
    const policy = rollout.policy as unknown as RolloutPolicy;
    const facts = new Map(
      (await this.capabilities.facts(devices)).map((f) => [`${f.clientId}|${f.deviceId}`, f]),
    );
    const refs = await this.clients.findRefs([...new Set(devices.map((d) => d.clientId))]);
    const selector = deployment.selector as Selector | null;
    const candidates: WaveCandidate[] = [];
    for (const d of devices) {
      const key = `${d.clientId}|${d.deviceId}`;
      const f = facts.get(key);
      const ref = refs.get(d.clientId);
      if (!f || !ref) continue;
      if (selector && !selectorMatches(selector, f)) continue;
      candidates.push({ key, order: `${ref.externalId}\u0000${d.deviceId}`, facts: f });
    }
    const plan = planWaves(candidates, policy.waves, (s, f) => selectorMatches(s, f));
    const snapshot = this.snapshotOf(rollout, []);
    const transition = onPlanned({ ...snapshot, waveCount: plan.waves.length }, policy.approval);
    const applied = await this.apply(rollout, transition, 'worker', new Date(), async (tx) => {
      await this.repo.insertWaves(tx, rollout.id, plan.waves);
      await tx.deploymentRollout.update({
        where: { id: rollout.id },
        data: {
          waveCount: plan.waves.length,
          canary: (plan.canary ?? undefined) as unknown as Prisma.InputJsonValue,
        },
      });
    });
    if (applied) {
      this.logger.log({
        msg: 'rollout planned',
        deploymentId: deployment.id,
        revision: rollout.toRevision,
        waves: plan.waves.map((w) => w.members.length),
      });
    }
  }

  // ------------------------------------------------------------------------------------------------
  // the worker

  /** One tick of the worker: time and gates for every progressing rollout. Returns the transitions applied. */
  async tick(health: TargetHealthSource, now = new Date()): Promise<number> {
    let applied = 0;
    for (const rollout of await this.repo.rolloutsToAdvance()) {
      try {
        applied += await this.advance(rollout, health, now);
      } catch (error) {
        this.logger.warn({ msg: 'rollout tick failed', rolloutId: rollout.id, error: String(error) });
      }
    }
    return applied;
  }

  /** Advances one rollout as far as its gates allow now. */
  async advance(start: RolloutRow, health: TargetHealthSource, now = new Date()): Promise<number> {
    let rollout: RolloutRow | null = start;
    let applied = 0;
    for (let step = 0; step < STEPS_PER_TICK && rollout?.state === 'progressing'; step++) {
      const policy = rollout.policy as unknown as RolloutPolicy;
      const waves = await this.repo.waves(rollout.id);
      const snapshot = this.snapshotOf(rollout, waves);
      const wave = waves[rollout.currentWave];
      let gate;
      if (wave && snapshot.waveStarted && !snapshot.waveFinishedAt) {
        const counts = await this.countsOf(rollout, wave, health);
        gate = evaluateGate({
          counts,
          successThreshold: policy.successThreshold,
          failureThreshold: policy.failureThreshold,
          waveTimeoutMs: durationMs(policy.waveTimeout),
          clockAt: rollout.waveClockAt ?? wave.startedAt ?? now,
          now,
        });
      }
      const transition = onTick(snapshot, {
        gate,
        approval: policy.approval,
        pauseBetweenWavesMs: durationMs(policy.pauseBetweenWaves) ?? 0,
        now,
      });
      if (!transition || !(await this.apply(rollout, transition, 'worker', now))) break;
      applied++;
      rollout = await this.repo.findRollout(rollout.id);
    }
    return applied;
  }

  // ------------------------------------------------------------------------------------------------
  // the operator

  /** approve | pause | resume | abort | rollback: 409 with the rollout's state when it cannot be done. */
  async act(
    deploymentId: string,
    action: RolloutAction,
    actor: string,
    health: TargetHealthSource,
    options: { staged?: boolean; scope?: Record<string, string> } = {},
  ): Promise<DeploymentRolloutViewDto> {
    const deployment = await this.deployments.findVisible(deploymentId, options.scope);
    if (!deployment) throw new DeploymentNotFoundError(deploymentId);
    const [rollout] = await this.repo.rolloutsOf(deploymentId, 1);
    if (!rollout) {
      throw new ConflictError(`Deployment ${deploymentId} has no rollout to ${action}`, { rollout: null });
    }
    const policy = rollout.policy as unknown as RolloutPolicy;
    const transition = onAction(
      this.snapshotOf(rollout, await this.repo.waves(rollout.id)),
      action,
      policy.approval,
    );
    if ('refused' in transition) throw new RolloutConflictError(`${transition.refused}`, rollout);
    const now = new Date();
    const applied = await this.apply(
      rollout,
      transition,
      actor,
      now,
      action === 'rollback' ? (tx) => this.rollBack(tx, rollout, actor, options.staged === true) : undefined,
      action,
    );
    if (!applied) {
      throw new RolloutConflictError('The rollout changed meanwhile; look at it and try again', rollout);
    }
    if (action === 'approve' || action === 'resume') {
      await this.advance((await this.repo.findRollout(rollout.id))!, health);
    }
    return this.view(deploymentId, health, options.scope);
  }

  /**
   * At once: every target re-renders the previous revision's content (as a new revision). Staged:
   * the previous content rolls out as a new rollout with the same policy (targets it has not reached
   * keep what they have; those still on the previous revision have its bytes already).
   */
  private async rollBack(
    tx: Prisma.TransactionClient,
    rollout: RolloutRow,
    actor: string,
    staged: boolean,
  ): Promise<void> {
    await this.repo.lockDeployment(tx, rollout.deploymentId);
    const [from] = await this.repo.findRevisions(rollout.deploymentId, [rollout.fromRevision!], tx);
    if (!from) throw new RolloutConflictError(`Revision ${rollout.fromRevision} is not recorded`, rollout);
    const row = await tx.deployment.update({
      where: { id: rollout.deploymentId },
      data: {
        packageId: from.packageId,
        profileId: from.profileId,
        parameters: from.parameters as Prisma.InputJsonValue,
        revision: { increment: 1 },
        rolloutId: null,
        recomputedRevision: 0,
      },
    });
    const note = `${staged ? 'staged ' : ''}rollback of revision ${rollout.toRevision} to revision ${from.revision}`;
    await this.recordRevision(tx, row, note, actor);
    if (staged) {
      await this.repo.createRollout(tx, {
        deploymentId: row.id,
        fromRevision: row.stableRevision,
        toRevision: row.revision,
        policy: rollout.policy,
        createdBy: actor,
      });
    } else {
      await tx.deployment.update({ where: { id: row.id }, data: { stableRevision: row.revision } });
    }
  }

  // ------------------------------------------------------------------------------------------------
  // transitions

  /**
   * Applies a transition: one transaction with the conditional UPDATE (false when another worker or
   * request moved the rollout first: nothing else is written), the wave changes, the history row,
   * `extra` and the operator event. After the commit: the recomputation it needs.
   */
  private async apply(
    rollout: RolloutRow,
    t: Transition,
    actor: string,
    now: Date,
    extra?: (tx: Prisma.TransactionClient) => Promise<void>,
    /** The operator's action (approve, pause, …) for the history; the worker's rows name the event. */
    action?: RolloutAction,
  ): Promise<boolean> {
    const terminal = TERMINAL.includes(t.to);
    const lastEventId = await this.repo.transaction(async (tx) => {
      const ok = await this.repo.transition(tx, rollout.id, rollout.seq, {
        state: t.to,
        reason: t.reason,
        currentWave: t.wave,
        ...(t.startWave || t.resetClock ? { waveClockAt: now } : {}),
        ...(terminal ? { finishedAt: now } : {}),
      });
      if (!ok) return null;
      await extra?.(tx); // first: planning inserts the waves that startWave starts
      if (t.finishWave) await this.repo.finishWave(tx, rollout.id, rollout.currentWave, t.finishWave, now);
      if (t.startWave) await this.repo.startWave(tx, rollout.id, t.wave, now);
      await this.repo.addAction(tx, {
        rolloutId: rollout.id,
        action: action ?? t.event,
        actor,
        wave: t.wave,
        fromState: rollout.state,
        toState: t.to,
        at: now,
      });
      if (action) {
        // an operator's action is audited with the change it made (issue 17)
        await this.audit.record(tx, {
          action: `rollout.${action}`,
          resource: { type: 'deployment', id: rollout.deploymentId },
          summary: {
            rollout: rollout.id,
            revision: rollout.toRevision,
            before: { state: rollout.state, wave: rollout.currentWave },
            after: { state: t.to, wave: t.wave },
          },
        });
      }
      if (t.to === 'completed') {
        await this.repo.setGoverning(tx, rollout.deploymentId, {
          rolloutId: null,
          stableRevision: rollout.toRevision,
        });
      }
      // the recomputation this transition needs is recorded in the outbox (the sweeper's marker)
      if (t.startWave || t.to === 'completed') {
        await this.deployments.markRecomputePending(rollout.deploymentId, tx);
      }
      const event = this.event(
        { ...rollout, state: t.to, reason: t.reason, currentWave: t.wave },
        rollout.state,
        t.event,
        actor,
      );
      return this.events.appendIn(tx, [event]);
    });
    if (lastEventId === null) return false;
    this.metrics.transitions.inc({ event: t.event });
    await this.events.published(lastEventId);
    if (t.startWave || t.to === 'completed' || t.to === 'rolled-back') {
      await this.jobs.recomputeDeployment(rollout.deploymentId);
    }
    return true;
  }

  private event(rollout: RolloutRow, from: string, event: string, actor: string): NewOperatorEvent {
    return {
      type: 'rollout.changed',
      deploymentId: rollout.deploymentId,
      data: {
        rolloutId: rollout.id,
        event,
        from,
        state: rollout.state,
        reason: rollout.reason,
        wave: rollout.currentWave,
        waveCount: rollout.waveCount,
        toRevision: rollout.toRevision,
        actor,
      },
    };
  }

  private snapshotOf(rollout: RolloutRow, waves: WaveRow[]): RolloutSnapshot {
    const wave = waves[rollout.currentWave];
    return {
      state: rollout.state as RolloutState,
      reason: rollout.reason,
      wave: rollout.currentWave,
      waveCount: rollout.waveCount,
      waveStarted: !!wave?.startedAt,
      waveFinishedAt: wave?.finishedAt ?? null,
      canRollBack: rollout.fromRevision !== null,
    };
  }

  /** The gate's counts of one wave: its members' targets and what the status module derives for them. */
  private async countsOf(
    rollout: RolloutRow,
    wave: WaveRow,
    health: TargetHealthSource,
  ): Promise<WaveCounts> {
    const keys = wave.members.map((m) => {
      const at = m.indexOf('|');
      return { clientId: m.slice(0, at), deviceId: m.slice(at + 1) };
    });
    const targets = await this.deployments.targetsFor(rollout.deploymentId, keys);
    const byKey = new Map(targets.map((t) => [`${t.clientId}|${t.deviceId}`, t]));
    // rendered for the rollout's revision and listed by an issued manifest (a report for an older
    // manifest does not count: digestSinceVersion is null until a manifest lists the new digest)
    const atRevision = (t: TargetRow) =>
      t.placement === 'placed' && t.renderedRevision === rollout.toRevision && t.digestSinceVersion !== null;
    // every counted member's health: downtime holds a wave also for a device not yet on the revision
    const counted = (t: TargetRow) => !['not-placeable', 'removed'].includes(t.placement);
    const views = await health.healthOf(targets.filter(counted));
    const members: MemberHealth[] = wave.members.map((key) => {
      const t: TargetRow | undefined = byKey.get(key);
      const view = t ? views.get(t.id) : undefined;
      return {
        // not yet decided counts as placed (the wave waits for it); not placeable or removed does not
        placed: !t || counted(t),
        atRevision: !!t && atRevision(t),
        derivedState: t && atRevision(t) ? view?.derivedState : undefined,
        inDowntime: view?.inDowntime ?? false,
      };
    });
    return countWave(members);
  }

  // ------------------------------------------------------------------------------------------------
  // the view

  /** The rollout view; `scope`: the caller's label scope (a deployment outside it is not found). */
  async view(
    deploymentId: string,
    health: TargetHealthSource,
    scope?: Record<string, string>,
  ): Promise<DeploymentRolloutViewDto> {
    const deployment = await this.deployments.findVisible(deploymentId, scope);
    if (!deployment) throw new DeploymentNotFoundError(deploymentId);
    const [rollouts, revisions] = await Promise.all([
      this.repo.rolloutsOf(deploymentId),
      this.repo.revisions(deploymentId),
    ]);
    const [latest, ...previous] = rollouts;
    return {
      deploymentId,
      revision: deployment.revision,
      stableRevision: deployment.stableRevision,
      policy: (deployment.rolloutPolicy ?? null) as RolloutPolicyDto | null,
      rollout: latest ? await this.rolloutDto(latest, health) : null,
      previous: previous.map((r) => this.summary(r)),
      revisions: await Promise.all(revisions.map((r) => this.revisionDto(r))),
    };
  }

  private summary(r: RolloutRow): RolloutSummaryDto {
    return {
      id: r.id,
      state: r.state,
      reason: r.reason,
      fromRevision: r.fromRevision,
      toRevision: r.toRevision,
      currentWave: r.currentWave,
      waveCount: r.waveCount,
      createdAt: r.createdAt.toISOString(),
      finishedAt: iso(r.finishedAt),
    };
  }

  private async rolloutDto(r: RolloutRow, health: TargetHealthSource): Promise<RolloutDto> {
    const [waves, actions] = await Promise.all([this.repo.waves(r.id), this.repo.actions([r.id])]);
    const shown = waves.flatMap((w) => w.members.slice(0, MEMBERS_SHOWN));
    const refs = await this.clients.findRefs([...new Set(shown.map((m) => m.slice(0, m.indexOf('|'))))]);
    const waveDtos: RolloutWaveDto[] = [];
    for (const w of waves) {
      waveDtos.push({
        index: w.index,
        spec: w.spec as Record<string, unknown>,
        size: w.members.length,
        members: w.members.slice(0, MEMBERS_SHOWN).map((m) => {
          const at = m.indexOf('|');
          return {
            clientId: refs.get(m.slice(0, at))?.externalId ?? m.slice(0, at),
            deviceId: m.slice(at + 1),
          };
        }),
        startedAt: iso(w.startedAt),
        finishedAt: iso(w.finishedAt),
        outcome: w.outcome,
        counts: await this.countsOf(r, w, health),
      });
    }
    return {
      ...this.summary(r),
      policy: r.policy as unknown as RolloutPolicyDto,
      createdBy: r.createdBy,
      updatedAt: r.updatedAt.toISOString(),
      canary: (r.canary ?? null) as RolloutDto['canary'],
      waves: waveDtos,
      actions: actions.map((a) => ({
        action: a.action,
        actor: a.actor,
        wave: a.wave,
        fromState: a.fromState,
        toState: a.toState,
        at: a.at.toISOString(),
      })),
    };
  }

  private async revisionDto(r: {
    revision: number;
    packageId: string;
    profileId: string | null;
    parameters: unknown;
    note: string | null;
    createdBy: string | null;
    createdAt: Date;
  }): Promise<DeploymentRevisionDto> {
    const version = await this.packages
      .byId(r.packageId)
      .then((p) => p.row.version)
      .catch(() => '(deleted)');
    return {
      revision: r.revision,
      version,
      profileId: r.profileId,
      parameters: r.parameters as Record<string, unknown>,
      note: r.note,
      createdBy: r.createdBy,
      createdAt: r.createdAt.toISOString(),
    };
  }

  /** For the rollout gauges. */
  latestStates(): Promise<{ deploymentId: string; state: string; currentWave: number; waveCount: number }[]> {
    return this.repo.latestRollouts();
  }

  static isActive(state: string): boolean {
    return (ACTIVE_STATES as string[]).includes(state);
  }
}
