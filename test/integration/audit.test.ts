import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueClientSvid, issueDeviceCertificate } from '../../src/client/identities.js';
import { LegacyClient, Rc3Client } from '../../src/client/margo-client.js';
import { AuditService } from '../../src/infra/audit/audit.service.js';
import { capabilities } from '../support/capabilities.js';
import { bearer, devIssuer, rc3Client } from '../support/identities.js';
import { linePackage } from '../support/packages.js';
import { type TestService, startTestService } from '../support/service.js';
import { readEventLog } from '../support/sse.js';

interface AuditEntry {
  id: string;
  at: string;
  actor: { kind: string; id?: string; name: string };
  action: string;
  resource: { type: string; id?: string };
  summary: Record<string, unknown>;
  requestId?: string;
  sourceAddress?: string;
  outcome: 'ok' | 'denied';
}

interface Page<T> {
  items: T[];
  next: string | null;
}

/** One operator write: how to call it validly (built when it runs, from what earlier calls made). */
interface Fixture {
  path: () => string;
  body?: () => unknown;
  contentType?: string;
  /** Runs before the call (e.g. waits for the state the call needs). */
  before?: () => Promise<void>;
  after?: (body: unknown) => void;
  action: string;
}

const openapi = JSON.parse(
  readFileSync(resolve(import.meta.dirname, '../../openapi/openapi.json'), 'utf8'),
) as { paths: Record<string, Record<string, { operationId: string }>> };
const WRITES = ['post', 'put', 'patch', 'delete'];

/** POSTs that change nothing (each with the reason): the walker skips them, and nothing else. */
const READ_ONLY_POSTS: Record<string, string> = {
  previewDeployment: 'a dry run of a deployment: "writes nothing" (POST only for its body)',
};

/** Every write operation of the operator API in the committed OpenAPI document. */
const allOperatorWrites = Object.entries(openapi.paths)
  .filter(([path]) => path.startsWith('/operator/v1/'))
  .flatMap(([path, ops]) =>
    Object.entries(ops)
      .filter(([method]) => WRITES.includes(method))
      .map(([method, op]) => ({ path, method: method.toUpperCase(), operationId: op.operationId })),
  );
const operatorWrites = allOperatorWrites.filter((op) => !(op.operationId in READ_ONLY_POSTS));

async function until<T>(fn: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('audit log of operator changes', () => {
  let wfm: TestService;
  let device: Rc3Client;
  const created: { tokenId?: string; token?: string; viewer?: { id: string; token: string } } = {};
  let legacyClientId = '';
  /** Pending rc.3 enrollment requests by client id (SVIDs of clients nobody accepted yet). */
  const enrollmentRequests: Record<string, string> = {};
  let deploymentId = '';
  let rolloutDeploymentId = '';
  const fingerprint = 'ab'.repeat(32);
  const applicationId = 'com-example-line-monitor';
  const secrets: string[] = [];

  const admin = (extra: Record<string, string> = {}) => ({
    ...bearer(wfm.adminToken),
    'content-type': 'application/json',
    ...extra,
  });

  async function audit(query: Record<string, string> = {}, token = wfm.adminToken) {
    const res = await wfm.call(`/operator/v1/audit?${new URLSearchParams(query).toString()}`, {
      headers: bearer(token),
    });
    return { status: res.status, page: res.json<Page<AuditEntry>>(), text: res.text() };
  }

  async function allEntries(query: Record<string, string> = {}): Promise<AuditEntry[]> {
    const entries: AuditEntry[] = [];
    let after: string | null = null;
    do {
      const { page }: { page: Page<AuditEntry> } = await audit({
        ...query,
        limit: '1000',
        ...(after ? { after } : {}),
      });
      entries.push(...page.items);
      after = page.next;
    } while (after);
    return entries;
  }

  const fixtures: Record<string, Fixture> = {
    createOperatorToken: {
      path: () => '/operator/v1/tokens',
      body: () => ({ name: 'audit-ui', role: 'operator' }),
      after: (body) => {
        const { id, token } = body as { id: string; token: string };
        created.tokenId = id;
        created.token = token;
        secrets.push(token);
      },
      action: 'token.create',
    },
    revokeOperatorToken: {
      path: () => `/operator/v1/tokens/${created.tokenId}`,
      action: 'token.revoke',
    },
    preauthorizeCertificate: {
      path: () => '/operator/v1/preauthorized-certificates',
      body: () => ({ fingerprint, note: 'spare press' }),
      action: 'preauthorized-certificate.create',
    },
    removePreauthorizedCertificate: {
      path: () => `/operator/v1/preauthorized-certificates/${fingerprint}`,
      action: 'preauthorized-certificate.delete',
    },
    acceptClient: { path: () => '/operator/v1/clients/audit-rc3', action: 'client.accept' },
    updateClientSettings: {
      path: () => '/operator/v1/clients/audit-rc3/settings',
      body: () => ({ pollingIntervalSeconds: 120 }),
      action: 'client-settings.update',
    },
    retireClient: { path: () => '/operator/v1/clients/audit-rc3', action: 'client.retire' },
    approveClient: { path: () => `/operator/v1/clients/${legacyClientId}/approve`, action: 'client.approve' },
    rejectClient: { path: () => `/operator/v1/clients/${legacyClientId}/reject`, action: 'client.reject' },
    updateFleetSettings: {
      path: () => '/operator/v1/fleet-settings',
      body: () => ({ pollingIntervalSeconds: 300 }),
      action: 'fleet-settings.update',
    },
    publishPackage: {
      path: () => '/operator/v1/applications',
      body: () => linePackage('1.0.0'),
      contentType: 'application/yaml',
      action: 'package.publish',
    },
    createDeployment: {
      path: () => '/operator/v1/deployments',
      body: () => ({
        applicationId,
        parameters: { greeting: 'Hi', siteId: 'DE-001' },
        target: { clientId: 'line-a', deviceId: 'press-1' },
      }),
      after: (body) => (deploymentId = (body as { id: string }).id),
      action: 'deployment.create',
    },
    updateDeployment: {
      path: () => `/operator/v1/deployments/${deploymentId}`,
      body: () => ({ parameters: { greeting: 'Servus' } }),
      action: 'deployment.update',
    },
    setDeviceParameters: {
      path: () => `/operator/v1/deployments/${deploymentId}/devices/line-a/press-1/parameters`,
      body: () => ({ parameters: { sampleRate: 50 } }),
      before: async () => {
        await until(
          () => wfm.call(`/operator/v1/deployments/${deploymentId}/targets`, { headers: admin() }),
          (r) => r.json<Page<unknown>>().items.length === 1,
        );
      },
      action: 'deployment.override',
    },
    replaceDeviceLabels: {
      path: () => '/operator/v1/devices/line-a/press-1/labels',
      body: () => ({ role: 'canary', cell: '3' }),
      action: 'device-labels.replace',
    },
    patchDeviceLabels: {
      path: () => '/operator/v1/devices/line-a/press-1/labels',
      body: () => ({ cell: null }),
      action: 'device-labels.patch',
    },
    changeDeviceLabels: {
      path: () => '/operator/v1/devices/labels',
      body: () => ({ selector: { clientId: 'line-a' }, set: { zone: 'A' } }),
      action: 'device-labels.bulk',
    },
    actOnRollout: {
      path: () => `/operator/v1/deployments/${rolloutDeploymentId}/rollout/abort`,
      before: async () => {
        const res = await wfm.call('/operator/v1/deployments', {
          method: 'POST',
          headers: admin(),
          body: JSON.stringify({
            applicationId,
            parameters: { greeting: 'Staged', siteId: 'DE-001' },
            target: { selector: { matchLabels: { zone: 'A' } } },
            rollout: { waves: [{ count: 1 }], approval: 'before-first-wave' },
          }),
        });
        expect(res.status, res.text()).toBe(201);
        rolloutDeploymentId = res.json<{ id: string }>().id;
        // the worker plans the first wave, then waits for the approval: abort applies from there
        await until(
          () => wfm.call(`/operator/v1/deployments/${rolloutDeploymentId}/rollout`, { headers: admin() }),
          (r) => r.json<{ rollout: { state: string } | null }>().rollout?.state === 'waiting-approval',
        );
      },
      action: 'rollout.abort',
    },
    deleteDeployment: { path: () => `/operator/v1/deployments/${deploymentId}`, action: 'deployment.delete' },
    deletePackage: {
      path: () => `/operator/v1/applications/${applicationId}/versions/1.0.0`,
      before: async () => {
        const res = await wfm.call(`/operator/v1/deployments/${rolloutDeploymentId}`, {
          method: 'DELETE',
          headers: admin(),
        });
        expect(res.status, res.text()).toBeLessThan(300);
      },
      action: 'package.delete',
    },
    approveEnrollmentRequest: {
      path: () => `/operator/v1/enrollment-requests/${enrollmentRequests['audit-new-1']}/approve`,
      action: 'enrollment-request.approve',
    },
    rejectEnrollmentRequest: {
      path: () => `/operator/v1/enrollment-requests/${enrollmentRequests['audit-new-2']}/reject`,
      action: 'enrollment-request.reject',
    },
    issueStreamToken: {
      path: () => '/operator/v1/events/token',
      after: (body) => secrets.push((body as { token: string }).token),
      action: 'stream-token.issue',
    },
  };

  beforeAll(async () => {
    wfm = await startTestService({ WFM_ONBOARDING_MODE: 'approval' });
    secrets.push(wfm.adminToken);
    device = await rc3Client(wfm, 'line-a');
    expect(
      (
        await device.putCapabilities(
          'press-1',
          capabilities('press-1', { supportedDeploymentTypes: ['compose'] }),
        )
      ).status,
    ).toBe(201);
    const identity = await issueDeviceCertificate('audit-legacy');
    const { client } = await LegacyClient.onboard(wfm.url, identity, { ca: wfm.serverCa });
    legacyClientId = client!.clientId;
    const viewer = await wfm.call('/operator/v1/tokens', {
      method: 'POST',
      headers: admin(),
      body: JSON.stringify({ name: 'audit-viewer', role: 'viewer' }),
    });
    created.viewer = viewer.json<{ id: string; token: string }>();
    secrets.push(created.viewer.token);
    const issuer = await devIssuer(wfm);
    for (const clientId of ['audit-new-1', 'audit-new-2']) {
      const svid = await issueClientSvid(issuer, clientId);
      const stranger = new Rc3Client({
        baseUrl: wfm.url,
        ca: wfm.serverCa!,
        certChainPem: svid.certChainPem,
        keyPem: svid.keyPem,
        wfmSpiffeId: wfm.config.identity.spiffeId,
      });
      expect((await stranger.call('GET', '/api/v1/deployments')).status).toBe(403);
      stranger.close();
      const listed = await until(
        () => wfm.call(`/operator/v1/enrollment-requests?clientId=${clientId}`, { headers: admin() }),
        (r) => r.json<Page<{ id: string }>>().items.length === 1,
      );
      enrollmentRequests[clientId] = listed.json<Page<{ id: string }>>().items[0].id;
    }
  });
  afterAll(async () => {
    await wfm?.stop();
  });

  it('has a fixture for every operator write in openapi.json (a new route needs one, and an audit call)', () => {
    expect(operatorWrites.length).toBeGreaterThan(10);
    // every exemption names a real POST (the list cannot go stale)
    for (const id of Object.keys(READ_ONLY_POSTS)) {
      expect(allOperatorWrites.find((op) => op.operationId === id)?.method, id).toBe('POST');
    }
    const missing = operatorWrites.filter((op) => !(op.operationId in fixtures)).map((op) => op.operationId);
    expect(missing, `operator writes without an audit fixture: ${missing.join(', ')}`).toEqual([]);
  });

  it('records every operator write, in the order made, with actor, request id and source address', async () => {
    const order = Object.keys(fixtures);
    const ops = [...operatorWrites].sort(
      (a, b) => order.indexOf(a.operationId) - order.indexOf(b.operationId),
    );
    for (const op of ops) {
      const fixture = fixtures[op.operationId];
      await fixture.before?.();
      const requestId = `audit-${op.operationId}-${randomUUID()}`;
      const body = fixture.body?.();
      const res = await wfm.call(fixture.path(), {
        method: op.method,
        headers: admin({
          'x-request-id': requestId,
          ...(fixture.contentType ? { 'content-type': fixture.contentType } : {}),
        }),
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      expect(res.status, `${op.method} ${op.path}: ${res.text()}`).toBeLessThan(300);
      fixture.after?.(res.body.length > 0 ? res.json() : undefined);
      const { page } = await audit({ limit: '20' });
      const entry = page.items.find((e) => e.requestId === requestId);
      expect(entry, `${op.operationId} (${op.method} ${op.path}) wrote no audit entry`).toBeDefined();
      expect(entry).toMatchObject({
        action: fixture.action,
        outcome: 'ok',
        actor: { kind: 'bootstrap', name: 'bootstrap-admin' },
        sourceAddress: '127.0.0.1',
      });
    }
  });

  it('summaries hold the change, never a token or a secret', async () => {
    const entries = await allEntries();
    const text = JSON.stringify(entries);
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/tokenHash|token_hash/);
    const update = entries.find((e) => e.action === 'deployment.update')!;
    expect(update.resource).toEqual({ type: 'deployment', id: deploymentId });
    expect(update.summary).toMatchObject({
      before: { parameters: { greeting: 'Hi' }, revision: 1 },
      after: { parameters: { greeting: 'Servus' }, revision: 2 },
    });
    const token = entries.find((e) => e.action === 'token.create')!;
    expect(token.summary).toEqual({
      after: { name: 'audit-ui', role: 'operator', prefix: expect.any(String) },
    });
    const settings = entries.find((e) => e.action === 'client-settings.update')!;
    expect(settings.summary).toMatchObject({ before: null, after: { pollingIntervalSeconds: 120 } });
  });

  it('records a refused (403) attempt as denied, with the acting token', async () => {
    const viewer = created.viewer!;
    const requestId = `denied-${randomUUID()}`;
    const res = await wfm.call('/operator/v1/clients/not-for-viewers', {
      method: 'PUT',
      headers: { ...bearer(viewer.token), 'x-request-id': requestId },
    });
    expect(res.status).toBe(403);
    const [entry] = (await audit({ actor: viewer.id })).page.items;
    expect(entry).toMatchObject({
      action: 'client.accept',
      resource: { type: 'client', id: 'not-for-viewers' },
      outcome: 'denied',
      requestId,
      actor: { kind: 'token', id: viewer.id, name: 'audit-viewer' },
    });
    // the audit log itself is for admins only (and that refusal is recorded too)
    expect((await audit({}, viewer.token)).status).toBe(403);
    const [read] = (await audit({ actor: 'audit-viewer' })).page.items;
    expect(read).toMatchObject({ action: 'http.get', resource: { type: 'route', id: '/operator/v1/audit' } });
    // nothing was accepted
    expect((await wfm.call('/operator/v1/clients/not-for-viewers', { headers: admin() })).status).toBe(404);
  });

  it('filters by actor, resource, action and time range', async () => {
    const all = await allEntries();
    const byResource = await allEntries({ resourceType: 'deployment', resourceId: deploymentId });
    expect(byResource.map((e) => e.action).sort()).toEqual(
      ['deployment.create', 'deployment.delete', 'deployment.override', 'deployment.update'].sort(),
    );
    const updates = await allEntries({ action: 'deployment.update' });
    expect(updates).toHaveLength(1);
    const byActor = await allEntries({ actor: 'bootstrap-admin' });
    expect(byActor.length).toBe(all.filter((e) => e.actor.name === 'bootstrap-admin').length);
    const mid = all[Math.floor(all.length / 2)];
    const newer = await allEntries({ from: mid.at });
    const older = await allEntries({ to: mid.at });
    expect(newer.length + older.length).toBe(all.length);
    expect(newer.every((e) => e.at >= mid.at) && older.every((e) => e.at < mid.at)).toBe(true);
    const bad = await audit({ from: 'yesterday' });
    expect(bad.status).toBe(422);
  });

  it('pages newest first with the shared keyset cursor, without gaps or repeats', async () => {
    const all = await allEntries();
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const { page }: { page: Page<AuditEntry> } = await audit({ limit: '3', ...(after ? { after } : {}) });
      expect(page.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.items.map((e) => e.id));
      after = page.next;
    } while (after);
    expect(seen).toEqual(all.map((e) => e.id));
    const ids = seen.map(BigInt);
    expect(ids.every((id, i) => i === 0 || id < ids[i - 1])).toBe(true);
    expect((await audit({ after: 'not-a-cursor' })).status).toBe(422);
  });

  it('carries audit entries on the event stream of admins, not of viewers', async () => {
    const events = await readEventLog(
      { url: wfm.url, ca: wfm.serverCa!, adminToken: wfm.adminToken, issuer: undefined as never },
      { type: 'audit.recorded' },
      (list) => list.some((e) => e.data.action === 'deployment.delete'),
      5_000,
    );
    expect(events.find((e) => e.data.action === 'deployment.update')?.data).toMatchObject({
      resource: { type: 'deployment', id: deploymentId },
      outcome: 'ok',
    });
    const viewerEvents = await readEventLog(
      { url: wfm.url, ca: wfm.serverCa!, adminToken: created.viewer!.token, issuer: undefined as never },
      {},
      () => false,
      1_500,
    );
    expect(viewerEvents.length).toBeGreaterThan(0); // client.enrolled and others
    expect(viewerEvents.filter((e) => e.type === 'audit.recorded')).toEqual([]);
  });

  it('purges entries past the retention period only', async () => {
    const service = wfm.app.get(AuditService, { strict: false });
    const before = (await allEntries()).length;
    expect(await service.purgeExpired(new Date())).toBe(0); // nothing is 365 days old
    expect((await allEntries()).length).toBe(before);
    const purged = await service.purgeExpired(new Date(Date.now() + 366 * 86_400_000));
    expect(purged).toBe(before);
    expect(await allEntries()).toEqual([]);
  });
});
