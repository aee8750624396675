import { createPrivateKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signRequest } from '../../src/client/http-signature-signer.js';
import { issueDeviceCertificate } from '../../src/client/identities.js';
import { LegacyClient } from '../../src/client/margo-client.js';
import { request } from '../../src/client/transport.js';
import { TEST_REDIS_URL } from '../support/env.js';
import { bearer } from '../support/identities.js';
import { ProbeModule } from '../support/probe.module.js';
import { type TestService, startTestService } from '../support/service.js';
import { hostPort, TcpProxy, viaProxy } from '../support/tcp-proxy.js';

/**
 * Issue #13 finding 4, the calls on a request's path that wait for Redis: the replay cache of signed
 * requests and the client-change broadcast. While Redis does not answer (a stalled link: no error, so
 * ioredis keeps waiting for the reply) each waits at most 500 ms, then falls back.
 */
describe('signed requests and client changes while Redis is unreachable', () => {
  const redis = hostPort(TEST_REDIS_URL, 6379);
  const proxy = new TcpProxy(redis.host, redis.port);
  let wfm: TestService;
  let client: LegacyClient;

  beforeAll(async () => {
    await proxy.start();
    wfm = await startTestService(
      { REDIS_URL: viaProxy(TEST_REDIS_URL, proxy.port), WFM_ONBOARDING_MODE: 'auto' },
      [ProbeModule],
    );
    const identity = await issueDeviceCertificate('outage-signer', 'P-256');
    const onboarded = await LegacyClient.onboard(wfm.url, identity, { ca: wfm.serverCa });
    expect(onboarded.response.status).toBe(201);
    client = onboarded.client!;
  });
  /** After a restore: until the service reaches Redis again (its shutdown waits for the queue's connection). */
  async function redisBack(): Promise<void> {
    const end = Date.now() + 20_000;
    while (Date.now() < end) {
      if ((await wfm.call('/health/ready')).status === 200) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error('the service did not reach Redis again');
  }
  afterAll(async () => {
    client?.close();
    await wfm?.stop();
    await proxy.stop();
  });

  it('accepts a signed request promptly and still refuses its replay', async () => {
    proxy.stall();
    try {
      const url = `${wfm.url}/api/v1/clients/${client.clientId}/_probe/echo`;
      const body = Buffer.from('{"a":1}');
      const headers = {
        'content-type': 'application/json',
        ...signRequest({
          method: 'POST',
          url,
          body,
          privateKey: createPrivateKey(client.options.identity.keyPem),
        }),
      };
      const started = Date.now();
      const first = await request(url, { method: 'POST', ca: wfm.serverCa, headers, body });
      const took = Date.now() - started;
      expect(first.status, first.text()).toBe(201);
      expect(took).toBeLessThan(3_000);
      const replay = await request(url, { method: 'POST', ca: wfm.serverCa, headers, body });
      expect(replay.status).toBe(401);
      expect(replay.json<{ detail: string }>().detail).toContain('replay');
    } finally {
      await proxy.cut();
      await proxy.restore();
      await redisBack();
    }
  });

  it('retires a client promptly', async () => {
    proxy.stall();
    try {
      const started = Date.now();
      const res = await wfm.call(`/operator/v1/clients/${client.clientId}?profile=legacy`, {
        method: 'DELETE',
        headers: bearer(wfm.adminToken),
      });
      const took = Date.now() - started;
      expect(res.status, res.text()).toBeLessThan(300);
      expect(took).toBeLessThan(3_000);
      // this instance dropped the client from its own cache at once
      const after = await client.call('GET', `/api/v1/clients/${client.clientId}/_probe/whoami`);
      expect([401, 403]).toContain(after.status);
    } finally {
      await proxy.cut();
      await proxy.restore();
      await redisBack();
    }
  });
});
