import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, rc3Client } from '../support/identities.js';
import { ProbeModule } from '../support/probe.module.js';
import { type TestService, startTestService } from '../support/service.js';

describe('operator API authentication and roles', () => {
  let wfm: TestService;
  const json = { 'content-type': 'application/json' };
  beforeAll(async () => {
    wfm = await startTestService({}, [ProbeModule]);
  });
  afterAll(async () => {
    await wfm?.stop();
  });

  async function createToken(role: string): Promise<{ id: string; token: string }> {
    const res = await wfm.call('/operator/v1/tokens', {
      method: 'POST',
      headers: { ...bearer(wfm.adminToken), ...json },
      body: JSON.stringify({ name: `${role}-ui`, role }),
    });
    expect(res.status).toBe(201);
    return res.json();
  }

  it('answers 401 problem+json without a token or with an unknown one', async () => {
    for (const headers of [{}, bearer('not-a-token'), { authorization: 'Basic abc' }]) {
      const res = await wfm.call('/operator/v1/clients', { headers });
      expect(res.status).toBe(401);
      expect(res.headers['content-type']).toBe('application/problem+json');
    }
  });

  it('lets each role do what it may and refuses the rest with 403', async () => {
    const viewer = await createToken('viewer');
    const operator = await createToken('operator');
    const admin = await createToken('admin');
    const cases: [string, string, string, number][] = [
      [viewer.token, 'GET', '/operator/v1/clients', 200],
      [viewer.token, 'PUT', '/operator/v1/clients/role-test', 403],
      [viewer.token, 'GET', '/operator/v1/tokens', 403],
      [operator.token, 'PUT', '/operator/v1/clients/role-test', 201],
      [operator.token, 'GET', '/operator/v1/fleet-settings', 200],
      [operator.token, 'PUT', '/operator/v1/fleet-settings', 403],
      [operator.token, 'GET', '/operator/v1/tokens', 403],
      [admin.token, 'GET', '/operator/v1/tokens', 200],
      [admin.token, 'DELETE', '/operator/v1/clients/role-test', 204],
    ];
    for (const [token, method, path, status] of cases) {
      const res = await wfm.call(path, {
        method,
        headers: { ...bearer(token), ...json },
        body: method === 'PUT' && path.endsWith('settings') ? '{}' : undefined,
      });
      expect(res.status, `${method} ${path}`).toBe(status);
      if (status === 403) {
        expect(res.json()).toMatchObject({ status: 403, detail: expect.stringContaining('role') });
      }
    }
    const list = await wfm.call('/operator/v1/tokens', { headers: bearer(admin.token) });
    expect(JSON.stringify(list.json())).not.toContain(viewer.token);
  });

  it('tells the caller who it is (GET /operator/v1/me), never the secret', async () => {
    const viewer = await createToken('viewer');
    const me = await wfm.call('/operator/v1/me', { headers: bearer(viewer.token) });
    expect(me.status).toBe(200);
    expect(me.json()).toEqual({ name: 'viewer-ui', role: 'viewer', via: 'token', tokenId: viewer.id });
    const admin = await wfm.call('/operator/v1/me', { headers: bearer(wfm.adminToken) });
    expect(admin.json()).toEqual({ name: 'bootstrap-admin', role: 'admin', via: 'bootstrap' });
    expect((await wfm.call('/operator/v1/me', { headers: bearer('nope') })).status).toBe(401);
  });

  it('refuses a revoked token at once', async () => {
    const viewer = await createToken('viewer');
    expect((await wfm.call('/operator/v1/clients', { headers: bearer(viewer.token) })).status).toBe(200);
    const revoke = await wfm.call(`/operator/v1/tokens/${viewer.id}`, {
      method: 'DELETE',
      headers: bearer(wfm.adminToken),
    });
    expect(revoke.status).toBe(204);
    expect((await wfm.call('/operator/v1/clients', { headers: bearer(viewer.token) })).status).toBe(401);
  });

  it('accepts clients idempotently (201 then 200), lists and filters them, and validates ids', async () => {
    const put = (id: string) =>
      wfm.call(`/operator/v1/clients/${id}`, { method: 'PUT', headers: bearer(wfm.adminToken) });
    expect((await put('line-1.plc')).status).toBe(201);
    expect((await put('line-1.plc')).status).toBe(200);
    const bad = await put('not%20ok');
    expect(bad.status).toBe(422);
    expect(bad.json()).toMatchObject({ errors: [{ field: '/clientId' }] });
    expect((await put('line-2.plc')).status).toBe(201);
    const page = await wfm.call('/operator/v1/clients?profile=rc3&state=active&limit=1', {
      headers: bearer(wfm.adminToken),
    });
    const first = page.json<{ items: { clientId: string }[]; next: string | null }>();
    expect(first).toEqual({
      items: [expect.objectContaining({ profile: 'rc3', state: 'active' })],
      next: expect.any(String),
    });
    // keyset pagination: every active rc.3 client once, in creation order, then `next: null`
    const seen = [...first.items.map((c) => c.clientId)];
    for (let after = first.next; after !== null;) {
      const more = (
        await wfm.call(`/operator/v1/clients?profile=rc3&state=active&limit=1&after=${after}`, {
          headers: bearer(wfm.adminToken),
        })
      ).json<{ items: { clientId: string }[]; next: string | null }>();
      seen.push(...more.items.map((c) => c.clientId));
      after = more.next;
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.indexOf('line-2.plc')).toBeGreaterThan(seen.indexOf('line-1.plc'));
    const badCursor = await wfm.call('/operator/v1/clients?after=not-a-cursor', {
      headers: bearer(wfm.adminToken),
    });
    expect(badCursor.status).toBe(422);
    expect(badCursor.json()).toMatchObject({ errors: [{ field: '/after' }] });
    const one = await wfm.call('/operator/v1/clients/line-1.plc', { headers: bearer(wfm.adminToken) });
    expect(one.json()).toMatchObject({
      clientId: 'line-1.plc',
      spiffeId: 'spiffe://wfm.local/margo/wfm/wfm-1/client/line-1.plc',
    });
    const invalidQuery = await wfm.call('/operator/v1/clients?state=sleeping', {
      headers: bearer(wfm.adminToken),
    });
    expect(invalidQuery.status).toBe(422);
    expect((await wfm.call('/operator/v1/clients/nobody', { headers: bearer(wfm.adminToken) })).status).toBe(
      404,
    );
  });

  it('keeps per-client polling and downtime settings over fleet defaults, and says which layer set each', async () => {
    await wfm.call('/operator/v1/clients/settings-test', { method: 'PUT', headers: bearer(wfm.adminToken) });
    const defaults = await wfm.call('/operator/v1/clients/settings-test/settings', {
      headers: bearer(wfm.adminToken),
    });
    expect(defaults.json()).toMatchObject({
      pollingIntervalSeconds: 30,
      downtimeWindows: [],
      source: { pollingIntervalSeconds: 'fleet' },
    });
    const body = {
      pollingIntervalSeconds: 120,
      pollingPeriod: { start: '06:00', end: '22:00', timezone: 'Europe/Berlin' },
      downtimeWindows: [
        { kind: 'weekly', days: ['sun'], start: '01:00', end: '05:00', reason: 'maintenance' },
        { kind: 'once', from: '2026-12-24T00:00:00Z', to: '2026-12-27T00:00:00Z' },
      ],
    };
    const put = await wfm.call('/operator/v1/clients/settings-test/settings', {
      method: 'PUT',
      headers: { ...bearer(wfm.adminToken), ...json },
      body: JSON.stringify(body),
    });
    expect(put.status).toBe(200);
    expect(put.json()).toMatchObject({
      ...body,
      source: { pollingIntervalSeconds: 'client', pollingPeriod: 'client', downtimeWindows: 'client' },
    });
    const invalid = await wfm.call('/operator/v1/clients/settings-test/settings', {
      method: 'PUT',
      headers: { ...bearer(wfm.adminToken), ...json },
      body: JSON.stringify({
        pollingIntervalSeconds: 1,
        downtimeWindows: [{ kind: 'weekly', days: ['someday'], start: '25:00', end: '01:00' }],
        extra: 1,
      }),
    });
    expect(invalid.status).toBe(422);
    const fields = invalid.json<{ errors: { field: string }[] }>().errors.map((e) => e.field);
    expect(fields).toEqual(
      expect.arrayContaining([
        '/pollingIntervalSeconds',
        '/downtimeWindows/0/days',
        '/downtimeWindows/0/start',
        '/extra',
      ]),
    );
    const reset = await wfm.call('/operator/v1/clients/settings-test/settings', {
      method: 'PUT',
      headers: { ...bearer(wfm.adminToken), ...json },
      body: JSON.stringify({ pollingIntervalSeconds: null }),
    });
    expect(reset.json()).toMatchObject({
      pollingIntervalSeconds: 30,
      source: { pollingIntervalSeconds: 'fleet', pollingPeriod: 'client' },
    });
  });
});

describe('rate limits keyed on client identity', () => {
  let wfm: TestService;
  beforeAll(async () => {
    wfm = await startTestService({ WFM_RATE_LIMIT_PER_MINUTE: '60', WFM_RATE_LIMIT_BURST: '3' }, [
      ProbeModule,
    ]);
  });
  afterAll(async () => {
    await wfm?.stop();
  });

  it('answers 429 problem+json with Retry-After to a client over its limit; another client is unaffected', async () => {
    const a = await rc3Client(wfm, 'noisy');
    const b = await rc3Client(wfm, 'quiet');
    const statuses = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await a.call('GET', '/api/v1/_probe/whoami')).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const limited = await a.call('GET', '/api/v1/_probe/whoami');
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('1');
    expect(limited.json()).toMatchObject({
      status: 429,
      retryable: true,
      backoffStrategy: 'exponential',
      retryAfterSeconds: 1,
    });
    expect((await b.call('GET', '/api/v1/_probe/whoami')).status).toBe(200);
    a.close();
    b.close();
  });
});

describe('fleet settings on a fresh database', () => {
  let wfm: TestService;
  beforeAll(async () => {
    wfm = await startTestService();
  });
  afterAll(async () => {
    await wfm?.stop();
  });

  it('survives concurrent first reads (the defaults row is created once)', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        wfm.call('/operator/v1/fleet-settings', { headers: bearer(wfm.adminToken) }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(200));
  });
});
