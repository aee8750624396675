import { describe, expect, it } from 'vitest';
import { parseQuantity } from '../../../device-capability/quantity.js';
import type { CapacityRequirements, DeploymentProfile } from '../../packages/domain.js';
import type { DeviceFacts } from '../../../device-capability/device-facts.js';
import type { DeviceLoad } from './placement.js';
import { placePackage, placeProfile } from './placement.js';

const bytes = (text: string): bigint => {
  const value = parseQuantity(text);
  if (value === undefined) throw new Error(`bad quantity ${text}`);
  return value;
};

function device(overrides: Partial<DeviceFacts> = {}): DeviceFacts {
  return {
    clientId: 'client-1',
    deviceId: 'edge-01',
    hosting: true,
    cpus: [{ cores: 8, architecture: 'amd64' }],
    memoryBytes: bytes('16Gi'),
    memoryText: '16Gi',
    storageBytes: bytes('100Gi'),
    storageText: '100Gi',
    peripherals: [{ type: 'gpu', manufacturer: 'NVIDIA', model: 'A2' }, { type: 'camera' }],
    interfaceTypes: ['ethernet', 'wifi'],
    deploymentTypes: ['helm'],
    labels: { 'example.com/line': 'welding' },
    properties: { id: 'edge-01', vendor: 'Acme' },
    ...overrides,
  };
}

function profile(
  id: string,
  requirements: Partial<CapacityRequirements> = {},
  extra: Partial<DeploymentProfile> = {},
) {
  const p: DeploymentProfile = {
    id,
    type: 'helm',
    components: [{ name: 'app', properties: { repository: 'oci://r/app', revision: '1.0.0' } }],
    componentNames: ['app'],
    requirements: { peripherals: [], interfaces: [], ...requirements },
    eligibilityRules: [],
    extensions: {},
    ...extra,
  };
  return p;
}

const idle: DeviceLoad = { cores: 0, memoryBytes: 0n, storageBytes: 0n };

describe('placeProfile', () => {
  it('places a profile that fits', () => {
    expect(placeProfile(profile('a', { cores: 4, architectures: ['amd64'] }), device(), idle)).toEqual({
      ok: true,
      reasons: [],
    });
  });

  it('refuses a non-hosting device first', () => {
    expect(placeProfile(profile('a'), device({ hosting: false }), idle)).toEqual({
      ok: false,
      reasons: [
        'device edge-01 does not run workloads itself (it reports no CPUs, memory, storage or deployment types)',
      ],
    });
  });

  it('checks the deployment type before capacity', () => {
    const d = device({ deploymentTypes: ['compose'], cpus: [] });
    expect(placeProfile(profile('a', { cores: 64 }), d, idle).reasons).toEqual([
      'needs deployment type helm; device supports compose',
    ]);
    expect(placeProfile(profile('a'), device({ deploymentTypes: [] }), idle).reasons).toEqual([
      'needs deployment type helm; device supports none',
    ]);
  });

  describe('single CPU entry rule', () => {
    it('needs enough cores and the architecture in one entry', () => {
      const d = device({ cpus: [{ cores: 2, architecture: 'arm64' }] });
      expect(
        placeProfile(profile('helm-a', { cores: 4, architectures: ['amd64'] }), d, idle).reasons,
      ).toEqual(['needs 4 cores of amd64 in one CPU entry; device has 2 cores arm64']);
    });

    it('never sums entries: two entries of 4 cores do not satisfy 8', () => {
      const d = device({
        cpus: [
          { cores: 4, architecture: 'amd64' },
          { cores: 4, architecture: 'amd64' },
        ],
      });
      expect(placeProfile(profile('a', { cores: 8 }), d, idle).reasons).toEqual([
        'needs 8 cores in one CPU entry; device has 4 cores amd64, 4 cores amd64',
      ]);
      expect(placeProfile(profile('a', { cores: 4 }), d, idle).ok).toBe(true);
    });

    it('does not mix cores of one entry with the architecture of another', () => {
      const d = device({
        cpus: [
          { cores: 8, architecture: 'amd64' },
          { cores: 2, architecture: 'arm64' },
        ],
      });
      expect(placeProfile(profile('a', { cores: 4, architectures: ['arm64'] }), d, idle).ok).toBe(false);
      expect(placeProfile(profile('a', { cores: 4, architectures: ['arm64', 'amd64'] }), d, idle).ok).toBe(
        true,
      );
      expect(
        placeProfile(profile('a', { cores: 4, architectures: ['arm', 'arm64'] }), d, idle).reasons,
      ).toEqual(['needs 4 cores of arm or arm64 in one CPU entry; device has 8 cores amd64, 2 cores arm64']);
    });

    it('counts an entry without architecture only when no architecture is required', () => {
      const d = device({ cpus: [{ cores: 4, architecture: null }] });
      expect(placeProfile(profile('a', { cores: 2 }), d, idle).ok).toBe(true);
      expect(placeProfile(profile('a', { cores: 2, architectures: ['amd64'] }), d, idle).reasons).toEqual([
        'needs 2 cores of amd64 in one CPU entry; device has 4 cores (architecture not reported)',
      ]);
      expect(placeProfile(profile('a', { architectures: ['amd64'] }), d, idle).reasons).toEqual([
        'needs a CPU entry of amd64; device has 4 cores (architecture not reported)',
      ]);
    });

    it('handles fractional cores and devices without CPU entries', () => {
      const d = device({ cpus: [{ cores: 0.5, architecture: 'arm' }] });
      expect(placeProfile(profile('a', { cores: 0.5 }), d, idle).ok).toBe(true);
      expect(placeProfile(profile('a', { cores: 1 }), d, idle).reasons).toEqual([
        'needs 1 core in one CPU entry; device has 0.5 cores arm',
      ]);
      expect(placeProfile(profile('a', { cores: 1 }), device({ cpus: [] }), idle).reasons).toEqual([
        'needs 1 core in one CPU entry; device has no CPU entries',
      ]);
    });
  });

  describe('memory and storage', () => {
    it('compares bytes across units (8Gi = 8192Mi)', () => {
      const d = device({ memoryBytes: bytes('8Gi'), storageBytes: bytes('8192Mi') });
      expect(
        placeProfile(profile('a', { memoryBytes: bytes('8192Mi'), storageBytes: bytes('8Gi') }), d, idle).ok,
      ).toBe(true);
      // formatBytes rounds both to 8Gi: the text falls back to a unit that shows the difference.
      expect(placeProfile(profile('a', { memoryBytes: bytes('8193Mi') }), d, idle).reasons).toEqual([
        'needs 8193Mi memory; device has 8192Mi',
      ]);
    });

    it('explains shortfalls with readable sizes', () => {
      const d = device({ memoryBytes: bytes('8Gi'), storageBytes: bytes('59 Gi') });
      expect(
        placeProfile(profile('a', { memoryBytes: bytes('16Gi'), storageBytes: bytes('1Ti') }), d, idle),
      ).toEqual({
        ok: false,
        reasons: ['needs 16Gi memory; device has 8Gi', 'needs 1Ti storage; device has 59Gi'],
      });
    });

    it('fails when the device reports no memory or storage', () => {
      const d = device({ memoryBytes: null, storageBytes: null });
      expect(
        placeProfile(profile('a', { memoryBytes: bytes('512Mi'), storageBytes: bytes('1Gi') }), d, idle)
          .reasons,
      ).toEqual([
        'needs 512Mi memory; device reports no memory',
        'needs 1Gi storage; device reports no storage',
      ]);
      expect(placeProfile(profile('a'), d, idle).ok).toBe(true);
    });
  });

  describe('peripherals and interfaces', () => {
    it('matches type, and manufacturer/model when given', () => {
      const d = device();
      expect(placeProfile(profile('a', { peripherals: [{ type: 'gpu' }] }), d, idle).ok).toBe(true);
      expect(
        placeProfile(profile('a', { peripherals: [{ type: 'gpu', manufacturer: 'NVIDIA' }] }), d, idle).ok,
      ).toBe(true);
      expect(
        placeProfile(profile('a', { peripherals: [{ type: 'gpu', manufacturer: 'AMD' }] }), d, idle).reasons,
      ).toEqual([
        'needs peripheral gpu (manufacturer AMD); device has gpu (manufacturer NVIDIA, model A2), camera',
      ]);
      expect(
        placeProfile(
          profile('a', { peripherals: [{ type: 'camera', model: 'X' }] }),
          device({ peripherals: [] }),
          idle,
        ).reasons,
      ).toEqual(['needs peripheral camera (model X); device has none']);
    });

    it('needs every interface', () => {
      expect(
        placeProfile(profile('a', { interfaces: ['ethernet', 'canbus'] }), device(), idle).reasons,
      ).toEqual(['needs interface canbus; device has ethernet, wifi']);
    });

    it('reports every capacity shortfall together', () => {
      const d = device({
        cpus: [{ cores: 2, architecture: 'arm64' }],
        memoryBytes: bytes('1Gi'),
        interfaceTypes: [],
      });
      expect(
        placeProfile(profile('a', { cores: 4, memoryBytes: bytes('2Gi'), interfaces: ['usb'] }), d, idle)
          .reasons,
      ).toEqual([
        'needs 4 cores in one CPU entry; device has 2 cores arm64',
        'needs 2Gi memory; device has 1Gi',
        'needs interface usb; device has none',
      ]);
    });
  });

  describe('eligibility rules', () => {
    const paint = profile(
      'a',
      {},
      {
        eligibilityRules: [
          {
            labelSelector: {
              matchExpressions: [{ key: 'example.com/line', operator: 'In', values: ['paint'] }],
            },
          },
        ],
      },
    );

    it('are evaluated after capacity', () => {
      expect(placeProfile(paint, device(), idle).reasons).toEqual([
        'eligibility: label example.com/line must be In [paint]; device has welding',
      ]);
      expect(placeProfile(paint, device({ labels: { 'example.com/line': 'paint' } }), idle).ok).toBe(true);
      const small = { ...paint, requirements: { ...paint.requirements, cores: 64 } };
      expect(placeProfile(small, device(), idle).reasons).toEqual([
        'needs 64 cores in one CPU entry; device has 8 cores amd64',
      ]);
    });
  });

  describe('co-location', () => {
    const d = device({
      cpus: [
        { cores: 4, architecture: 'amd64' },
        { cores: 4, architecture: 'amd64' },
      ],
    });

    it('sums all CPU entries for what is already placed', () => {
      const load: DeviceLoad = { cores: 4, memoryBytes: 0n, storageBytes: 0n };
      expect(placeProfile(profile('a', { cores: 4 }), d, load).ok).toBe(true);
    });

    it('reports an over-commit with the totals', () => {
      const load: DeviceLoad = { cores: 6, memoryBytes: bytes('12Gi'), storageBytes: bytes('90Gi') };
      expect(
        placeProfile(
          profile('a', { cores: 4, memoryBytes: bytes('8Gi'), storageBytes: bytes('20Gi') }),
          d,
          load,
        ),
      ).toEqual({
        ok: false,
        reasons: [
          'co-location: 6 cores already placed + 4 needed > 8 reported',
          'co-location: 12Gi memory already placed + 8Gi needed > 16Gi reported',
          'co-location: 90Gi storage already placed + 20Gi needed > 100Gi reported',
        ],
      });
    });

    it('fits exactly and ignores dimensions the profile does not ask for', () => {
      const full: DeviceLoad = { cores: 8, memoryBytes: bytes('16Gi'), storageBytes: bytes('100Gi') };
      expect(placeProfile(profile('a'), d, full).ok).toBe(true);
      const almost: DeviceLoad = { cores: 7.5, memoryBytes: bytes('15Gi'), storageBytes: 0n };
      expect(placeProfile(profile('a', { cores: 0.5, memoryBytes: bytes('1Gi') }), d, almost).ok).toBe(true);
      expect(placeProfile(profile('a', { cores: 0.1 }), d, { ...almost, cores: 7.9 }).ok).toBe(true);
    });
  });
});

describe('placePackage', () => {
  const helmBig = profile('helm-a', { cores: 16, architectures: ['amd64'] });
  const helmSmall = profile('helm-b', { cores: 2 });
  const compose = profile('compose-a', {}, { type: 'compose' });

  it('picks the first profile that fits, in package order, and says why earlier ones were skipped', () => {
    expect(placePackage([helmBig, helmSmall, compose], device(), idle)).toEqual({
      placeable: true,
      profileId: 'helm-b',
      reasons: ['profile "helm-a": needs 16 cores of amd64 in one CPU entry; device has 8 cores amd64'],
    });
    expect(placePackage([helmSmall, helmBig], device(), idle)).toEqual({
      placeable: true,
      profileId: 'helm-b',
      reasons: [],
    });
  });

  it('explains every profile when none fits', () => {
    const d = device({ cpus: [{ cores: 2, architecture: 'arm64' }] });
    expect(placePackage([helmBig, compose], d, idle)).toEqual({
      placeable: false,
      reasons: [
        'profile "helm-a": needs 16 cores of amd64 in one CPU entry; device has 2 cores arm64',
        'profile "compose-a": needs deployment type compose; device supports helm',
      ],
    });
  });

  it('considers only the preferred profile when one is given', () => {
    expect(
      placePackage([helmSmall, compose], device({ deploymentTypes: ['helm', 'compose'] }), idle, 'compose-a'),
    ).toEqual({ placeable: true, profileId: 'compose-a', reasons: [] });
    expect(placePackage([helmSmall, compose], device(), idle, 'compose-a')).toEqual({
      placeable: false,
      reasons: ['profile "compose-a": needs deployment type compose; device supports helm'],
    });
  });

  it('refuses an unknown preferred profile', () => {
    expect(placePackage([helmSmall, compose], device(), idle, 'nope')).toEqual({
      placeable: false,
      reasons: ['profile "nope" is not in the package (its profiles: "helm-b", "compose-a")'],
    });
  });

  it('refuses a non-hosting device once, and an empty package', () => {
    expect(placePackage([helmSmall, compose], device({ hosting: false }), idle)).toEqual({
      placeable: false,
      reasons: [
        'device edge-01 does not run workloads itself (it reports no CPUs, memory, storage or deployment types)',
      ],
    });
    expect(placePackage([], device(), idle)).toEqual({
      placeable: false,
      reasons: ['the package has no deployment profiles'],
    });
  });

  it('reports a co-location over-commit as not placeable', () => {
    const load: DeviceLoad = { cores: 6, memoryBytes: 0n, storageBytes: 0n };
    expect(placePackage([profile('helm-c', { cores: 4 })], device(), load)).toEqual({
      placeable: false,
      reasons: ['profile "helm-c": co-location: 6 cores already placed + 4 needed > 8 reported'],
    });
  });
});
