import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DeviceFacts } from '../../../device-capability/device-facts.js';
import type { WaveSpec } from './policy.js';
import { deviceClassOf, diverseCanary, percentCount, planWaves, type WaveCandidate } from './waves.js';

function facts(
  deviceId: string,
  arch: string,
  model: string,
  labels: Record<string, string> = {},
): DeviceFacts {
  return {
    clientId: 'c1',
    deviceId,
    hosting: true,
    cpus: [{ cores: 4, architecture: arch }],
    memoryBytes: 8n << 30n,
    memoryText: '8Gi',
    storageBytes: 64n << 30n,
    storageText: '64Gi',
    peripherals: [],
    interfaceTypes: [],
    deploymentTypes: ['compose'],
    labels,
    properties: { vendor: 'Acme', modelNumber: model, supportedRuntimes: ['oci'] },
  };
}

const candidate = (deviceId: string, arch = 'arm64', model = 'EDGE-4', labels = {}): WaveCandidate => ({
  key: `c1|${deviceId}`,
  order: `line\u0000${deviceId}`,
  facts: facts(deviceId, arch, model, labels),
});
const matchLabels = (s: { matchLabels?: Record<string, unknown> }, f: DeviceFacts) =>
  Object.entries(s.matchLabels ?? {}).every(([k, v]) => f.labels[k] === v);

describe('wave planning', () => {
  const fleet = Array.from({ length: 10 }, (_, i) => candidate(`press-${String(i).padStart(2, '0')}`));

  it('takes count and percent waves in device order; the rest forms a last wave', () => {
    const { waves } = planWaves([...fleet].reverse(), [{ count: 1 }, { percent: 30 }], matchLabels);
    expect(waves.map((w) => w.members.map((m) => m.slice(9)))).toEqual([
      ['00'],
      ['01', '02', '03'],
      ['04', '05', '06', '07', '08', '09'],
    ]);
    expect(waves[2].spec).toEqual({ rest: true });
    expect(percentCount(10, 10)).toBe(1);
    expect(percentCount(3, 10)).toBe(1);
    expect(percentCount(1000, 33.3)).toBe(333);
  });

  it('leaves out empty waves and picks selector waves by labels', () => {
    const labelled = fleet.map((c, i) =>
      candidate(c.key.slice(3), 'arm64', 'EDGE-4', { line: i < 2 ? 'paint' : 'weld' }),
    );
    const { waves } = planWaves(
      labelled,
      [
        { selector: { matchLabels: { line: 'paint' } } },
        { selector: { matchLabels: { line: 'none' } } },
        { percent: 100 },
      ],
      matchLabels,
    );
    expect(waves.map((w) => w.members.length)).toEqual([2, 8]);
    expect(waves.map((w) => w.index)).toEqual([0, 1]);
  });

  it('a diverse canary covers every class before a second device of one', () => {
    const mixed = [
      ...Array.from({ length: 6 }, (_, i) => candidate(`a-${i}`, 'arm64', 'EDGE-4')),
      ...Array.from({ length: 3 }, (_, i) => candidate(`b-${i}`, 'amd64', 'EDGE-8')),
      candidate('gw/child-1', 'arm64', 'EDGE-4'),
    ];
    const three = diverseCanary(mixed, 3);
    expect(three.members).toEqual(['c1|a-0', 'c1|b-0', 'c1|gw/child-1']);
    expect(three.coverage.uncovered).toEqual([]);
    expect(three.coverage.covered.map((c) => c.deviceClass)).toEqual([
      'arm64 · Acme EDGE-4 · oci · compose',
      'amd64 · Acme EDGE-8 · oci · compose',
      'arm64 · Acme EDGE-4 · oci · compose · gateway child',
    ]);
    const two = diverseCanary(mixed, 2);
    expect(two.coverage.uncovered).toEqual([
      { deviceClass: 'arm64 · Acme EDGE-4 · oci · compose · gateway child', devices: 1 },
    ]);
    expect(diverseCanary(mixed, 5).members).toEqual([
      'c1|a-0',
      'c1|b-0',
      'c1|gw/child-1',
      'c1|a-1',
      'c1|b-1',
    ]);
    expect(deviceClassOf('x', undefined)).toBe('no capabilities reported');
  });

  it('is a partition of the devices, deterministic whatever the input order', () => {
    const spec = fc.oneof(
      fc.integer({ min: 1, max: 20 }).map((count): WaveSpec => ({ count })),
      fc.double({ min: 0.5, max: 100, noNaN: true }).map((percent): WaveSpec => ({ percent })),
    );
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 999 }), { maxLength: 60 }),
        fc.array(spec, { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        (ids, specs, canary) => {
          const devices = ids.map((n) => candidate(`d-${n}`, n % 3 === 0 ? 'amd64' : 'arm64', `M${n % 4}`));
          const all: WaveSpec[] = canary ? [{ canary: 'diverse', count: 3 }, ...specs] : specs;
          const a = planWaves(devices, all, matchLabels);
          const b = planWaves([...devices].reverse(), all, matchLabels);
          expect(b).toEqual(a);
          const members = a.waves.flatMap((w) => w.members);
          expect(new Set(members).size).toBe(members.length);
          expect(members.sort()).toEqual(devices.map((d) => d.key).sort());
          expect(a.waves.every((w) => w.members.length > 0)).toBe(true);
        },
      ),
    );
  });
});
