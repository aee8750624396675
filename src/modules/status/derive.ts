/**
 * Derived state of a target, computed from facts (issue "status" §3):
 *   unknown     no report yet
 *   failed      the device reported failed
 *   removed     the device reported removed
 *   installing  pending, installing or removing
 *   lagging     reported for an older manifest than the one that changed this deployment
 *   in-sync     installed, for the digest in the current manifest
 *   stale       no poll and no report for longer than 3× the polling interval, outside announced downtime
 * Staleness wins over the rest (an operator must know the picture is old); lagging beats installed.
 */
export type DerivedState = 'in-sync' | 'lagging' | 'failed' | 'installing' | 'removed' | 'unknown' | 'stale';

export interface DowntimeWindow {
  kind: 'once' | 'weekly';
  from?: string;
  to?: string;
  days?: string[];
  start?: string;
  end?: string;
  timezone?: string;
}

export interface DeriveInput {
  now: Date;
  state?: string;
  adoptedManifestVersion?: bigint | null;
  /** Manifest version in which this target's current digest first appeared. */
  digestSinceVersion?: bigint | null;
  lastPolledAt?: Date | null;
  lastReportedAt?: Date | null;
  pollingIntervalSeconds: number;
  downtimeWindows: DowntimeWindow[];
}

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

/** Weekday and minutes since midnight of `at` in a time zone. */
function localTime(at: Date, timeZone: string): { day: string; minutes: number } {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(at);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return {
    day: get('weekday').slice(0, 3).toLowerCase(),
    minutes: Number(get('hour')) * 60 + Number(get('minute')),
  };
}

const toMinutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** Whether `at` falls inside one of the announced downtime windows. */
export function inDowntime(at: Date, windows: DowntimeWindow[]): boolean {
  return windows.some((w) => {
    if (w.kind === 'once') return !!w.from && !!w.to && new Date(w.from) <= at && at < new Date(w.to);
    if (!w.start || !w.end) return false;
    const { day, minutes } = localTime(at, w.timezone ?? 'UTC');
    const start = toMinutes(w.start);
    const end = toMinutes(w.end);
    const days = w.days ?? DAYS;
    if (start <= end) return days.includes(day) && minutes >= start && minutes < end;
    // overnight: starts on a listed day, ends the next morning
    const previous = DAYS[(DAYS.indexOf(day) + 6) % 7];
    return (days.includes(day) && minutes >= start) || (days.includes(previous) && minutes < end);
  });
}

export function deriveState(input: DeriveInput): DerivedState {
  const lastContact = Math.max(input.lastPolledAt?.getTime() ?? 0, input.lastReportedAt?.getTime() ?? 0);
  const silentFor = input.now.getTime() - lastContact;
  if (
    lastContact > 0 &&
    silentFor > 3 * input.pollingIntervalSeconds * 1000 &&
    !inDowntime(input.now, input.downtimeWindows)
  ) {
    return 'stale';
  }
  switch (input.state) {
    case undefined:
      return 'unknown';
    case 'failed':
      return 'failed';
    case 'removed':
      return 'removed';
    case 'pending':
    case 'installing':
    case 'removing':
      return 'installing';
    case 'installed': {
      const adopted = input.adoptedManifestVersion;
      const since = input.digestSinceVersion;
      if (
        since !== undefined &&
        since !== null &&
        (adopted === undefined || adopted === null || adopted < since)
      ) {
        return 'lagging';
      }
      return 'in-sync';
    }
    default:
      return 'unknown';
  }
}
