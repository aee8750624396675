import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LegacyClient } from '../../src/client/margo-client.js';
import { issueDeviceCertificate } from '../../src/client/identities.js';
import { bearer } from '../support/identities.js';
import { ProbeModule } from '../support/probe.module.js';
import { type TestService, startTestService } from '../support/service.js';

const LIMIT = 5;

/**
 * Failed authentication per source address (issue #13, "rate limits on failed authentication"). The
 * test process is a trusted proxy here, so X-Forwarded-For names the source address of each request.
 */
describe('failed-authentication limit per source address', () => {
  let wfm: TestService;
  beforeAll(async () => {
    wfm = await startTestService(
      {
        WFM_ONBOARDING_MODE: 'auto',
        WFM_AUTH_FAILURES_PER_MINUTE: String(LIMIT),
        WFM_TRUSTED_PROXIES: '127.0.0.1',
      },
      [ProbeModule],
    );
  });
  afterAll(async () => {
    await wfm?.stop();
  });

  const from = (address: string, headers: Record<string, string> = {}) => ({
    headers: { 'x-forwarded-for': `198.51.100.99, ${address}`, ...headers },
  });
  const expect429 = (res: Awaited<ReturnType<TestService['call']>>, what: string) => {
    expect(res.status, what).toBe(429);
    expect(res.headers['content-type'], what).toBe('application/problem+json');
    expect(Number(res.headers['retry-after']), what).toBeGreaterThanOrEqual(1);
    expect(res.json<{ detail: string }>().detail, what).toContain('failed authentication');
  };

  it('bad bearer tokens: N × 401, then 429 with Retry-After even for a good token; other addresses unaffected', async () => {
    for (let i = 0; i < LIMIT; i += 1) {
      const res = await wfm.call('/operator/v1/clients', from('192.0.2.1', bearer(`bogus-token-${i}`)));
      expect(res.status).toBe(401);
    }
    expect429(await wfm.call('/operator/v1/clients', from('192.0.2.1', bearer('bogus-again'))), 'bad token');
    expect429(
      await wfm.call('/operator/v1/clients', from('192.0.2.1', bearer(wfm.adminToken))),
      'good token',
    );
    // another address: its good requests pass, and its own budget is untouched
    expect((await wfm.call('/operator/v1/clients', from('192.0.2.2', bearer(wfm.adminToken)))).status).toBe(
      200,
    );
    expect((await wfm.call('/operator/v1/clients', from('192.0.2.2', bearer('bogus')))).status).toBe(401);
    // successes cost nothing: many good requests from a third address never reach 429
    for (let i = 0; i < LIMIT * 3; i += 1) {
      expect((await wfm.call('/operator/v1/clients', from('192.0.2.3', bearer(wfm.adminToken)))).status).toBe(
        200,
      );
    }
  });

  it('legacy device API: unknown clients and bad signatures count; the onboarded device elsewhere is unaffected', async () => {
    const identity = await issueDeviceCertificate('limit-device');
    const { client } = await LegacyClient.onboard(wfm.url, identity, { ca: wfm.serverCa });
    const path = `/api/v1/clients/${client!.clientId}/_probe/whoami`;
    const unknown = '/api/v1/clients/00000000-0000-4000-8000-000000000000/_probe/whoami';
    for (let i = 0; i < LIMIT; i += 1) {
      const res = await wfm.call(i % 2 ? unknown : path, from('192.0.2.10'));
      expect(res.status).toBe(i % 2 ? 404 : 401);
    }
    expect429(await wfm.call(path, from('192.0.2.10')), 'unsigned');
    expect((await client!.call('GET', path)).status).toBe(200); // from 127.0.0.1
    client!.close();
  });

  it('rc.3 device API: requests without a valid SVID count', async () => {
    for (let i = 0; i < LIMIT; i += 1) {
      expect((await wfm.call('/api/v1/_probe/whoami', from('192.0.2.20'))).status).toBe(401);
    }
    expect429(await wfm.call('/api/v1/_probe/whoami', from('192.0.2.20')), 'no SVID');
    expect((await wfm.call('/api/v1/_probe/whoami', from('192.0.2.21'))).status).toBe(401);
  });
});
