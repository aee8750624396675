import { describe, expect, it } from 'vitest';
import { deriveState, inDowntime } from './derive.js';

const now = new Date('2026-11-29T02:30:00Z'); // a Sunday
const base = {
  now,
  pollingIntervalSeconds: 30,
  downtimeWindows: [],
  lastPolledAt: new Date(now.getTime() - 10_000),
};

describe('deriveState', () => {
  it.each([
    [{}, 'unknown'],
    [{ state: 'failed' }, 'failed'],
    [{ state: 'removed' }, 'removed'],
    [{ state: 'installing' }, 'installing'],
    [{ state: 'pending' }, 'installing'],
    [{ state: 'installed', adoptedManifestVersion: 5n, digestSinceVersion: 5n }, 'in-sync'],
    [{ state: 'installed', adoptedManifestVersion: 4n, digestSinceVersion: 5n }, 'lagging'],
    [{ state: 'installed', adoptedManifestVersion: null, digestSinceVersion: 5n }, 'lagging'],
  ])('%# → %s', (extra, expected) => {
    expect(deriveState({ ...base, ...extra })).toBe(expected);
  });

  it('is stale after 3× the polling interval without contact, but not inside announced downtime', () => {
    const silent = { ...base, state: 'installed', lastPolledAt: new Date(now.getTime() - 91_000) };
    expect(deriveState(silent)).toBe('stale');
    expect(deriveState({ ...silent, lastReportedAt: new Date(now.getTime() - 5_000) })).toBe('in-sync');
    expect(
      deriveState({
        ...silent,
        downtimeWindows: [{ kind: 'weekly', days: ['sun'], start: '01:00', end: '05:00' }],
      }),
    ).toBe('in-sync');
    expect(
      deriveState({
        ...silent,
        downtimeWindows: [{ kind: 'once', from: '2026-11-29T00:00:00Z', to: '2026-11-29T03:00:00Z' }],
      }),
    ).toBe('in-sync');
  });
});

describe('inDowntime', () => {
  it('handles overnight weekly windows and time zones', () => {
    const w = [{ kind: 'weekly' as const, days: ['sat'], start: '22:00', end: '04:00' }];
    expect(inDowntime(new Date('2026-11-28T23:00:00Z'), w)).toBe(true); // Saturday night
    expect(inDowntime(new Date('2026-11-29T03:00:00Z'), w)).toBe(true); // Sunday early morning
    expect(inDowntime(new Date('2026-11-29T05:00:00Z'), w)).toBe(false);
    const berlin = [
      { kind: 'weekly' as const, days: ['sun'], start: '03:00', end: '04:00', timezone: 'Europe/Berlin' },
    ];
    expect(inDowntime(new Date('2026-11-29T02:30:00Z'), berlin)).toBe(true); // 03:30 in Berlin
  });
});
