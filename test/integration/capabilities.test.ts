import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueDeviceCertificate } from '../../src/client/identities.js';
import { LegacyClient, type Rc3Client } from '../../src/client/margo-client.js';
import { capabilities, gateway } from '../support/capabilities.js';
import { bearer, rc3Client } from '../support/identities.js';
import { type TestService, startTestService } from '../support/service.js';

const SEMANTIC = 'https://docs.margo.org/specification/problem-types#semantic-error';
const examples = resolve(import.meta.dirname, '../../reference/margo/examples');
const example = (path: string): unknown => JSON.parse(readFileSync(resolve(examples, path), 'utf8'));

describe('device capabilities over real TLS', () => {
  let wfm: TestService;
  let device: Rc3Client;
  let queue: Queue;

  beforeAll(async () => {
    wfm = await startTestService({
      WFM_ONBOARDING_MODE: 'auto',
      WFM_RECOMPUTE_DEBOUNCE_MS: '300',
      WFM_CAPABILITY_HISTORY_LIMIT: '10',
    });
    device = await rc3Client(wfm, 'plant-a');
    const redis = new URL(wfm.config.redis.url);
    queue = new Queue('recompute', {
      connection: { host: redis.hostname, port: Number(redis.port) },
      prefix: wfm.config.queue.prefix,
    });
  });
  afterAll(async () => {
    device?.close();
    await queue?.close();
    await wfm?.stop();
  });

  const getDevice = async (clientId: string, deviceId: string) =>
    (
      await wfm.call(`/operator/v1/devices/${clientId}/${deviceId}`, { headers: bearer(wfm.adminToken) })
    ).json<{
      capabilityVersion: number;
      recomputePending: boolean;
      children: string[];
      history: { kind: string; changes: { field: string }[] }[];
      memoryBytes: number;
      architectures: string[];
    }>();

  async function settled(clientId: string, deviceId: string): Promise<void> {
    for (let i = 0; i < 100; i += 1) {
      // the hourly purge-digests scheduler keeps one delayed job in the queue: look at recompute jobs only
      const pending = (await queue.getJobs(['waiting', 'active', 'delayed'])).filter(
        (j) => j.name === 'recompute-device',
      );
      if (pending.length === 0 && !(await getDevice(clientId, deviceId)).recomputePending) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('recomputation did not settle');
  }

  it('PUT creates (201), updates (200); an unchanged report enqueues nothing', async () => {
    const create = await device.putCapabilities('press-1', capabilities('press-1'));
    expect(create.status).toBe(201);
    expect(create.body.length).toBe(0);
    await settled('plant-a', 'press-1');
    const completed = (await queue.getJobCounts('completed')).completed;
    const same = await device.putCapabilities('press-1', capabilities('press-1'));
    expect(same.status).toBe(200);
    await new Promise((r) => setTimeout(r, 600));
    expect((await queue.getJobCounts('completed', 'delayed', 'waiting')).completed).toBe(completed);
    expect((await getDevice('plant-a', 'press-1')).capabilityVersion).toBe(1);
    const changed = await device.putCapabilities('press-1', capabilities('press-1', { memory: '16Gi' }));
    expect(changed.status).toBe(200);
    await settled('plant-a', 'press-1');
    const detail = await getDevice('plant-a', 'press-1');
    expect(detail.capabilityVersion).toBe(2);
    expect(detail.memoryBytes).toBe(16 * 1024 ** 3);
    expect(detail.history[0]).toMatchObject({
      kind: 'updated',
      changes: [{ field: 'memoryText', from: '8Gi', to: '16Gi' }],
    });
  });

  it('collapses 20 changed reports within 200 ms into exactly one recompute job', async () => {
    await device.putCapabilities('burst-1', capabilities('burst-1'));
    await settled('plant-a', 'burst-1');
    const before = (await queue.getJobCounts('completed')).completed;
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        new Promise((r) => setTimeout(r, i * 10)).then(() =>
          device.putCapabilities(
            'burst-1',
            capabilities('burst-1', { cpus: [{ cores: 10 + i, architecture: 'arm64' }] }),
          ),
        ),
      ),
    );
    await settled('plant-a', 'burst-1');
    expect((await queue.getJobCounts('completed')).completed - before).toBe(1);
    const detail = await getDevice('plant-a', 'burst-1');
    expect(detail.capabilityVersion).toBe(21);
    // 21 changes, WFM_CAPABILITY_HISTORY_LIMIT=10: the 10 newest are kept, 'created' is gone
    expect(detail.history).toHaveLength(10);
    expect(detail.history.every((h) => h.kind === 'updated')).toBe(true);
    expect(detail.history.map((h) => h.changes[0]?.field)).toEqual(Array(10).fill('cpus'));
  });

  it('refuses a child before its gateway (404 #gateway-not-found), then keeps the tree and cascades a gateway delete', async () => {
    const early = await device.putCapabilities('gw-1/plc-1', capabilities('gw-1/plc-1'));
    expect(early.status).toBe(404);
    expect(early.json()).toMatchObject({
      type: 'https://docs.margo.org/specification/problem-types#gateway-not-found',
    });
    expect((await device.putCapabilities('gw-1', gateway('gw-1'))).status).toBe(201);
    expect((await device.putCapabilities('gw-1/plc-1', capabilities('gw-1/plc-1'))).status).toBe(201);
    expect(
      (await device.putCapabilities('gw-1/plc-1/sensor', capabilities('gw-1/plc-1/sensor'))).status,
    ).toBe(201);
    expect((await device.putCapabilities('gw-1/plc-2', capabilities('gw-1/plc-2'))).status).toBe(201);
    expect((await getDevice('plant-a', 'gw-1')).children).toEqual(['gw-1/plc-1', 'gw-1/plc-2']);
    const list = await wfm.call('/operator/v1/devices?parent=gw-1', { headers: bearer(wfm.adminToken) });
    expect(list.json<{ items: { deviceId: string }[] }>().items.map((d) => d.deviceId)).toEqual([
      'gw-1/plc-1',
      'gw-1/plc-2',
    ]);

    expect((await device.deleteCapabilities('gw-1')).status).toBe(204);
    for (const id of ['gw-1', 'gw-1/plc-1', 'gw-1/plc-1/sensor']) {
      expect(
        (await wfm.call(`/operator/v1/devices/plant-a/${id}`, { headers: bearer(wfm.adminToken) })).status,
      ).toBe(404);
    }
    const again = await device.deleteCapabilities('gw-1');
    expect(again.status).toBe(404);
    expect(again.json()).toMatchObject({
      type: 'https://docs.margo.org/specification/problem-types#device-not-found',
    });
  });

  it('answers malformed JSON with 400, semantic errors with 422 pointers, and a 1 MiB+ body with 413', async () => {
    const malformed = await device.call('PUT', '/api/v1/capabilities/x-1', {
      body: Buffer.from('{"properties": '),
      headers: { 'content-type': 'application/json' },
    });
    expect(malformed.status).toBe(400);
    const cases: [unknown, string][] = [
      [
        capabilities('x-1', { supportedDeploymentTypes: ['docker-swarm'] }),
        '/properties/supportedDeploymentTypes/0',
      ],
      [capabilities('other'), '/properties/id'],
      [{ ...capabilities('x-1'), surprise: true }, '/surprise'],
    ];
    for (const [body, pointer] of cases) {
      const res = await device.putCapabilities('x-1', body);
      expect(res.status).toBe(422);
      expect(res.json()).toMatchObject({
        type: SEMANTIC,
        errors: expect.arrayContaining([expect.objectContaining({ field: pointer })]),
      });
    }
    const huge = await device.call('PUT', '/api/v1/capabilities/x-1', {
      body: Buffer.from(
        JSON.stringify({ ...capabilities('x-1'), 'x-big-extensions': { blob: 'a'.repeat(1024 * 1024) } }),
      ),
    });
    expect([400, 413]).toContain(huge.status);
  });

  it('keeps two clients with the same deviceId apart', async () => {
    const other = await rc3Client(wfm, 'plant-b');
    expect(
      (
        await other.putCapabilities(
          'press-1',
          capabilities('press-1', { cpus: [{ cores: 32, architecture: 'amd64' }] }),
        )
      ).status,
    ).toBe(201);
    expect((await getDevice('plant-a', 'press-1')).architectures).toEqual(['arm64']);
    expect((await getDevice('plant-b', 'press-1')).architectures).toEqual(['amd64']);
    expect((await other.deleteCapabilities('burst-1')).status).toBe(404);
    other.close();
  });

  it('serves the legacy profile: 201 on create and update, the oldest route, older shapes and the spec examples', async () => {
    const identity = await issueDeviceCertificate('legacy-cap');
    const { client } = await LegacyClient.onboard(wfm.url, identity, { ca: wfm.serverCa });
    const legacy = client!;
    expect((await legacy.putCapabilities('line-1', capabilities('line-1'))).status).toBe(201);
    expect(
      (await legacy.putCapabilities('line-1', capabilities('line-1', { memory: '4Gi' }), 'POST')).status,
    ).toBe(201);
    const valid = await legacy.call('POST', `/api/v1/clients/${legacy.clientId}/capabilities`, {
      body: example('valid/model/DeviceCapabilitiesManifest-001.json'),
    });
    expect(valid.status).toBe(201);
    const stored = await getDevice(legacy.clientId, 'northstarida.xtapro.k8s.edge');
    expect(stored).toMatchObject({ architectures: ['amd64'], maxCores: 24 });
    for (const [file, pointer] of [
      ['invalid/model/DeviceCapabilitiesManifest-001.json', '/properties/roles/0'],
      ['invalid/model/DeviceCapabilitiesManifest-002.json', '/properties/vendor'],
      ['invalid/model/DeviceCapabilitiesManifest-003.json', '/properties/resources/cpu/architectures/0'],
    ]) {
      const res = await legacy.call('PUT', `/api/v1/clients/${legacy.clientId}/capabilities`, {
        body: example(file),
      });
      expect(res.status, file).toBe(422);
      expect(res.json<{ errors: { field: string }[] }>().errors.map((e) => e.field)).toContain(pointer);
    }
    expect((await legacy.deleteCapabilities('line-1')).status).toBe(204);
    legacy.close();
  });

  it('lists devices with filters and keyset pagination', async () => {
    await device.putCapabilities(
      'gpu-box',
      capabilities(
        'gpu-box',
        {
          cpus: [{ cores: 16, architecture: 'amd64' }],
          memory: '64Gi',
          peripherals: [{ type: 'gpu' }],
          supportedDeploymentTypes: ['helm'],
        },
        { line: 'paint' },
      ),
    );
    const q = async (query: string) =>
      (await wfm.call(`/operator/v1/devices?${query}`, { headers: bearer(wfm.adminToken) })).json<{
        items: { deviceId: string; clientId: string }[];
        next: string | null;
      }>();
    expect((await q('peripheral=gpu')).items.map((d) => d.deviceId)).toEqual([
      'gpu-box',
      'northstarida.xtapro.k8s.edge',
    ]);
    expect(
      (
        await q('label=line=paint&minCores=16&minMemory=32Gi&architecture=amd64&deploymentType=helm')
      ).items.map((d) => d.deviceId),
    ).toEqual(['gpu-box']);
    expect((await q('label=line=welding')).items).toEqual([]);
    expect((await q('clientId=plant-b')).items.map((d) => d.clientId)).toEqual(['plant-b']);
    const first = await q('clientId=plant-a&limit=1');
    expect(first.items).toHaveLength(1);
    const second = await q(`clientId=plant-a&limit=1&after=${first.next}`);
    expect(second.items[0].deviceId > first.items[0].deviceId).toBe(true);
    const bad = await wfm.call('/operator/v1/devices?minMemory=lots', { headers: bearer(wfm.adminToken) });
    expect(bad.status).toBe(422);
    // a cursor whose row id is not a UUID is the client's mistake (422 on /after), not a 500
    const notUuid = Buffer.from(JSON.stringify(['gpu-box', '-'.repeat(36)])).toString('base64url');
    const badCursor = await wfm.call(`/operator/v1/devices?after=${notUuid}`, {
      headers: bearer(wfm.adminToken),
    });
    expect(badCursor.status).toBe(422);
    expect(badCursor.json()).toMatchObject({ errors: [{ field: '/after' }] });
  });
});
