import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Rc3Client } from '../../src/client/margo-client.js';
import { capabilities } from '../support/capabilities.js';
import { TEST_REDIS_URL } from '../support/env.js';
import { bearer, rc3Client } from '../support/identities.js';
import { linePackage } from '../support/packages.js';
import { type TestService, startTestService } from '../support/service.js';
import { hostPort, TcpProxy, viaProxy } from '../support/tcp-proxy.js';

/** Issue #13 finding 4: a deployment created while Redis is away answers at once and is placed later. */
describe('deployment changes while Redis is unreachable', () => {
  const redis = hostPort(TEST_REDIS_URL, 6379);
  const proxy = new TcpProxy(redis.host, redis.port);
  let wfm: TestService;
  let device: Rc3Client;
  const admin = () => ({ ...bearer(wfm.adminToken), 'content-type': 'application/json' });

  beforeAll(async () => {
    await proxy.start();
    wfm = await startTestService({
      REDIS_URL: viaProxy(TEST_REDIS_URL, proxy.port),
      WFM_ONBOARDING_MODE: 'auto',
      WFM_RECOMPUTE_DEBOUNCE_MS: '100',
      WFM_RECOMPUTE_SWEEP_SECONDS: '1',
    });
    device = await rc3Client(wfm, 'outage-line');
    const pkg = await wfm.call('/operator/v1/applications', {
      method: 'POST',
      headers: { ...bearer(wfm.adminToken), 'content-type': 'application/yaml' },
      body: linePackage(),
    });
    expect(pkg.status, pkg.text()).toBe(201);
    expect((await device.putCapabilities('press-1', capabilities('press-1'))).status).toBe(201);
  });
  afterAll(async () => {
    device?.close();
    await wfm?.stop();
    await proxy.stop();
  });

  async function until(check: () => Promise<boolean>, ms: number): Promise<boolean> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (await check()) return true;
      await new Promise((r) => setTimeout(r, 200));
    }
    return false;
  }

  it('answers the create promptly and places its targets once Redis is back, without another request', async () => {
    await proxy.cut();
    const started = Date.now();
    const res = await wfm.call('/operator/v1/deployments', {
      method: 'POST',
      headers: admin(),
      body: JSON.stringify({
        applicationId: 'com-example-line-monitor',
        parameters: { greeting: 'Hi', siteId: 'DE-001' },
        target: { clientId: 'outage-line', deviceId: 'press-1' },
      }),
    });
    expect(res.status, res.text()).toBe(201);
    expect(Date.now() - started).toBeLessThan(3_000);
    const id = res.json<{ id: string }>().id;
    const targets = async () =>
      (await wfm.call(`/operator/v1/deployments/${id}`, { headers: admin() })).json<{
        targets: { placement: string }[];
      }>().targets;
    expect(await targets()).toEqual([]);

    await proxy.restore();
    expect(await until(async () => (await targets()).some((t) => t.placement === 'placed'), 20_000)).toBe(
      true,
    );
  });

  it('answers a change promptly when Redis stops answering without an error (a stalled link)', async () => {
    const res0 = await wfm.call('/operator/v1/deployments', {
      method: 'POST',
      headers: admin(),
      body: JSON.stringify({
        applicationId: 'com-example-line-monitor',
        parameters: { greeting: 'Hi', siteId: 'DE-002' },
        target: { clientId: 'outage-line', deviceId: 'press-1' },
      }),
    });
    expect(res0.status, res0.text()).toBe(201);
    const id = res0.json<{ id: string }>().id;
    const digest = async () =>
      (await wfm.call(`/operator/v1/deployments/${id}`, { headers: admin() })).json<{
        targets: { placement: string; digest: string | null }[];
      }>().targets[0]?.digest ?? null;
    expect(await until(async () => (await digest()) !== null, 20_000)).toBe(true);
    const before = await digest();

    proxy.stall();
    const started = Date.now();
    const res = await wfm.call(`/operator/v1/deployments/${id}`, {
      method: 'PATCH',
      headers: { ...admin(), 'content-type': 'application/merge-patch+json' },
      body: JSON.stringify({ parameters: { greeting: 'Hello' } }),
    });
    expect(res.status, res.text()).toBe(200);
    expect(Date.now() - started).toBeLessThan(3_000);
    // the device's poll skips the manifest cache after the bound and reads PostgreSQL
    const polled = Date.now();
    expect((await device.getManifest()).status).toBe(200);
    expect(Date.now() - polled).toBeLessThan(3_000);
    await proxy.cut();
    await proxy.restore();
    // the change reaches the device's rendering without another request
    expect(await until(async () => ![null, before].includes(await digest()), 20_000)).toBe(true);
  });
});
