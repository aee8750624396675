import type { GateOutcome } from './gate.js';
import type { Approval } from './policy.js';

/**
 * The rollout state machine (issue 16, item 6), pure: what a tick or an operator action does to a
 * rollout. RolloutService applies a transition with one conditional UPDATE guarded by the
 * rollout's transition counter, so that of two workers deciding the same transition one applies it.
 *
 *   pending ──planned──▶ progressing ◀──approve── waiting-approval
 *      │                  │   ▲  │ wave gate success → (pause) → next wave / completed
 *      │                  │   │  └ failure share / timeout → paused (threshold | timeout)
 *      │                  ▼   │resume
 *      │                paused (operator | threshold | timeout) ──approve──▶ wave accepted
 *      └── abort ──▶ aborted        any but rolled-back ── rollback ──▶ rolled-back
 */

export const ROLLOUT_STATES = [
  'pending',
  'progressing',
  'waiting-approval',
  'paused',
  'completed',
  'aborted',
  'rolled-back',
] as const;
export type RolloutState = (typeof ROLLOUT_STATES)[number];
export const ACTIVE_STATES: readonly RolloutState[] = [
  'pending',
  'progressing',
  'waiting-approval',
  'paused',
];
export type PauseReason = 'threshold' | 'timeout' | 'operator';
export const ACTIONS = ['approve', 'pause', 'resume', 'abort', 'rollback'] as const;
export type RolloutAction = (typeof ACTIONS)[number];

/** What the machine needs to know of a rollout. */
export interface RolloutSnapshot {
  state: RolloutState;
  reason: string | null;
  /** The current wave (0-based). */
  wave: number;
  waveCount: number;
  /** The current wave has started (its devices were given the new revision). */
  waveStarted: boolean;
  /** The current wave passed its gate (or the operator accepted it); the rollout waits for the pause. */
  waveFinishedAt: Date | null;
  /** The rollout has an earlier revision to go back to. */
  canRollBack: boolean;
}

export interface Transition {
  to: RolloutState;
  reason: string | null;
  wave: number;
  /** Start `wave` now: its members get the new revision and its clock starts. */
  startWave: boolean;
  /** Finish the current wave with this outcome. */
  finishWave: 'success' | 'accepted' | null;
  /** Restart the current wave's clock (resume). */
  resetClock: boolean;
  /** Short name of what happened (event, history). */
  event: string;
}

const base = (s: RolloutSnapshot): Omit<Transition, 'to' | 'event'> => ({
  reason: null,
  wave: s.wave,
  startWave: false,
  finishWave: null,
  resetClock: false,
});

/** Whether `wave` waits for an operator's approval before it starts. */
export function needsApproval(approval: Approval, wave: number): boolean {
  return approval === 'before-each-wave' || (approval === 'before-first-wave' && wave === 0);
}

/** pending → the waves are planned: the first starts, or waits for approval; no waves: completed. */
export function onPlanned(s: RolloutSnapshot, approval: Approval): Transition {
  if (s.waveCount === 0) return { ...base(s), wave: 0, to: 'completed', event: 'completed' };
  if (needsApproval(approval, 0)) {
    return { ...base(s), wave: 0, to: 'waiting-approval', event: 'waiting-approval' };
  }
  return { ...base(s), wave: 0, to: 'progressing', startWave: true, event: 'wave-started' };
}

/** What time and the gate do to a progressing rollout (null: nothing yet). */
export function onTick(
  s: RolloutSnapshot,
  input: { gate: GateOutcome | undefined; approval: Approval; pauseBetweenWavesMs: number; now: Date },
): Transition | null {
  if (s.state !== 'progressing') return null;
  if (s.waveFinishedAt) {
    if (s.wave + 1 >= s.waveCount) return { ...base(s), to: 'completed', event: 'completed' };
    if (input.now.getTime() - s.waveFinishedAt.getTime() < input.pauseBetweenWavesMs) return null;
    const next = s.wave + 1;
    if (needsApproval(input.approval, next)) {
      return { ...base(s), wave: next, to: 'waiting-approval', event: 'waiting-approval' };
    }
    return { ...base(s), wave: next, to: 'progressing', startWave: true, event: 'wave-started' };
  }
  if (!s.waveStarted) return { ...base(s), to: 'progressing', startWave: true, event: 'wave-started' };
  switch (input.gate) {
    case 'failure':
      return { ...base(s), to: 'paused', reason: 'threshold', event: 'paused' };
    case 'timeout':
      return { ...base(s), to: 'paused', reason: 'timeout', event: 'paused' };
    case 'success':
      return { ...base(s), to: 'progressing', finishWave: 'success', event: 'wave-succeeded' };
    case 'wait':
    case undefined:
      return null;
  }
}

/** What an operator action does; `refused` says why it cannot be done in this state. */
export function onAction(
  s: RolloutSnapshot,
  action: RolloutAction,
  approval: Approval,
): Transition | { refused: string } {
  const refuse = (why: string) => ({ refused: `cannot ${action} a rollout that is ${s.state}${why}` });
  switch (action) {
    case 'approve':
      if (s.state === 'waiting-approval') {
        return { ...base(s), to: 'progressing', startWave: true, event: 'wave-started' };
      }
      if (s.state === 'paused' && s.waveStarted && !s.waveFinishedAt && s.reason !== 'operator') {
        // the operator accepts the wave as it is (e.g. the failures are understood) and moves on
        return { ...base(s), to: 'progressing', finishWave: 'accepted', event: 'wave-accepted' };
      }
      return refuse(
        s.state === 'paused' ? ' by an operator (resume it, or approve after it paused by itself)' : '',
      );
    case 'pause':
      if (s.state === 'progressing' || s.state === 'waiting-approval') {
        return { ...base(s), to: 'paused', reason: 'operator', event: 'paused' };
      }
      return refuse('');
    case 'resume':
      if (s.state !== 'paused') return refuse('');
      if (s.waveFinishedAt || s.waveStarted) {
        return { ...base(s), to: 'progressing', resetClock: !s.waveFinishedAt, event: 'resumed' };
      }
      if (needsApproval(approval, s.wave)) {
        return { ...base(s), to: 'waiting-approval', event: 'waiting-approval' };
      }
      return { ...base(s), to: 'progressing', startWave: true, event: 'wave-started' };
    case 'abort':
      if ((ACTIVE_STATES as string[]).includes(s.state)) {
        return { ...base(s), to: 'aborted', reason: 'operator', event: 'aborted' };
      }
      return refuse('');
    case 'rollback':
      if (s.state === 'rolled-back') return refuse('');
      if (!s.canRollBack) {
        return {
          refused:
            'cannot roll back the first rollout of a deployment: there is no earlier revision (abort it or delete the deployment)',
        };
      }
      return { ...base(s), to: 'rolled-back', reason: 'operator', event: 'rolled-back' };
  }
}
