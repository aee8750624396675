import { describe, expect, it } from 'vitest';
import type { DeviceFacts } from '../../../device-capability/device-facts.js';
import type { ApplicationPackage, DeploymentProfile } from '../../packages/domain.js';
import type { TargetWriteRow } from '../deployment-rows.js';
import {
  type DecisionInput,
  decidePlacement,
  immutableValues,
  loadExcept,
  placedWrite,
  placementEvents,
  selectorMatches,
  unplacedWrite,
} from './decision.js';

const GiB = 1_073_741_824n;

function device(overrides: Partial<DeviceFacts> = {}): DeviceFacts {
  return {
    clientId: 'client-1',
    deviceId: 'edge-01',
    hosting: true,
    cpus: [{ cores: 8, architecture: 'amd64' }],
    memoryBytes: 16n * GiB,
    memoryText: '16Gi',
    storageBytes: 100n * GiB,
    storageText: '100Gi',
    peripherals: [],
    interfaceTypes: ['ethernet'],
    deploymentTypes: ['helm'],
    labels: { line: 'welding', tier: 2 },
    properties: { vendor: 'Acme' },
    ...overrides,
  };
}

function profile(id: string, cores?: number): DeploymentProfile {
  return {
    id,
    type: 'helm',
    components: [{ name: 'app' }],
    componentNames: ['app'],
    requirements: { peripherals: [], interfaces: [], ...(cores === undefined ? {} : { cores }) },
    eligibilityRules: [],
    extensions: {},
  };
}

const direct = {
  selector: null,
  targetClientId: 'client-1',
  targetDeviceId: 'edge-01',
  profileId: null,
  onCapabilityLoss: 'keep',
};
const bySelector = {
  ...direct,
  selector: { matchLabels: { line: 'welding' } },
  targetClientId: null,
  targetDeviceId: null,
};

function input(overrides: Partial<DecisionInput> = {}): DecisionInput {
  return {
    deployment: direct,
    profiles: [profile('small', 2)],
    key: { clientId: 'client-1', deviceId: 'edge-01' },
    clientKnown: true,
    facts: device(),
    existing: undefined,
    load: undefined,
    ...overrides,
  };
}

const ident = {
  id: '6b1f3c52-0d2e-4c8a-9a51-2f0f5e6c7d80',
  deploymentId: 'd-1',
  clientId: 'client-1',
  clientExternalId: 'line-1',
  deviceId: 'edge-01',
};

const placedBefore = {
  placement: 'placed',
  reasons: [],
  profileId: 'small',
  digest: 'sha256:old',
  sizeBytes: 100,
  renderedRevision: 3,
  inManifest: true,
  lockedImmutable: null,
};

describe('selectorMatches', () => {
  it('needs every matchLabel, the client when given, and the label and property expressions', () => {
    expect(selectorMatches({ matchLabels: { line: 'welding' } }, device())).toBe(true);
    expect(selectorMatches({ matchLabels: { line: 'welding', tier: 3 } }, device())).toBe(false);
    expect(selectorMatches({ clientId: 'client-2' }, device())).toBe(false);
    expect(selectorMatches({}, device())).toBe(true);
    const acme = {
      propertySelector: { matchExpressions: [{ key: '/vendor', operator: 'In' as const, values: ['Acme'] }] },
    };
    expect(selectorMatches(acme, device())).toBe(true);
    expect(selectorMatches(acme, device({ properties: { vendor: 'Other' } }))).toBe(false);
    const noPaint = {
      labelSelector: { matchExpressions: [{ key: 'line', operator: 'NotIn' as const, values: ['paint'] }] },
    };
    expect(selectorMatches(noPaint, device())).toBe(true);
    expect(selectorMatches(noPaint, device({ labels: { line: 'paint' } }))).toBe(false);
  });
});

describe('decidePlacement', () => {
  it('places a device that fits, with the first profile that fits and its reasons', () => {
    const profiles = [profile('big', 64), profile('small', 2)];
    const decision = decidePlacement(input({ profiles }));
    expect(decision).toEqual({
      kind: 'place',
      profileId: 'small',
      reasons: [expect.stringContaining('profile "big"')],
    });
  });

  it('writes nothing for an unknown client or another device of a direct deployment', () => {
    expect(decidePlacement(input({ clientKnown: false }))).toEqual({ kind: 'skip' });
    expect(decidePlacement(input({ key: { clientId: 'client-1', deviceId: 'edge-02' } }))).toEqual({
      kind: 'skip',
    });
    const otherGone = { key: { clientId: 'client-1', deviceId: 'edge-02' }, facts: undefined };
    expect(decidePlacement(input({ ...otherGone, existing: placedBefore }))).toEqual({ kind: 'skip' });
  });

  it('a device without capabilities: not placeable when new, removed when it had a target, nothing twice', () => {
    expect(decidePlacement(input({ facts: undefined }))).toEqual({
      kind: 'unplaced',
      placement: 'not-placeable',
      reasons: ['the device has not reported its capabilities yet'],
      clearDigest: true,
      changed: false,
    });
    expect(decidePlacement(input({ facts: undefined, existing: placedBefore }))).toEqual({
      kind: 'unplaced',
      placement: 'removed',
      reasons: ['the device was removed by its client'],
      clearDigest: true,
      changed: true,
    });
    const removed = { placement: 'removed', reasons: ['the device was removed by its client'] };
    expect(decidePlacement(input({ facts: undefined, existing: removed }))).toEqual({ kind: 'skip' });
  });

  it('a device that stops matching the selector becomes not placeable (kept policy named), unless it never had a target', () => {
    const other = device({ labels: { line: 'paint' } });
    expect(decidePlacement(input({ deployment: bySelector, facts: other }))).toEqual({ kind: 'skip' });
    expect(decidePlacement(input({ deployment: bySelector, facts: other, existing: placedBefore }))).toEqual({
      kind: 'unplaced',
      placement: 'not-placeable',
      reasons: ["the device no longer matches the deployment's selector (on capability loss: keep)"],
      clearDigest: false,
      changed: true,
    });
    expect(decidePlacement(input({ deployment: bySelector }))).toMatchObject({ kind: 'place' });
  });

  it('counts what other deployments already take on the device (co-location)', () => {
    const load = { cores: 7, memoryBytes: 0n, storageBytes: 0n };
    const decision = decidePlacement(input({ load }));
    expect(decision).toMatchObject({ kind: 'unplaced', placement: 'not-placeable', changed: true });
    expect(decision.kind === 'unplaced' && decision.reasons.join()).toContain('co-location');
  });

  it('does not write a not-placeable target again for the same reasons', () => {
    const first = decidePlacement(input({ profiles: [profile('big', 64)] }));
    expect(first).toMatchObject({ kind: 'unplaced', placement: 'not-placeable', clearDigest: false });
    const reasons = first.kind === 'unplaced' ? first.reasons : [];
    expect(
      decidePlacement(
        input({ profiles: [profile('big', 64)], existing: { placement: 'not-placeable', reasons } }),
      ),
    ).toEqual({ kind: 'skip' });
    expect(
      decidePlacement(
        input({
          profiles: [profile('big', 64)],
          existing: { placement: 'not-placeable', reasons: ['older'] },
        }),
      ),
    ).toMatchObject({ kind: 'unplaced', reasons });
  });

  it('a package without profiles that fit says so', () => {
    expect(decidePlacement(input({ profiles: [] }))).toMatchObject({
      kind: 'unplaced',
      reasons: ['the package has no deployment profiles'],
    });
  });
});

describe('target writes', () => {
  it('a placed target takes its profile capacity and keeps locked immutable values', () => {
    let asked = 0;
    const immutable = () => {
      asked++;
      return { region: 'eu' };
    };
    const fresh = placedWrite({
      ident,
      before: undefined,
      profile: {
        ...profile('small', 2),
        requirements: { peripherals: [], interfaces: [], cores: 2, memoryBytes: GiB },
      },
      reasons: [],
      digest: 'sha256:new',
      sizeBytes: 321,
      revision: 4,
      immutable,
    });
    expect(fresh.changed).toBe(true);
    expect(fresh.write).toMatchObject({
      ...ident,
      placement: 'placed',
      profileId: 'small',
      digest: 'sha256:new',
      sizeBytes: 321,
      cores: 2,
      memoryBytes: GiB,
      storageBytes: 0n,
      renderedRevision: 4,
      lockedImmutable: { region: 'eu' },
    });
    const locked = placedWrite({
      ident,
      before: { ...placedBefore, lockedImmutable: { region: 'us' } },
      profile: profile('small', 2),
      reasons: [],
      digest: 'sha256:old',
      sizeBytes: 100,
      revision: 4,
      immutable,
    });
    expect(locked.write.lockedImmutable).toEqual({ region: 'us' });
    expect(asked).toBe(1);
  });

  it('a placed target changes the manifest only for a new digest, a new placement or one not listed yet', () => {
    const write = (before: typeof placedBefore, digest: string) =>
      placedWrite({
        ident,
        before,
        profile: profile('small'),
        reasons: [],
        digest,
        sizeBytes: 1,
        revision: 1,
        immutable: () => ({}),
      }).changed;
    expect(write(placedBefore, 'sha256:old')).toBe(false);
    expect(write(placedBefore, 'sha256:new')).toBe(true);
    expect(write({ ...placedBefore, inManifest: false }, 'sha256:old')).toBe(true);
    expect(write({ ...placedBefore, placement: 'not-placeable' }, 'sha256:old')).toBe(true);
  });

  it('a target that is not placed frees its capacity and keeps its last rendering unless cleared', () => {
    const kept = unplacedWrite(
      { kind: 'unplaced', placement: 'not-placeable', reasons: ['r'], clearDigest: false, changed: true },
      ident,
      placedBefore,
    );
    expect(kept).toEqual({
      ...ident,
      placement: 'not-placeable',
      reasons: ['r'],
      profileId: 'small',
      digest: 'sha256:old',
      sizeBytes: 100,
      cores: 0,
      memoryBytes: 0n,
      storageBytes: 0n,
      renderedRevision: 3,
    });
    const cleared = unplacedWrite(
      { kind: 'unplaced', placement: 'removed', reasons: ['r'], clearDigest: true, changed: true },
      ident,
      placedBefore,
    );
    expect(cleared.digest).toBeNull();
    expect(cleared.placement).toBe('removed');
  });

  it('immutable values are the effective values of the immutable settings only', () => {
    const pkg = {
      parameters: {
        region: { value: 'eu', targets: [] },
        replicas: { value: 1, targets: [] },
      },
      settings: [
        { parameter: 'region', name: 'Region', immutable: true, schema: 's', section: 'main' },
        { parameter: 'replicas', name: 'Replicas', immutable: false, schema: 's', section: 'main' },
      ],
    } as unknown as ApplicationPackage;
    expect(immutableValues(pkg, {}, {})).toEqual({ region: 'eu' });
    expect(immutableValues(pkg, { region: 'us', replicas: 3 }, {})).toEqual({ region: 'us' });
    expect(immutableValues(pkg, { region: 'us' }, { region: 'ap' })).toEqual({ region: 'ap' });
  });
});

describe('loadExcept', () => {
  it('sums what the other active, placed deployments take', () => {
    const entry = (deploymentId: string, cores: number, active = true, placement = 'placed') => ({
      deploymentId,
      active,
      placement,
      cores,
      memoryBytes: BigInt(cores) * GiB,
      storageBytes: 0n,
    });
    const targets = [
      entry('a', 1),
      entry('b', 2),
      entry('c', 4, false),
      entry('d', 8, true, 'not-placeable'),
    ];
    expect(loadExcept(targets, 'a')).toEqual({ cores: 2, memoryBytes: 2n * GiB, storageBytes: 0n });
    expect(loadExcept(targets, 'z')).toEqual({ cores: 3, memoryBytes: 3n * GiB, storageBytes: 0n });
  });
});

describe('placementEvents', () => {
  const write = (deviceId: string, placement: string, reasons: string[] = []): TargetWriteRow => ({
    ...ident,
    deviceId,
    placement,
    reasons,
    profileId: null,
    digest: null,
    sizeBytes: null,
    cores: 0,
    memoryBytes: 0n,
    storageBytes: 0n,
    renderedRevision: null,
  });

  it('one event per target whose placement or reasons changed', () => {
    const before = new Map([
      ['client-1|same', { placement: 'placed', reasons: [] }],
      ['client-1|moved', { placement: 'placed', reasons: [] }],
      ['client-1|reason', { placement: 'not-placeable', reasons: ['a'] }],
    ]);
    const events = placementEvents(
      'd-1',
      [
        write('same', 'placed'),
        write('moved', 'not-placeable', ['x']),
        write('reason', 'not-placeable', ['b']),
        write('new', 'placed'),
      ],
      before,
    );
    expect(events.map((e) => (e.data as { deviceId: string }).deviceId)).toEqual(['moved', 'reason', 'new']);
    expect(events[0]).toEqual({
      type: 'placement.changed',
      deploymentId: 'd-1',
      clientId: 'line-1',
      data: {
        applicationDeploymentId: ident.id,
        deviceId: 'moved',
        placement: 'not-placeable',
        reasons: ['x'],
      },
    });
  });

  it('one summary event for more than 100 changed targets', () => {
    const writes = Array.from({ length: 101 }, (_, i) => write(`d${i}`, i % 2 ? 'placed' : 'not-placeable'));
    expect(placementEvents('d-1', writes, new Map())).toEqual([
      { type: 'placement.changed', deploymentId: 'd-1', data: { targets: 101, placed: 50 } },
    ]);
  });
});
