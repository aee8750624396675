import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueDeviceCertificate } from '../../src/client/identities.js';
import { LegacyClient, type Rc3Client } from '../../src/client/margo-client.js';
import { Clock } from '../../src/common/clock.js';
import { capabilities } from '../support/capabilities.js';
import { bearer, rc3Client } from '../support/identities.js';
import { linePackage } from '../support/packages.js';
import { type TestService, startTestService } from '../support/service.js';

interface Manifest {
  manifestVersion: number;
  deployments: { deploymentId: string; digest: string }[];
}
interface Target {
  deviceId: string;
  deploymentId: string;
  placement: string;
  derivedState: string;
  status: { state: string; adoptedManifestVersion: string | null; inconsistent: boolean } | null;
}

const SEMANTIC = 'https://docs.margo.org/specification/problem-types#semantic-error';

describe('deployment status', () => {
  let wfm: TestService;
  let device: Rc3Client;
  let deploymentId: string;
  let adId: string;
  let version: number;
  const admin = () => ({ ...bearer(wfm.adminToken), 'content-type': 'application/json' });

  async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 15_000): Promise<T> {
    const end = Date.now() + ms;
    let last = await fn();
    while (!ok(last) && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 100));
      last = await fn();
    }
    if (!ok(last)) throw new Error(`condition not reached: ${JSON.stringify(last).slice(0, 400)}`);
    return last;
  }
  const target = async () =>
    (await wfm.call(`/operator/v1/deployments/${deploymentId}`, { headers: admin() })).json<{
      targets: Target[];
    }>().targets[0];
  const report = (
    state: string,
    adopted: number,
    components = [{ name: 'line-monitor-compose', state }],
  ) => ({
    deploymentId: adId,
    adoptedManifestVersion: adopted,
    status: { state },
    components,
  });

  beforeAll(async () => {
    wfm = await startTestService({
      WFM_ONBOARDING_MODE: 'auto',
      WFM_RECOMPUTE_DEBOUNCE_MS: '100',
      WFM_RATE_LIMIT_PER_MINUTE: '0',
    });
    device = await rc3Client(wfm, 'status-a');
    await wfm.call('/operator/v1/applications', {
      method: 'POST',
      headers: { ...bearer(wfm.adminToken), 'content-type': 'application/yaml' },
      body: linePackage(),
    });
    await device.putCapabilities('press', capabilities('press'));
    // a first poll issues version 1 (empty), so the deployment arrives in version ≥ 2 and the
    // "older adoptedManifestVersion" case below has a valid version to report
    expect((await device.getManifest()).json<Manifest>().manifestVersion).toBe(1);
    const res = await wfm.call('/operator/v1/deployments', {
      method: 'POST',
      headers: admin(),
      body: JSON.stringify({
        applicationId: 'com-example-line-monitor',
        parameters: { siteId: 'DE-001' },
        target: { clientId: 'status-a', deviceId: 'press' },
      }),
    });
    deploymentId = res.json<{ id: string }>().id;
    const m = await until(
      async () => (await device.getManifest()).json<Manifest>(),
      (m) => m.deployments.length === 1,
    );
    adId = m.deployments[0].deploymentId;
    version = m.manifestVersion;
  });
  afterAll(async () => {
    device?.close();
    await wfm?.stop();
  });

  it('answers 201 for the first report and 200 after; derived state follows (unknown → installing → in-sync)', async () => {
    expect((await target()).derivedState).toBe('unknown');
    const first = await device.postStatus(adId, report('installing', version));
    expect(first.status).toBe(201);
    expect((await target()).derivedState).toBe('installing');
    const second = await device.postStatus(adId, report('installed', version));
    expect(second.status).toBe(200);
    expect(await target()).toMatchObject({
      derivedState: 'in-sync',
      status: { state: 'installed', adoptedManifestVersion: String(version) },
    });
  });

  it('rejects invalid reports with 422 pointers', async () => {
    const cases: [unknown, string][] = [
      [report('running', version), '/status/state'],
      [{ ...report('installed', version), deploymentId: 'other' }, '/deploymentId'],
      [{ ...report('installed', version), adoptedManifestVersion: undefined }, '/adoptedManifestVersion'],
      [report('installed', version, [{ name: 'not-a-component', state: 'installed' }]), '/components/0/name'],
      [{ ...report('installed', version), deviceId: 'other-device' }, '/deviceId'],
    ];
    for (const [body, pointer] of cases) {
      const res = await device.postStatus(adId, body);
      expect(res.status, pointer).toBe(422);
      expect(res.json()).toMatchObject({
        type: SEMANTIC,
        errors: expect.arrayContaining([expect.objectContaining({ field: pointer })]),
      });
    }
    expect(
      (
        await device.call('POST', `/api/v1/deployments/${adId}/status`, {
          body: Buffer.from('{nope'),
          headers: { 'content-type': 'application/json' },
        })
      ).status,
    ).toBe(400);
  });

  it('keeps the newer state when an older adoptedManifestVersion arrives late, and stores it in history', async () => {
    expect((await device.postStatus(adId, report('failed', version - 1))).status).toBe(200);
    expect((await target()).status).toMatchObject({ state: 'installed' });
    const history = (
      await wfm.call(`/operator/v1/deployments/${deploymentId}/status-history`, { headers: admin() })
    ).json<{ items: { state: string; applied: boolean }[] }>().items;
    expect(history[0]).toMatchObject({ state: 'failed', applied: false });
  });

  it('flags a report whose overall state contradicts its components', async () => {
    await device.postStatus(
      adId,
      report('installed', version, [{ name: 'line-monitor-compose', state: 'failed' }]),
    );
    expect((await target()).status).toMatchObject({ state: 'installed', inconsistent: true });
    await device.postStatus(adId, report('installed', version));
  });

  it('keeps the newest 200 reports of a deployment in its history and drops older ones', async () => {
    const history = async () =>
      (
        await wfm.call(`/operator/v1/deployments/${deploymentId}/status-history?limit=1000`, {
          headers: admin(),
        })
      ).json<{ items: { state: string }[] }>().items;
    const before = (await history()).length;
    expect(before).toBeLessThan(200);
    // fill the history to exactly the limit, then go 5 past it
    for (let i = before; i < 205; i++) {
      const state = i === 204 ? 'installed' : i % 2 === 0 ? 'installing' : 'installed';
      expect((await device.postStatus(adId, report(state, version))).status).toBe(200);
      if (i === 199) expect((await history()).length).toBe(200);
    }
    const after = await history();
    expect(after).toHaveLength(200);
    expect(after[0]).toMatchObject({ state: 'installed' });
  });

  it('accepts a report for a deployment the WFM does not know (orphan) and lists it for operators', async () => {
    const res = await device.postStatus('wfm-core-test-deployment', {
      deploymentId: 'wfm-core-test-deployment',
      adoptedManifestVersion: 1,
      status: { state: 'installed' },
      components: [],
    });
    expect(res.status).toBe(200);
    const orphans = (await wfm.call('/operator/v1/status/orphans', { headers: admin() })).json<{
      items: { deploymentId: string; clientId: string }[];
    }>().items;
    expect(orphans).toEqual([
      expect.objectContaining({ deploymentId: 'wfm-core-test-deployment', clientId: 'status-a' }),
    ]);
  });

  it('derives lagging after a change the device has not adopted, and stale after 3× the polling interval (driven clock)', async () => {
    await wfm.call(`/operator/v1/deployments/${deploymentId}`, {
      method: 'PATCH',
      headers: admin(),
      body: JSON.stringify({ parameters: { siteId: 'DE-001', greeting: 'Servus' } }),
    });
    const m = await until(
      async () => (await device.getManifest()).json<Manifest>(),
      (m) => m.manifestVersion > version,
    );
    expect((await until(target, (t) => t.derivedState === 'lagging')).derivedState).toBe('lagging');
    await device.postStatus(adId, report('installed', m.manifestVersion));
    expect((await target()).derivedState).toBe('in-sync');
    const clock = wfm.app.get(Clock);
    clock.set(new Date(Date.now() + 91_000));
    expect((await target()).derivedState).toBe('stale');
    clock.reset();
    const summary = (await wfm.call('/operator/v1/status/summary', { headers: admin() })).json<{
      overall: Record<string, number>;
      byApplication: Record<string, Record<string, number>>;
    }>();
    expect(summary.overall['in-sync']).toBe(1);
    expect(summary.byApplication['com-example-line-monitor']).toEqual({ 'in-sync': 1 });
    const metrics = (await wfm.call('/metrics')).text();
    expect(metrics).toMatch(/wfm_targets\{state="in-sync"\} 1/);
    expect(metrics).toMatch(/wfm_status_reports_total\{state="installed"\} \d+/);
  });

  it('issues a higher manifest version to a client that adopted one this WFM does not remember (restore safety)', async () => {
    const before = (await device.getManifest()).json<Manifest>().manifestVersion;
    await device.postStatus(adId, report('installed', before + 100));
    const after = (await device.getManifest()).json<Manifest>().manifestVersion;
    expect(after).toBeGreaterThan(before + 100);
  });

  it('lists failing targets and serves the legacy routes (200 always, singular path too)', async () => {
    await device.postStatus(
      adId,
      report('failed', 9999, [{ name: 'line-monitor-compose', state: 'failed' }]),
    );
    const failing = (await wfm.call('/operator/v1/status/failing', { headers: admin() })).json<{
      items: { deploymentId: string }[];
    }>().items;
    expect(failing.map((f) => f.deploymentId)).toContain(adId);
    const { client } = await LegacyClient.onboard(wfm.url, await issueDeviceCertificate('legacy-status'), {
      ca: wfm.serverCa,
    });
    const body = { deploymentId: 'dep-x', status: { state: 'installed' }, components: [] };
    expect((await client!.postStatus('dep-x', body)).status).toBe(200);
    expect((await client!.postStatus('dep-x', body, true)).status).toBe(200);
    client!.close();
  });
});

describe('status ingest under concurrency', () => {
  let wfm: TestService;
  beforeAll(async () => {
    wfm = await startTestService({ WFM_ONBOARDING_MODE: 'auto', WFM_RATE_LIMIT_PER_MINUTE: '0' });
  });
  afterAll(async () => {
    await wfm?.stop();
  });

  it('200 concurrent reports across 20 deployments leave the last state of each and a complete history, one 201 each', async () => {
    const device = await rc3Client(wfm, 'busy');
    const ids = Array.from(
      { length: 20 },
      (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    );
    const states = ['pending', 'installing', 'installed', 'failed', 'removing'];
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, n) => {
        const id = ids[n % 20];
        return device.postStatus(id, {
          deploymentId: id,
          adoptedManifestVersion: 1 + Math.floor(n / 20),
          status: { state: states[n % 5] },
          components: [],
        });
      }),
    );
    expect(results.every((r) => r.status === 200)).toBe(true); // orphans: always 200 (D12)
    const orphans = (
      await wfm.call('/operator/v1/status/orphans?limit=1000', { headers: bearer(wfm.adminToken) })
    ).json<{ items: { deploymentId: string; adoptedManifestVersion: string }[] }>().items;
    expect(orphans).toHaveLength(20);
    for (const o of orphans) expect(o.adoptedManifestVersion).toBe('10');
    // a known deployment: of 10 concurrent first reports exactly one is answered 201
    await wfm.call('/operator/v1/applications', {
      method: 'POST',
      headers: { ...bearer(wfm.adminToken), 'content-type': 'application/yaml' },
      body: linePackage(),
    });
    await device.putCapabilities('press', capabilities('press'));
    await wfm.call('/operator/v1/deployments', {
      method: 'POST',
      headers: { ...bearer(wfm.adminToken), 'content-type': 'application/json' },
      body: JSON.stringify({
        applicationId: 'com-example-line-monitor',
        parameters: { siteId: 'DE-002' },
        target: { clientId: 'busy', deviceId: 'press' },
      }),
    });
    let manifest: Manifest = { manifestVersion: 0, deployments: [] };
    for (let i = 0; i < 150 && manifest.deployments.length === 0; i += 1) {
      await new Promise((r) => setTimeout(r, 100));
      manifest = (await device.getManifest()).json<Manifest>();
    }
    const ad = manifest.deployments[0].deploymentId;
    const firsts = await Promise.all(
      Array.from({ length: 10 }, () =>
        device.postStatus(ad, {
          deploymentId: ad,
          adoptedManifestVersion: manifest.manifestVersion,
          status: { state: 'installing' },
          components: [],
        }),
      ),
    );
    expect(firsts.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
    const { withClient } = await import('../../src/infra/database/postgres-admin.js');
    const count = await withClient(wfm.databaseUrl, (c) =>
      c.query('SELECT count(*)::int AS n FROM deployment_status_report'),
    );
    expect((count.rows[0] as { n: number }).n).toBe(210);
    device.close();
  });
});
