import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ancestorsOf, parentOf, parseCapabilities } from './capabilities.parser.js';

const examples = resolve(import.meta.dirname, '../../../reference/margo/examples');
const load = (path: string): unknown => JSON.parse(readFileSync(resolve(examples, path), 'utf8'));

const rc3 = (overrides: Record<string, unknown> = {}) => ({
  properties: {
    id: 'edge-1',
    vendor: 'Acme',
    modelNumber: 'A1',
    serialNumber: 'S1',
    cpus: [
      { cores: 4, architecture: 'arm64' },
      { cores: 8, architecture: 'amd64' },
    ],
    memory: '16Gi',
    storage: '59 Gi',
    peripherals: [{ type: 'gpu', manufacturer: 'NVIDIA' }],
    interfaces: [{ type: 'ethernet' }, { type: 'canbus' }],
    otelCollector: false,
    supportedRuntimes: ['oci'],
    supportedDeploymentTypes: ['helm', 'compose'],
    ...overrides,
  },
  labels: { 'example.com/site': 'plant-7', floor: 2 },
  'x-acme-extensions': { rack: 'B4' },
});

describe('parseCapabilities (rc.3 shape)', () => {
  it('normalises a hosting device: architectures, largest single CPU entry, bytes, types; keeps extensions', () => {
    const result = parseCapabilities(rc3(), { profile: 'rc3', pathDeviceId: 'edge-1' });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.model).toMatchObject({
      deviceId: 'edge-1',
      hosting: true,
      architectures: ['amd64', 'arm64'],
      maxCores: 8,
      memory: { text: '16Gi', bytes: 16n * 1024n ** 3n },
      storage: { text: '59 Gi', bytes: 59n * 1024n ** 3n },
      peripheralTypes: ['gpu'],
      interfaceTypes: ['canbus', 'ethernet'],
      runtimes: ['oci'],
      deploymentTypes: ['compose', 'helm'],
      otelCollector: false,
      labels: { 'example.com/site': 'plant-7', floor: 2 },
      extensions: { 'x-acme-extensions': { rack: 'B4' } },
    });
  });

  it('accepts the public conformance body (wfm-core cap-1) and ignores apiVersion/kind', () => {
    const body = { apiVersion: 'device.margo.org/v1alpha1', kind: 'DeviceCapabilitiesManifest', ...rc3() };
    expect(parseCapabilities(body, { profile: 'rc3', pathDeviceId: 'edge-1' }).ok).toBe(true);
  });

  it('accepts a non-hosting see-thru gateway (identity fields only)', () => {
    const body = { properties: { id: 'gw', vendor: 'Acme', modelNumber: 'G', serialNumber: 'S' } };
    const result = parseCapabilities(body, { profile: 'rc3', pathDeviceId: 'gw' });
    expect(result).toMatchObject({ ok: true, model: { hosting: false, deploymentTypes: [], maxCores: 0 } });
  });

  it.each([
    [{ supportedDeploymentTypes: ['docker-swarm'] }, '/properties/supportedDeploymentTypes/0'],
    [{ supportedRuntimes: ['containerd-direct'] }, '/properties/supportedRuntimes/0'],
    [{ supportedRuntimes: [] }, '/properties/supportedRuntimes'],
    [{ cpus: [{ cores: 4, architecture: 'riscv' }] }, '/properties/cpus/0/architecture'],
    [{ cpus: [{ cores: 'four' }] }, '/properties/cpus/0/cores'],
    [{ memory: 'lots' }, '/properties/memory'],
    [{ peripherals: [{ type: 'laser' }] }, '/properties/peripherals/0/type'],
    [{ interfaces: [{ type: 'ethernet', speed: 1 }] }, '/properties/interfaces/0/speed'],
    [{ otelCollector: 'yes' }, '/properties/otelCollector'],
    [{ colour: 'red' }, '/properties/colour'],
    [{ id: 'other' }, '/properties/id'],
    [{ id: 'bad id!' }, '/properties/id'],
    [{ memory: undefined }, '/properties/memory'],
  ])('rejects %j with a pointer at %s', (overrides, pointer) => {
    const result = parseCapabilities(rc3(overrides), { profile: 'rc3', pathDeviceId: 'edge-1' });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map((e) => e.field)).toContain(pointer);
  });

  it('rejects unknown top-level keys, bad labels and a non-object body', () => {
    const result = parseCapabilities(
      { ...rc3(), extra: 1, labels: { a: { nested: true } } },
      { profile: 'rc3' },
    );
    expect(result.ok || result.errors.map((e) => e.field)).toEqual(['/extra', '/labels/a']);
    expect(parseCapabilities([1, 2], { profile: 'rc3' })).toEqual({
      ok: false,
      errors: [{ field: '', message: 'must be a JSON object' }],
    });
  });

  it('requires labels from a device reporting a custom deployment type', () => {
    const body = { properties: rc3({ supportedDeploymentTypes: ['custom'] }).properties };
    const result = parseCapabilities(body, { profile: 'rc3' });
    expect(result.ok || result.errors[0].field).toBe('/labels');
  });

  it('does not accept the older roles/resources shape from an rc.3 client', () => {
    const result = parseCapabilities(load('valid/model/DeviceCapabilitiesManifest-001.json'), {
      profile: 'rc3',
    });
    expect(result.ok || result.errors.map((e) => e.field)).toEqual([
      '/properties/roles',
      '/properties/resources',
    ]);
  });
});

describe('parseCapabilities (legacy profile, older shape)', () => {
  it('accepts the spec example and normalises it (x86_64 → amd64, Standalone Cluster → helm)', () => {
    const result = parseCapabilities(load('valid/model/DeviceCapabilitiesManifest-001.json'), {
      profile: 'legacy',
    });
    expect(result).toMatchObject({
      ok: true,
      model: {
        deviceId: 'northstarida.xtapro.k8s.edge',
        hosting: true,
        architectures: ['amd64'],
        maxCores: 24,
        memory: { text: '59Gi' },
        peripheralTypes: ['gpu'],
        interfaceTypes: ['ethernet', 'wifi'],
        runtimes: ['oci'],
        deploymentTypes: ['helm'],
      },
    });
  });

  it.each([
    ['invalid/model/DeviceCapabilitiesManifest-001.json', '/properties/roles/0'],
    ['invalid/model/DeviceCapabilitiesManifest-002.json', '/properties/vendor'],
    ['invalid/model/DeviceCapabilitiesManifest-003.json', '/properties/resources/cpu/architectures/0'],
  ])('rejects %s at %s', (file, pointer) => {
    const result = parseCapabilities(load(file), { profile: 'legacy' });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors.map((e) => e.field)).toContain(pointer);
  });
});

describe('parseCapabilities (apiVersion, D2)', () => {
  const withoutApiVersion = () => {
    const body = load('valid/model/DeviceCapabilitiesManifest-001.json') as Record<string, unknown>;
    delete body.apiVersion;
    return body;
  };

  it('requires apiVersion from a legacy client, as the legacy OpenAPI does (diamond step-7.1)', () => {
    const result = parseCapabilities(withoutApiVersion(), { profile: 'legacy' });
    expect(result.ok || result.errors).toEqual([{ field: '/apiVersion', message: 'is required' }]);
    const wrongType = { ...withoutApiVersion(), apiVersion: 1 };
    const typed = parseCapabilities(wrongType, { profile: 'legacy' });
    expect(typed.ok || typed.errors).toEqual([{ field: '/apiVersion', message: 'must be a string' }]);
  });

  it('does not require it from an rc.3 client (the rc.3 scenarios send none)', () => {
    const body = { properties: { id: 'd', vendor: 'v', modelNumber: 'm', serialNumber: 's' } };
    expect(parseCapabilities(body, { profile: 'rc3' }).ok).toBe(true);
  });
});

describe('gateway hierarchy helpers', () => {
  it('finds parents and ancestors', () => {
    expect(parentOf('gw')).toBeNull();
    expect(parentOf('gw/a/b')).toBe('gw/a');
    expect(ancestorsOf('gw/a/b')).toEqual(['gw', 'gw/a']);
    expect(ancestorsOf('gw')).toEqual([]);
  });
});
