import { Injectable } from '@nestjs/common';
import type {
  DeploymentRevision,
  DeploymentRollout,
  Prisma,
  RolloutAction,
  RolloutWave,
} from '../../../../generated/prisma/client.js';
import { PrismaService } from '../../../../infra/database/prisma.service.js';
import { ACTIVE_STATES } from './machine.js';

type Db = PrismaService | Prisma.TransactionClient;
export type RevisionRow = DeploymentRevision;
export type RolloutRow = DeploymentRollout;
export type WaveRow = RolloutWave;
export type ActionRow = RolloutAction;

/** Tables `deployment_revision`, `deployment_rollout`, `rollout_wave`, `rollout_action`. */
@Injectable()
export class RolloutRepository {
  constructor(private readonly prisma: PrismaService) {}

  transaction<T>(fn: (tx: Prisma.TransactionClient) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(fn);
  }

  /** Serialises changes of one deployment's rollout (PATCH, operator actions, planning). */
  async lockDeployment(tx: Prisma.TransactionClient, deploymentId: string): Promise<void> {
    await tx.$queryRaw`SELECT id FROM deployment WHERE id = ${deploymentId}::uuid FOR UPDATE`;
  }

  async insertRevision(
    db: Db,
    row: Omit<Prisma.DeploymentRevisionUncheckedCreateInput, 'parameters'> & { parameters: unknown },
  ): Promise<void> {
    await db.deploymentRevision.upsert({
      where: { deploymentId_revision: { deploymentId: row.deploymentId, revision: row.revision } },
      create: { ...row, parameters: row.parameters as Prisma.InputJsonValue },
      update: {},
    });
  }

  findRevisions(deploymentId: string, revisions: number[], db: Db = this.prisma): Promise<RevisionRow[]> {
    if (revisions.length === 0) return Promise.resolve([]);
    return db.deploymentRevision.findMany({ where: { deploymentId, revision: { in: revisions } } });
  }

  revisions(deploymentId: string): Promise<RevisionRow[]> {
    return this.prisma.deploymentRevision.findMany({
      where: { deploymentId },
      orderBy: { revision: 'asc' },
    });
  }

  async createRollout(
    tx: Prisma.TransactionClient,
    data: {
      deploymentId: string;
      fromRevision: number | null;
      toRevision: number;
      policy: unknown;
      createdBy: string | null;
    },
  ): Promise<RolloutRow> {
    const row = await tx.deploymentRollout.create({
      data: { ...data, state: 'pending', policy: data.policy as Prisma.InputJsonValue },
    });
    await tx.deployment.update({ where: { id: data.deploymentId }, data: { rolloutId: row.id } });
    return row;
  }

  findRollout(id: string, db: Db = this.prisma): Promise<RolloutRow | null> {
    return db.deploymentRollout.findUnique({ where: { id } });
  }

  /** The deployment's rollouts, newest first. */
  rolloutsOf(deploymentId: string, take = 20): Promise<RolloutRow[]> {
    return this.prisma.deploymentRollout.findMany({
      where: { deploymentId },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take,
    });
  }

  /** The deployment's rollout that is not finished (at most one exists). */
  activeRollout(deploymentId: string, db: Db = this.prisma): Promise<RolloutRow | null> {
    return db.deploymentRollout.findFirst({
      where: { deploymentId, state: { in: [...ACTIVE_STATES] } },
      orderBy: { createdAt: 'desc' },
    });
  }

  /** Rollouts a worker tick looks at: progressing (time and gates) and pending (planning repair). */
  rolloutsToAdvance(take = 1_000): Promise<RolloutRow[]> {
    return this.prisma.deploymentRollout.findMany({
      where: { state: { in: ['pending', 'progressing'] } },
      orderBy: { createdAt: 'asc' },
      take,
    });
  }

  /** Every deployment's newest rollout by state (the `wfm_rollout_state` gauge). */
  latestRollouts(): Promise<
    { deploymentId: string; state: string; currentWave: number; waveCount: number }[]
  > {
    return this.prisma.$queryRaw`
      SELECT DISTINCT ON (r.deployment_id) r.deployment_id::text AS "deploymentId", r.state,
             r.current_wave AS "currentWave", r.wave_count AS "waveCount"
        FROM deployment_rollout r JOIN deployment d ON d.id = r.deployment_id AND d.deleted_at IS NULL
       ORDER BY r.deployment_id, r.created_at DESC, r.id DESC`;
  }

  waves(rolloutId: string, db: Db = this.prisma): Promise<WaveRow[]> {
    return db.rolloutWave.findMany({ where: { rolloutId }, orderBy: { index: 'asc' } });
  }

  async insertWaves(
    tx: Prisma.TransactionClient,
    rolloutId: string,
    waves: { index: number; spec: unknown; members: string[] }[],
  ): Promise<void> {
    if (waves.length === 0) return;
    await tx.rolloutWave.createMany({
      data: waves.map((w) => ({
        rolloutId,
        index: w.index,
        spec: w.spec as Prisma.InputJsonValue,
        members: w.members,
      })),
    });
  }

  /**
   * The conditional UPDATE of a transition: applies only when the rollout is still at `seq` (no
   * other worker or request moved it); true when this caller applied it.
   */
  async transition(
    tx: Prisma.TransactionClient,
    id: string,
    seq: number,
    data: Omit<Prisma.DeploymentRolloutUpdateManyMutationInput, 'seq'>,
  ): Promise<boolean> {
    const { count } = await tx.deploymentRollout.updateMany({
      where: { id, seq },
      data: { ...data, seq: { increment: 1 }, updatedAt: new Date() },
    });
    return count === 1;
  }

  async startWave(tx: Prisma.TransactionClient, rolloutId: string, index: number, at: Date): Promise<void> {
    await tx.rolloutWave.updateMany({
      where: { rolloutId, index, startedAt: null },
      data: { startedAt: at },
    });
  }

  async finishWave(
    tx: Prisma.TransactionClient,
    rolloutId: string,
    index: number,
    outcome: string,
    at: Date,
  ): Promise<void> {
    await tx.rolloutWave.updateMany({
      where: { rolloutId, index, finishedAt: null },
      data: { finishedAt: at, outcome },
    });
  }

  async addAction(
    tx: Prisma.TransactionClient,
    row: {
      rolloutId: string;
      action: string;
      actor: string;
      wave: number | null;
      fromState: string;
      toState: string;
      at: Date;
    },
  ): Promise<void> {
    await tx.rolloutAction.create({ data: row });
  }

  actions(rolloutIds: string[]): Promise<ActionRow[]> {
    return this.prisma.rolloutAction.findMany({
      where: { rolloutId: { in: rolloutIds } },
      orderBy: { id: 'asc' },
    });
  }

  /** The members (`clientId|deviceId`) of the rollout's started waves. */
  async reachedKeys(rolloutId: string, db: Db = this.prisma): Promise<Set<string>> {
    const rows = await db.$queryRaw<{ key: string }[]>`
      SELECT unnest(members) AS key FROM rollout_wave WHERE rollout_id = ${rolloutId}::uuid AND started_at IS NOT NULL`;
    return new Set(rows.map((r) => r.key));
  }

  /** Sets which rollout governs a deployment's targets, and its last completed revision. */
  async setGoverning(
    tx: Prisma.TransactionClient,
    deploymentId: string,
    data: { rolloutId: string | null; stableRevision?: number | null },
  ): Promise<void> {
    await tx.deployment.update({ where: { id: deploymentId }, data });
  }
}
