import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Rc3Client } from '../../src/client/margo-client.js';
import type { RawResponse } from '../../src/client/transport.js';
import { withClient } from '../../src/infra/database/postgres-admin.js';
import { capabilities } from '../support/capabilities.js';
import { TEST_REDIS_URL } from '../support/env.js';
import { bearer, rc3Client } from '../support/identities.js';
import { linePackage } from '../support/packages.js';
import { type TestService, startTestService } from '../support/service.js';
import { hostPort, TcpProxy, viaProxy } from '../support/tcp-proxy.js';

interface Labels {
  clientId: string;
  deviceId: string;
  labels: Record<string, unknown>;
  labelSources: Record<string, 'device' | 'operator'>;
  reportedLabels: Record<string, unknown>;
  operatorLabels: { key: string; value: unknown; setBy: string; setAt: string }[];
  capabilityVersion: number;
  recomputePending: boolean;
}
interface Device extends Labels {
  history: { kind: string; reportedBy: string; changes: { field: string; from: unknown; to: unknown }[] }[];
}
interface Target {
  clientId: string;
  deviceId: string;
  deploymentId: string;
  placement: string;
  reasons: string[];
}
interface Manifest {
  manifestVersion: number;
  deployments: { deploymentId: string; digest: string }[];
}
interface Problem {
  status: number;
  type: string;
  detail: string;
  errors?: { field: string; message: string }[];
}

async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  let last = await fn();
  while (!ok(last) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 100));
    last = await fn();
  }
  if (!ok(last)) throw new Error(`condition not reached: ${JSON.stringify(last).slice(0, 800)}`);
  return last;
}

describe('operator labels', () => {
  let wfm: TestService;
  let lineA: Rc3Client;
  let lineC: Rc3Client;
  let viewerToken: string;
  const json = { 'content-type': 'application/json' };
  const admin = () => ({ ...bearer(wfm.adminToken), ...json });

  const labelsPath = (client: string, device: string) => `/operator/v1/devices/${client}/${device}/labels`;
  const put = (client: string, device: string, body: unknown, token = wfm.adminToken) =>
    wfm.call(labelsPath(client, device), {
      method: 'PUT',
      headers: { ...bearer(token), ...json },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const patch = (client: string, device: string, body: unknown, token = wfm.adminToken) =>
    wfm.call(labelsPath(client, device), {
      method: 'PATCH',
      headers: { ...bearer(token), 'content-type': 'application/merge-patch+json' },
      body: JSON.stringify(body),
    });
  const bulk = (body: unknown, token = wfm.adminToken) =>
    wfm.call('/operator/v1/devices/labels', {
      method: 'POST',
      headers: { ...bearer(token), ...json },
      body: JSON.stringify(body),
    });
  const device = async (client: string, id: string) => {
    const res = await wfm.call(`/operator/v1/devices/${client}/${id}`, { headers: admin() });
    expect(res.status, res.text()).toBe(200);
    return res.json<Device>();
  };
  const listed = async (query: string) =>
    (await wfm.call(`/operator/v1/devices?${query}`, { headers: admin() }))
      .json<{ items: Labels[] }>()
      .items.map((d) => `${d.clientId}/${d.deviceId}`)
      .sort();
  const ok = <T>(res: RawResponse, status = 200): T => {
    expect(res.status, res.text()).toBe(status);
    return res.json<T>();
  };
  const problem = (res: RawResponse, status: number): Problem => {
    expect(res.status, res.text()).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    return res.json<Problem>();
  };
  const fields = (p: Problem) => (p.errors ?? []).map((e) => e.field);

  beforeAll(async () => {
    wfm = await startTestService({ WFM_ONBOARDING_MODE: 'auto', WFM_RECOMPUTE_DEBOUNCE_MS: '100' });
    lineA = await rc3Client(wfm, 'lab-a');
    lineC = await rc3Client(wfm, 'lab-c');
    const pkg = await wfm.call('/operator/v1/applications', {
      method: 'POST',
      headers: { ...bearer(wfm.adminToken), 'content-type': 'application/yaml' },
      body: linePackage(),
    });
    expect(pkg.status, pkg.text()).toBe(201);
    for (const [id, labels] of [
      ['press-1', { line: 'paint', role: 'line' }],
      ['press-2', { line: 'paint' }],
      ['press-3', { line: 'assembly' }],
    ] as const) {
      expect((await lineA.putCapabilities(id, capabilities(id, {}, labels))).status).toBe(201);
    }
    for (const id of ['press-5', 'press-6']) {
      expect((await lineC.putCapabilities(id, capabilities(id, {}, { line: 'paint' }))).status).toBe(201);
    }
    const token = await wfm.call('/operator/v1/tokens', {
      method: 'POST',
      headers: admin(),
      body: JSON.stringify({ name: 'labels-viewer', role: 'viewer' }),
    });
    viewerToken = ok<{ token: string }>(token, 201).token;
  });
  afterAll(async () => {
    lineA?.close();
    lineC?.close();
    await wfm?.stop();
  });

  it('sets, patches and removes labels; the operator value wins over the device value; views show each source', async () => {
    const set = ok<Labels>(await put('lab-a', 'press-1', { role: 'canary', cell: 3 }));
    expect(set).toMatchObject({
      clientId: 'lab-a',
      deviceId: 'press-1',
      labels: { line: 'paint', role: 'canary', cell: 3 },
      labelSources: { cell: 'operator', line: 'device', role: 'operator' },
      reportedLabels: { line: 'paint', role: 'line' },
    });
    expect(set.operatorLabels.map((l) => [l.key, l.value, l.setBy])).toEqual([
      ['cell', 3, 'bootstrap-admin'],
      ['role', 'canary', 'bootstrap-admin'],
    ]);
    const version = set.capabilityVersion;

    // the device views: the effective map, the sources, the operator entries and a history row
    const view = await device('lab-a', 'press-1');
    expect(view.labels).toEqual({ line: 'paint', role: 'canary', cell: 3 });
    expect(view.labelSources).toEqual({ cell: 'operator', line: 'device', role: 'operator' });
    expect(view.reportedLabels).toEqual({ line: 'paint', role: 'line' });
    expect(view.history[0]).toMatchObject({
      kind: 'labels',
      reportedBy: 'operator:bootstrap-admin',
      changes: [{ field: 'operatorLabels', from: {}, to: { role: 'canary', cell: 3 } }],
    });
    const page = (await wfm.call('/operator/v1/devices?clientId=lab-a', { headers: admin() })).json<{
      items: Labels[];
    }>();
    expect(page.items.find((d) => d.deviceId === 'press-1')).toMatchObject({
      labels: { line: 'paint', role: 'canary', cell: 3 },
      labelSources: { cell: 'operator', line: 'device', role: 'operator' },
    });
    expect(page.items.find((d) => d.deviceId === 'press-2')).toMatchObject({
      labels: { line: 'paint' },
      labelSources: { line: 'device' },
    });

    // the device list filters by effective labels: the operator's role replaces the reported one
    expect(await listed('clientId=lab-a&label=role=canary')).toEqual(['lab-a/press-1']);
    expect(await listed('clientId=lab-a&label=role=line')).toEqual([]);
    expect(await listed('clientId=lab-a&label=line=paint')).toEqual(['lab-a/press-1', 'lab-a/press-2']);

    // the same set again changes nothing
    expect(ok<Labels>(await put('lab-a', 'press-1', { cell: 3, role: 'canary' })).capabilityVersion).toBe(
      version,
    );

    // PATCH: null removes, the others stay
    const patched = ok<Labels>(await patch('lab-a', 'press-1', { cell: null, zone: 'north' }));
    expect(patched.labels).toEqual({ line: 'paint', role: 'canary', zone: 'north' });
    expect(patched.labelSources).toEqual({ line: 'device', role: 'operator', zone: 'operator' });
    expect(patched.capabilityVersion).toBe(version + 1);

    // removing the operator's role shows the device's again
    const unset = ok<Labels>(await patch('lab-a', 'press-1', { role: null }));
    expect(unset.labels).toEqual({ line: 'paint', role: 'line', zone: 'north' });
    expect(unset.labelSources.role).toBe('device');

    // PUT {} removes every operator label
    const cleared = ok<Labels>(await put('lab-a', 'press-1', {}));
    expect(cleared.labels).toEqual({ line: 'paint', role: 'line' });
    expect(cleared.labelSources).toEqual({ line: 'device', role: 'device' });
    expect(cleared.operatorLabels).toEqual([]);
    expect(await listed('clientId=lab-a&label=role=line')).toEqual(['lab-a/press-1']);
  });

  it('keeps operator labels across later capability reports, which still change the device labels', async () => {
    ok(await put('lab-a', 'press-2', { role: 'canary', shift: 'night' }));
    // a report that changes the device's labels, one of them the operator's key
    expect(
      (
        await lineA.putCapabilities(
          'press-2',
          capabilities('press-2', {}, { line: 'paint', role: 'x', bay: 7 }),
        )
      ).status,
    ).toBe(200);
    const after = await device('lab-a', 'press-2');
    expect(after.labels).toEqual({ line: 'paint', role: 'canary', shift: 'night', bay: 7 });
    expect(after.labelSources).toEqual({
      bay: 'device',
      line: 'device',
      role: 'operator',
      shift: 'operator',
    });
    expect(after.reportedLabels).toEqual({ line: 'paint', role: 'x', bay: 7 });
    // a report of other capabilities (memory) keeps them too
    await lineA.putCapabilities('press-2', capabilities('press-2', { memory: '16Gi' }, { line: 'paint' }));
    expect((await device('lab-a', 'press-2')).labels).toEqual({
      line: 'paint',
      role: 'canary',
      shift: 'night',
    });
    ok(await put('lab-a', 'press-2', {}));
  });

  it('keeps both halves when capability reports and label changes of one device race', async () => {
    await Promise.all([
      ...Array.from({ length: 15 }, (_, i) =>
        lineA.putCapabilities('press-3', capabilities('press-3', {}, { line: 'assembly', seq: i })),
      ),
      ...Array.from({ length: 15 }, (_, i) => patch('lab-a', 'press-3', { [`op${i}`]: i })),
    ]);
    const after = await device('lab-a', 'press-3');
    const operator = Object.fromEntries(after.operatorLabels.map((l) => [l.key, l.value]));
    expect(Object.keys(operator)).toHaveLength(15);
    expect(after.reportedLabels).toMatchObject({ line: 'assembly' });
    expect(after.labels).toEqual({ ...after.reportedLabels, ...operator });
    ok(await put('lab-a', 'press-3', {}));
    await lineA.putCapabilities('press-3', capabilities('press-3', {}, { line: 'assembly' }));
    expect((await device('lab-a', 'press-3')).labels).toEqual({ line: 'assembly' });
  });

  it('a selector deployment (role=canary) gains a device when the operator labels it and loses it when the label goes', async () => {
    const created = await wfm.call('/operator/v1/deployments', {
      method: 'POST',
      headers: admin(),
      body: JSON.stringify({
        applicationId: 'com-example-line-monitor',
        parameters: { siteId: 'DE-016' },
        target: { selector: { matchLabels: { role: 'canary' }, clientId: 'lab-c' } },
        onCapabilityLoss: 'remove',
      }),
    });
    const { id } = ok<{ id: string }>(created, 201);
    const targets = async () =>
      (await wfm.call(`/operator/v1/deployments/${id}`, { headers: admin() })).json<{ targets: Target[] }>()
        .targets;
    const manifest = async () => (await lineC.getManifest()).json<Manifest>();
    await new Promise((r) => setTimeout(r, 500)); // the deployment's own recomputation has run
    expect(await targets()).toEqual([]);
    const empty = await manifest();
    expect(empty.deployments).toEqual([]);

    // the operator marks press-5 as the canary: placed, in lab-c's manifest
    ok(await put('lab-c', 'press-5', { role: 'canary' }));
    const placed = await until(targets, (t) =>
      t.some((x) => x.deviceId === 'press-5' && x.placement === 'placed'),
    );
    expect(placed.map((t) => t.deviceId)).toEqual(['press-5']);
    const gained = await until(manifest, (m) => m.deployments.length === 1);
    expect(gained.manifestVersion).toBeGreaterThan(empty.manifestVersion);
    expect(gained.deployments[0].deploymentId).toBe(placed[0].deploymentId);
    await until(
      () => device('lab-c', 'press-5'),
      (d) => !d.recomputePending,
    );

    // a bulk change reaches the selector deployments too
    expect(
      ok(
        await bulk({
          selector: { matchLabels: { line: 'paint' }, clientId: 'lab-c' },
          set: { role: 'canary' },
        }),
      ),
    ).toEqual({ matched: 2, changed: 1 });
    await until(manifest, (m) => m.deployments.length === 2);
    expect((await targets()).map((t) => [t.deviceId, t.placement])).toEqual([
      ['press-5', 'placed'],
      ['press-6', 'placed'],
    ]);

    // removal: both lose it, with the reason; the manifest drops them (onCapabilityLoss: remove)
    ok(await patch('lab-c', 'press-5', { role: null }));
    ok(await bulk({ selector: { clientId: 'lab-c' }, remove: ['role'] }));
    const lost = await until(manifest, (m) => m.deployments.length === 0);
    expect(lost.manifestVersion).toBeGreaterThan(gained.manifestVersion);
    const gone = await until(targets, (t) => t.every((x) => x.placement === 'not-placeable'));
    for (const t of gone) expect(t.reasons.join('\n')).toMatch(/no longer matches the deployment's selector/);
    await wfm.call(`/operator/v1/deployments/${id}`, { method: 'DELETE', headers: admin() });
  });

  it('changes labels in bulk for a selector: matched and changed counts, expressions, idempotent', async () => {
    const paint = { selector: { matchLabels: { line: 'paint' }, clientId: 'lab-a' }, set: { batch: 'b1' } };
    expect(ok(await bulk(paint))).toEqual({ matched: 2, changed: 2 });
    expect(ok(await bulk(paint))).toEqual({ matched: 2, changed: 0 });
    expect(await listed('label=batch=b1')).toEqual(['lab-a/press-1', 'lab-a/press-2']);
    const expressions = {
      selector: {
        clientId: 'lab-a',
        labelSelector: { matchExpressions: [{ key: 'line', operator: 'In', values: ['paint', 'assembly'] }] },
      },
      set: { zone: 'z1' },
      remove: ['batch'],
    };
    expect(ok(await bulk(expressions))).toEqual({ matched: 3, changed: 3 });
    expect(await listed('label=batch=b1')).toEqual([]);
    expect(await listed('label=zone=z1')).toEqual(['lab-a/press-1', 'lab-a/press-2', 'lab-a/press-3']);
    expect((await device('lab-a', 'press-3')).labelSources).toEqual({ line: 'device', zone: 'operator' });
    // a selector on the operator's own label
    expect(ok(await bulk({ selector: { matchLabels: { zone: 'z1' } }, remove: ['zone'] }))).toEqual({
      matched: 3,
      changed: 3,
    });
    expect(ok(await bulk({ selector: { matchLabels: { zone: 'z1' } }, remove: ['zone'] }))).toEqual({
      matched: 0,
      changed: 0,
    });
  });

  it('refuses bad input with problem+json and pointers, and unknown devices with 404', async () => {
    expect(fields(problem(await put('lab-a', 'press-3', []), 422))).toEqual(['']);
    expect(fields(problem(await put('lab-a', 'press-3', { 'a=b': 'x' }), 422))).toEqual(['/a=b']);
    expect(fields(problem(await put('lab-a', 'press-3', { '': 'x' }), 422))).toEqual(['/']);
    expect(fields(problem(await put('lab-a', 'press-3', { k: { nested: 1 } }), 422))).toEqual(['/k']);
    expect(fields(problem(await put('lab-a', 'press-3', { k: [1, 'a'], 'x/y': null }), 422))).toEqual([
      '/k',
      '/x~1y',
    ]);
    expect(fields(problem(await put('lab-a', 'press-3', { k: 'v'.repeat(1025) }), 422))).toEqual(['/k']);
    expect(fields(problem(await put('lab-a', 'press-3', { ['k'.repeat(256)]: 'v' }), 422))).toEqual([
      `/${'k'.repeat(256)}`,
    ]);
    const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, i]));
    const tooMany = problem(await put('lab-a', 'press-3', many), 422);
    expect(tooMany.errors?.[0]).toMatchObject({ field: '', message: expect.stringMatching(/at most 64/) });
    expect(
      fields(problem(await patch('lab-a', 'press-3', { ok: 'yes', bad: true, worse: {} }), 422)),
    ).toEqual(['/worse']);
    expect(problem(await put('lab-a', 'press-3', '{"broken": '), 400).status).toBe(400);
    expect(problem(await put('lab-a', 'no-such-device', { a: 'b' }), 404).detail).toMatch(/no-such-device/);
    expect(problem(await put('no-such-client', 'press-3', { a: 'b' }), 404).status).toBe(404);
    // nothing was written by the refusals
    expect((await device('lab-a', 'press-3')).operatorLabels).toEqual([]);

    // bulk
    expect(fields(problem(await bulk({ set: { a: 'b' } }), 422))).toContain('/selector');
    expect(
      fields(
        problem(
          await bulk({
            selector: { labelSelector: { matchExpressions: [{ key: 'line', operator: 'In' }] } },
            set: { 'a=b': 1, ok: 'x' },
            remove: ['ok', 7],
          }),
          422,
        ),
      ).sort(),
    ).toEqual(
      ['/remove/0', '/remove/1', '/selector/labelSelector/matchExpressions/0/values', '/set/a=b'].sort(),
    );
    expect(fields(problem(await bulk({ selector: {} }), 422))).toEqual(['/set']);
    expect(fields(problem(await bulk({ selector: {}, remove: 'role' }), 422))).toEqual(['/remove']);
    expect(fields(problem(await bulk({ selector: {}, set: { a: 'b' }, other: 1 }), 422))).toEqual(['/other']);
    expect(
      problem(await bulk({ selector: { clientId: 'no-such-client' }, set: { a: 'b' } }), 404).status,
    ).toBe(404);
  });

  it('refuses a bulk change over more than 1000 devices (nothing changes) and more than 64 labels per device', async () => {
    // 1001 devices of one client, seeded straight into the database
    const clientId = (
      await withClient(wfm.databaseUrl, (c) =>
        c.query<{ id: string }>(`SELECT id FROM client WHERE external_id = 'lab-c'`),
      )
    ).rows[0].id;
    await withClient(wfm.databaseUrl, (c) =>
      c.query(
        `INSERT INTO device (id, client_id, client_external_id, client_profile, device_id, hosting, vendor, model_number,
                             serial_number, architectures, peripheral_types, interface_types, runtimes,
                             deployment_types, labels, effective_labels, document, model_hash,
                             capability_version, recomputed_version)
         SELECT gen_random_uuid(), $1::uuid, 'lab-c', 'rc3', 'bulk-' || n, false, 'Acme', 'GW', 'SN-' || n, '{}', '{}', '{}', '{}', '{}',
                '{"fleet": "big"}', '{"fleet": "big"}', convert_to('{}', 'UTF8'), md5(n::text), 1, 1
           FROM generate_series(1, 1001) n`,
        [clientId],
      ),
    );
    const over = problem(await bulk({ selector: { matchLabels: { fleet: 'big' } }, set: { a: 'b' } }), 422);
    expect(fields(over)).toEqual(['/selector']);
    expect(over.detail).toMatch(/more than 1000 devices/);
    expect(await listed('clientId=lab-c&label=a=b&limit=5')).toEqual([]);
    // 1000 is fine
    await withClient(wfm.databaseUrl, (c) =>
      c.query(`UPDATE device SET effective_labels = '{}' WHERE device_id = 'bulk-1001'`),
    );
    expect(ok(await bulk({ selector: { matchLabels: { fleet: 'big' } }, set: { a: 'b' } }))).toEqual({
      matched: 1000,
      changed: 1000,
    });

    // 64 labels on a device, then one more in bulk: refused for all
    const sixtyFour = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`k${i}`, i]));
    ok(await put('lab-a', 'press-3', sixtyFour));
    const full = problem(await bulk({ selector: { clientId: 'lab-a' }, set: { one: 'more' } }), 422);
    expect(full.errors?.[0]).toMatchObject({ field: '/set', message: expect.stringMatching(/at most 64/) });
    expect(await listed('label=one=more')).toEqual([]);
    ok(await put('lab-a', 'press-3', {}));
  });

  it('lets a viewer read labels but not change them (403)', async () => {
    expect(
      (await wfm.call('/operator/v1/devices/lab-a/press-1', { headers: bearer(viewerToken) })).status,
    ).toBe(200);
    problem(await put('lab-a', 'press-1', { role: 'canary' }, viewerToken), 403);
    problem(await patch('lab-a', 'press-1', { role: 'canary' }, viewerToken), 403);
    problem(await bulk({ selector: {}, set: { role: 'canary' } }, viewerToken), 403);
    expect((await device('lab-a', 'press-1')).labels).not.toHaveProperty('role', 'canary');
    // and no token at all: 401
    problem(
      await wfm.call(labelsPath('lab-a', 'press-1'), { method: 'PUT', headers: json, body: '{}' }),
      401,
    );
  });
});

describe('operator labels while Redis is unreachable', () => {
  const redis = hostPort(TEST_REDIS_URL, 6379);
  const proxy = new TcpProxy(redis.host, redis.port);
  let wfm: TestService;
  let client: Rc3Client;

  beforeAll(async () => {
    await proxy.start();
    wfm = await startTestService({
      REDIS_URL: viaProxy(TEST_REDIS_URL, proxy.port),
      WFM_ONBOARDING_MODE: 'auto',
      WFM_RECOMPUTE_DEBOUNCE_MS: '200',
      WFM_RECOMPUTE_SWEEP_SECONDS: '1',
    });
    client = await rc3Client(wfm, 'lab-outage');
    const pkg = await wfm.call('/operator/v1/applications', {
      method: 'POST',
      headers: { ...bearer(wfm.adminToken), 'content-type': 'application/yaml' },
      body: linePackage(),
    });
    expect(pkg.status, pkg.text()).toBe(201);
  });
  afterAll(async () => {
    client?.close();
    await wfm?.stop();
    await proxy.stop();
  });

  it('answers the label change at once, and the sweeper re-evaluates the selector deployments once Redis is back', async () => {
    const admin = { ...bearer(wfm.adminToken), 'content-type': 'application/json' };
    expect((await client.putCapabilities('press', capabilities('press'))).status).toBe(201);
    const created = await wfm.call('/operator/v1/deployments', {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({
        applicationId: 'com-example-line-monitor',
        parameters: { siteId: 'DE-017' },
        target: { selector: { matchLabels: { role: 'canary' } } },
      }),
    });
    expect(created.status, created.text()).toBe(201);
    const view = async () =>
      (await wfm.call('/operator/v1/devices/lab-outage/press', { headers: admin })).json<Labels>();
    await until(view, (d) => !d.recomputePending);

    await proxy.cut();
    const started = Date.now();
    const res = await wfm.call('/operator/v1/devices/lab-outage/press/labels', {
      method: 'PUT',
      headers: admin,
      body: JSON.stringify({ role: 'canary' }),
    });
    expect(res.status, res.text()).toBe(200);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(await view()).toMatchObject({ labels: { role: 'canary' }, recomputePending: true });
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await view()).recomputePending).toBe(true); // nothing can run while Redis is away

    await proxy.restore();
    await until(view, (d) => !d.recomputePending, 20_000);
    const manifest = await until(
      async () => (await client.getManifest()).json<Manifest>(),
      (m) => m.deployments.length === 1,
      20_000,
    );
    expect(manifest.deployments).toHaveLength(1);
  });
});
