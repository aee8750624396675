import { describe, expect, it } from 'vitest';
import { countWave, evaluateGate, type MemberHealth } from './gate.js';
import { onAction, onPlanned, onTick, type RolloutSnapshot } from './machine.js';
import { pinOf } from './pins.js';

const member = (derivedState: string, extra: Partial<MemberHealth> = {}): MemberHealth => ({
  placed: true,
  atRevision: true,
  derivedState,
  inDowntime: false,
  ...extra,
});

const snap = (s: Partial<RolloutSnapshot> = {}): RolloutSnapshot => ({
  state: 'progressing',
  reason: null,
  wave: 0,
  waveCount: 3,
  waveStarted: true,
  waveFinishedAt: null,
  canRollBack: true,
  ...s,
});

const now = new Date('2026-12-03T10:00:00Z');
const minutesAgo = (m: number) => new Date(now.getTime() - m * 60_000);

describe('wave gate', () => {
  const gate = (
    members: MemberHealth[],
    opts: { success?: number; failure?: number; timeoutMs?: number | null; clockAt?: Date } = {},
  ) =>
    evaluateGate({
      counts: countWave(members),
      successThreshold: opts.success ?? 1,
      failureThreshold: opts.failure ?? 0,
      waveTimeoutMs: opts.timeoutMs === undefined ? 60_000 : opts.timeoutMs,
      clockAt: opts.clockAt ?? now,
      now,
    });

  it('succeeds at the success share, fails above the failure share, times out', () => {
    expect(gate([member('in-sync'), member('in-sync')])).toBe('success');
    expect(gate([member('in-sync'), member('installing')])).toBe('wait');
    expect(gate([member('in-sync'), member('installing')], { success: 0.5 })).toBe('success');
    expect(gate([member('in-sync'), member('failed')], { success: 0.5 })).toBe('failure');
    expect(gate([member('in-sync'), member('failed')], { success: 0.5, failure: 0.5 })).toBe('success');
    expect(gate([member('installing')], { clockAt: minutesAgo(2) })).toBe('timeout');
    expect(gate([member('installing')], { clockAt: minutesAgo(2), timeoutMs: null })).toBe('wait');
  });

  it('counts only placed members at the new revision; downtime counts neither way and holds the clock', () => {
    const counts = countWave([
      member('in-sync'),
      member('in-sync', { atRevision: false }),
      member('failed', { placed: false }),
      member('failed', { inDowntime: true }),
    ]);
    expect(counts).toEqual({
      members: 4,
      placed: 3,
      inSync: 1,
      failed: 0,
      inDowntime: 1,
      byState: { 'in-sync': 1, 'pending-render': 1, failed: 1 },
    });
    expect(gate([member('failed', { inDowntime: true }), member('in-sync')])).toBe('wait');
    expect(gate([member('failed', { inDowntime: true })], { clockAt: minutesAgo(5) })).toBe('wait');
    expect(gate([member('x', { placed: false })])).toBe('success');
  });
});

describe('rollout state machine', () => {
  const tick = (
    s: RolloutSnapshot,
    gate?: 'success' | 'failure' | 'timeout' | 'wait',
    approval = 'none' as const,
    pauseMs = 0,
  ) => onTick(s, { gate, approval, pauseBetweenWavesMs: pauseMs, now });

  it('plans into the first wave, or waits for approval, or completes without waves', () => {
    expect(onPlanned(snap({ state: 'pending', waveStarted: false }), 'none')).toMatchObject({
      to: 'progressing',
      startWave: true,
      wave: 0,
    });
    expect(onPlanned(snap({ state: 'pending', waveStarted: false }), 'before-first-wave')).toMatchObject({
      to: 'waiting-approval',
      startWave: false,
    });
    expect(onPlanned(snap({ state: 'pending', waveCount: 0 }), 'none')).toMatchObject({ to: 'completed' });
  });

  it('goes wave by wave, with the pause and approvals between waves', () => {
    expect(tick(snap(), 'wait')).toBeNull();
    expect(tick(snap(), 'success')).toMatchObject({ to: 'progressing', finishWave: 'success', wave: 0 });
    expect(tick(snap({ waveFinishedAt: minutesAgo(1) }), undefined, 'none', 120_000)).toBeNull();
    expect(tick(snap({ waveFinishedAt: minutesAgo(3) }), undefined, 'none', 120_000)).toMatchObject({
      to: 'progressing',
      wave: 1,
      startWave: true,
    });
    expect(
      onTick(snap({ waveFinishedAt: now }), {
        gate: undefined,
        approval: 'before-each-wave',
        pauseBetweenWavesMs: 0,
        now,
      }),
    ).toMatchObject({
      to: 'waiting-approval',
      wave: 1,
    });
    expect(
      onTick(snap({ waveFinishedAt: now }), {
        gate: undefined,
        approval: 'before-first-wave',
        pauseBetweenWavesMs: 0,
        now,
      }),
    ).toMatchObject({
      to: 'progressing',
      wave: 1,
    });
    expect(tick(snap({ wave: 2, waveFinishedAt: now }))).toMatchObject({ to: 'completed' });
    expect(tick(snap(), 'failure')).toMatchObject({ to: 'paused', reason: 'threshold' });
    expect(tick(snap(), 'timeout')).toMatchObject({ to: 'paused', reason: 'timeout' });
    expect(tick(snap({ state: 'paused', reason: 'operator' }), 'success')).toBeNull();
  });

  it('operator actions: approve, pause, resume, abort, rollback, and refusals', () => {
    expect(
      onAction(snap({ state: 'waiting-approval', waveStarted: false }), 'approve', 'before-each-wave'),
    ).toMatchObject({ to: 'progressing', startWave: true });
    expect(onAction(snap({ state: 'paused', reason: 'threshold' }), 'approve', 'none')).toMatchObject({
      to: 'progressing',
      finishWave: 'accepted',
    });
    expect(onAction(snap({ state: 'paused', reason: 'operator' }), 'approve', 'none')).toHaveProperty(
      'refused',
    );
    expect(onAction(snap(), 'approve', 'none')).toHaveProperty('refused');
    expect(onAction(snap(), 'pause', 'none')).toMatchObject({ to: 'paused', reason: 'operator' });
    expect(onAction(snap({ state: 'paused', reason: 'timeout' }), 'resume', 'none')).toMatchObject({
      to: 'progressing',
      resetClock: true,
    });
    expect(
      onAction(
        snap({ state: 'paused', reason: 'operator', waveStarted: false }),
        'resume',
        'before-each-wave',
      ),
    ).toMatchObject({ to: 'waiting-approval' });
    expect(onAction(snap({ state: 'completed' }), 'resume', 'none')).toHaveProperty('refused');
    expect(onAction(snap({ state: 'paused' }), 'abort', 'none')).toMatchObject({ to: 'aborted' });
    expect(onAction(snap({ state: 'completed' }), 'abort', 'none')).toHaveProperty('refused');
    expect(onAction(snap({ state: 'completed' }), 'rollback', 'none')).toMatchObject({ to: 'rolled-back' });
    expect(onAction(snap({ canRollBack: false }), 'rollback', 'none')).toHaveProperty('refused');
    expect(onAction(snap({ state: 'rolled-back' }), 'rollback', 'none')).toHaveProperty('refused');
  });
});

describe('revision pins', () => {
  const governing = { toRevision: 3, stableRevision: 2 };
  it('current without a governing rollout; reached, kept, late joiner, waiting', () => {
    expect(pinOf(null, false, undefined)).toEqual({ kind: 'current' });
    expect(pinOf(governing, true, { renderedRevision: 2, digest: 'sha256:a' })).toEqual({
      kind: 'reached',
      revision: 3,
    });
    expect(pinOf(governing, false, { renderedRevision: 2, digest: 'sha256:a' })).toMatchObject({
      kind: 'kept',
      revision: 2,
    });
    expect(pinOf(governing, false, { renderedRevision: null, digest: null })).toMatchObject({
      kind: 'late',
      revision: 2,
    });
    expect(pinOf({ toRevision: 1, stableRevision: null }, false, undefined)).toMatchObject({ kind: 'wait' });
  });
});
