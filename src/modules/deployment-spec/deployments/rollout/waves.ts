import type { DeviceFacts } from '../../../device-capability/device-facts.js';
import type { WaveSelector, WaveSpec } from './policy.js';

/**
 * Wave planning (issue 16, items 4 and 5), pure and deterministic: the same devices and policy give
 * the same waves. Devices are taken in (client external id, deviceId) order; each wave takes its
 * share of the devices no earlier wave took; what the listed waves leave over forms one last wave.
 */

/** One device a rollout covers. `key` is `clientId|deviceId` (internal client id). */
export interface WaveCandidate {
  key: string;
  /** Sort key: external client id and deviceId. */
  order: string;
  /** Undefined when the device has no capabilities (it cannot be placed; it still counts for shares). */
  facts: DeviceFacts | undefined;
}

export interface PlannedWave {
  index: number;
  /** The spec it came from; `{rest: true}` for the wave of what the listed ones left. */
  spec: WaveSpec | { rest: true };
  members: string[];
}

/** What a diverse canary covered: the classes present among the targets, with and without a device in it. */
export interface CanaryCoverage {
  classes: number;
  covered: { deviceClass: string; devices: number; picked: number }[];
  uncovered: { deviceClass: string; devices: number }[];
}

const text = (v: unknown): string => (typeof v === 'string' && v !== '' ? v : '?');
const list = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
const joined = (values: string[]): string => [...new Set(values)].sort().join('+') || '?';

/**
 * A device's hardware/software class: CPU architecture(s), vendor and model, runtime(s), deployment
 * type(s); a device behind a gateway (`gw/child`) is a class of its own. Readable, e.g.
 * `arm64 · Acme EDGE-4 · oci · compose`.
 */
export function deviceClassOf(deviceId: string, facts: DeviceFacts | undefined): string {
  if (!facts) return 'no capabilities reported';
  const p = facts.properties;
  const parts = [
    joined(facts.cpus.map((c) => c.architecture ?? '?')),
    `${text(p.vendor)} ${text(p.modelNumber)}`,
    joined(list(p.supportedRuntimes)),
    joined(facts.deploymentTypes),
  ];
  if (deviceId.includes('/')) parts.push('gateway child');
  return parts.join(' · ');
}

/**
 * A diverse canary of `count` devices: one device of each class first (the classes with the most
 * devices first, ties by name), then a second of each, and so on.
 */
export function diverseCanary(
  candidates: WaveCandidate[],
  count: number,
): { members: string[]; coverage: CanaryCoverage } {
  const byClass = new Map<string, WaveCandidate[]>();
  for (const c of candidates) {
    const cls = deviceClassOf(c.key.slice(c.key.indexOf('|') + 1), c.facts);
    byClass.set(cls, [...(byClass.get(cls) ?? []), c]);
  }
  const classes = [...byClass.entries()].sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : 1));
  const members: string[] = [];
  const picked = new Map<string, number>();
  for (let round = 0; members.length < count; round++) {
    let any = false;
    for (const [cls, devices] of classes) {
      if (members.length >= count) break;
      if (round < devices.length) {
        members.push(devices[round].key);
        picked.set(cls, (picked.get(cls) ?? 0) + 1);
        any = true;
      }
    }
    if (!any) break;
  }
  return {
    members,
    coverage: {
      classes: classes.length,
      covered: classes
        .filter(([cls]) => picked.has(cls))
        .map(([cls, devices]) => ({ deviceClass: cls, devices: devices.length, picked: picked.get(cls)! })),
      uncovered: classes
        .filter(([cls]) => !picked.has(cls))
        .map(([cls, devices]) => ({ deviceClass: cls, devices: devices.length })),
    },
  };
}

/** Devices per percent wave: the share of all covered devices, rounded up, at least one. */
export function percentCount(total: number, percent: number): number {
  return Math.max(1, Math.ceil((total * percent) / 100 - 1e-9));
}

/**
 * Plans the waves. `matches` decides a selector wave's membership (the placement selector rules).
 * Waves that would be empty are left out, so every planned wave has members.
 */
export function planWaves(
  all: WaveCandidate[],
  specs: WaveSpec[],
  matches: (selector: WaveSelector, facts: DeviceFacts) => boolean,
): { waves: PlannedWave[]; canary: CanaryCoverage | null } {
  const sorted = [...all].sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0));
  let remaining = sorted;
  const waves: PlannedWave[] = [];
  let canary: CanaryCoverage | null = null;
  const add = (spec: PlannedWave['spec'], members: string[]) => {
    if (members.length === 0) return;
    const taken = new Set(members);
    remaining = remaining.filter((c) => !taken.has(c.key));
    waves.push({ index: waves.length, spec, members });
  };
  for (const spec of specs) {
    if ('canary' in spec) {
      const picked = diverseCanary(remaining, spec.count);
      canary = picked.coverage;
      // members in device order, like every other wave
      const set = new Set(picked.members);
      add(
        spec,
        remaining.filter((c) => set.has(c.key)).map((c) => c.key),
      );
    } else if ('count' in spec) {
      add(
        spec,
        remaining.slice(0, spec.count).map((c) => c.key),
      );
    } else if ('percent' in spec) {
      add(
        spec,
        remaining.slice(0, percentCount(sorted.length, spec.percent)).map((c) => c.key),
      );
    } else {
      add(
        spec,
        remaining.filter((c) => c.facts && matches(spec.selector, c.facts)).map((c) => c.key),
      );
    }
  }
  add(
    { rest: true },
    remaining.map((c) => c.key),
  );
  return { waves, canary };
}
