/**
 * The health gate of a wave (issue 16, item 4), pure. A wave succeeds when at least
 * `successThreshold` of its placed targets are `in-sync` at the rollout's revision; it fails when
 * the share of `failed` ones exceeds `failureThreshold`; it times out when neither happened within
 * `waveTimeout`. A device inside a known downtime window counts neither way until the window ends,
 * and a wave does not time out while a device it still waits for is in downtime.
 */

/** What the gate knows of one member of a wave. */
export interface MemberHealth {
  /** A placed target (not placeable, removed or not yet decided members do not count). */
  placed: boolean;
  /** Rendered for the rollout's revision. */
  atRevision: boolean;
  /** The status module's derived state (undefined: not known). */
  derivedState: string | undefined;
  inDowntime: boolean;
}

export interface WaveCounts {
  members: number;
  placed: number;
  inSync: number;
  failed: number;
  inDowntime: number;
  /** Placed members by derived state (at the rollout's revision; `pending-render` before it). */
  byState: Record<string, number>;
}

export function countWave(members: MemberHealth[]): WaveCounts {
  const counts: WaveCounts = {
    members: members.length,
    placed: 0,
    inSync: 0,
    failed: 0,
    inDowntime: 0,
    byState: {},
  };
  for (const m of members) {
    if (!m.placed) continue;
    counts.placed++;
    const state = m.atRevision ? (m.derivedState ?? 'unknown') : 'pending-render';
    counts.byState[state] = (counts.byState[state] ?? 0) + 1;
    if (m.inDowntime) {
      counts.inDowntime++;
      continue;
    }
    if (state === 'in-sync') counts.inSync++;
    else if (state === 'failed') counts.failed++;
  }
  return counts;
}

export type GateOutcome = 'success' | 'failure' | 'timeout' | 'wait';

export interface GateInput {
  counts: WaveCounts;
  successThreshold: number;
  failureThreshold: number;
  /** null: no time limit. */
  waveTimeoutMs: number | null;
  /** Since when the wave's clock runs (its start, or the last resume). */
  clockAt: Date;
  now: Date;
}

/** Failure beats success (a wave with too many failures stops even if enough devices installed). */
export function evaluateGate(input: GateInput): GateOutcome {
  const { counts } = input;
  if (counts.placed === 0) return 'success';
  if (counts.failed / counts.placed > input.failureThreshold + 1e-12) return 'failure';
  if (counts.inSync / counts.placed >= input.successThreshold - 1e-12) return 'success';
  if (input.waveTimeoutMs === null) return 'wait';
  if (input.now.getTime() - input.clockAt.getTime() < input.waveTimeoutMs) return 'wait';
  // a device the wave still waits for is in downtime: the clock stops until the window ends
  if (counts.inDowntime > 0) return 'wait';
  return 'timeout';
}
