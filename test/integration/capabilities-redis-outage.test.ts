import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Rc3Client } from '../../src/client/margo-client.js';
import { capabilities } from '../support/capabilities.js';
import { TEST_REDIS_URL } from '../support/env.js';
import { bearer, rc3Client } from '../support/identities.js';
import { type TestService, startTestService } from '../support/service.js';
import { hostPort, TcpProxy, viaProxy } from '../support/tcp-proxy.js';

describe('capability reports while Redis is unreachable', () => {
  const redis = hostPort(TEST_REDIS_URL, 6379);
  const proxy = new TcpProxy(redis.host, redis.port);
  let wfm: TestService;
  let device: Rc3Client;

  beforeAll(async () => {
    await proxy.start();
    wfm = await startTestService({
      REDIS_URL: viaProxy(TEST_REDIS_URL, proxy.port),
      WFM_RECOMPUTE_DEBOUNCE_MS: '200',
      WFM_RECOMPUTE_SWEEP_SECONDS: '1',
    });
    device = await rc3Client(wfm, 'outage-client');
  });
  afterAll(async () => {
    device?.close();
    await wfm?.stop();
    await proxy.stop();
  });

  const pending = async () =>
    (await wfm.call('/operator/v1/devices/outage-client/press', { headers: bearer(wfm.adminToken) })).json<{
      capabilityVersion: number;
      recomputePending: boolean;
    }>();

  async function until(check: () => Promise<boolean>, ms: number): Promise<boolean> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (await check()) return true;
      await new Promise((r) => setTimeout(r, 200));
    }
    return false;
  }

  it('stores and answers the report, and the sweeper enqueues it once Redis is back', async () => {
    expect((await device.putCapabilities('press', capabilities('press'))).status).toBe(201);
    expect(await until(async () => !(await pending()).recomputePending, 10_000)).toBe(true);

    await proxy.cut();
    const started = Date.now();
    const res = await device.putCapabilities('press', capabilities('press', { memory: '32Gi' }));
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(await pending()).toMatchObject({ capabilityVersion: 2, recomputePending: true });
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await pending()).recomputePending).toBe(true); // nothing can run while Redis is away

    await proxy.restore();
    expect(await until(async () => !(await pending()).recomputePending, 20_000)).toBe(true);
    expect((await pending()).capabilityVersion).toBe(2);
  });
});
