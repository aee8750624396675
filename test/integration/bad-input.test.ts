import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueDeviceCertificate } from '../../src/client/identities.js';
import { LegacyClient, type Rc3Client } from '../../src/client/margo-client.js';
import type { RawResponse } from '../../src/client/transport.js';
import { capabilities } from '../support/capabilities.js';
import { bearer, rc3Client } from '../support/identities.js';
import { linePackage } from '../support/packages.js';
import { type TestService, startTestService } from '../support/service.js';

/**
 * Issue #13, "Input that must get a 4xx gets a 500": every listed case, across the rc.3 and legacy
 * device APIs and the operator API, must be answered with a 4xx problem+json (never a 5xx), with a
 * JSON pointer where the cause is a field, and the service must keep answering afterwards.
 */

interface Problem {
  status: number;
  detail: string;
  errors?: { field: string; message: string }[];
}

function expectProblem(res: RawResponse, label: string, pointer?: string): Problem {
  const text = res.text();
  expect(res.status, `${label}: ${text.slice(0, 300)}`).toBeGreaterThanOrEqual(400);
  expect(res.status, `${label}: ${text.slice(0, 300)}`).toBeLessThan(500);
  expect(res.headers['content-type'], label).toContain('application/problem+json');
  const problem = res.json<Problem>();
  if (pointer !== undefined) {
    expect(
      problem.errors?.map((e) => e.field),
      `${label}: ${text.slice(0, 300)}`,
    ).toContain(pointer);
  }
  return problem;
}

/** JSON text of `body` with the string "DEEP" replaced by an object nested `depth` levels (as text:
 * JSON.stringify itself would overflow the stack). */
const withDeep = (body: unknown, depth: number, leaf = '1'): string =>
  JSON.stringify(body).replace('"DEEP"', '{"a":'.repeat(depth) + leaf + '}'.repeat(depth));

describe('bad input gets a 4xx problem, never a 5xx (issue #13)', () => {
  let wfm: TestService;
  let device: Rc3Client;
  let legacy: LegacyClient;
  const admin = () => ({ ...bearer(wfm.adminToken), 'content-type': 'application/json' });
  const deploy = (body: unknown) =>
    wfm.call('/operator/v1/deployments', {
      method: 'POST',
      headers: admin(),
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  beforeAll(async () => {
    wfm = await startTestService({ WFM_ONBOARDING_MODE: 'auto', WFM_RATE_LIMIT_PER_MINUTE: '0' });
    device = await rc3Client(wfm, 'bad-input');
    const { client } = await LegacyClient.onboard(wfm.url, await issueDeviceCertificate('bad-legacy'), {
      ca: wfm.serverCa,
    });
    legacy = client!;
    const res = await wfm.call('/operator/v1/applications', {
      method: 'POST',
      headers: { ...bearer(wfm.adminToken), 'content-type': 'application/yaml' },
      body: linePackage(),
    });
    expect(res.status, res.text()).toBe(201);
    expect((await device.putCapabilities('press', capabilities('press'))).status).toBe(201);
  });
  afterAll(async () => {
    device?.close();
    legacy?.close();
    await wfm?.stop();
  });

  it('NUL and lone surrogates in paths and in any JSON string → 4xx naming the field', async () => {
    expectProblem(await device.deleteCapabilities('%00'), 'rc.3 DELETE %00');
    expectProblem(await legacy.deleteCapabilities('%00'), 'legacy DELETE %00');
    expectProblem(await device.putCapabilities('%00', capabilities('x')), 'rc.3 PUT %00');
    expectProblem(
      await wfm.call('/operator/v1/devices/bad-input/%00', { headers: admin() }),
      'operator GET device %00',
    );
    expectProblem(
      await wfm.call('/operator/v1/devices?clientId=%00', { headers: admin() }),
      'operator list ?clientId=%00',
    );
    for (const bad of ['Acme\u0000', 'Acme\ud800', '\udc00Acme']) {
      const label = JSON.stringify(bad);
      expectProblem(
        await device.putCapabilities('vendor-1', capabilities('vendor-1', { vendor: bad })),
        `rc.3 vendor ${label}`,
        '/properties/vendor',
      );
      expectProblem(
        await legacy.putCapabilities('vendor-1', capabilities('vendor-1', { vendor: bad })),
        `legacy vendor ${label}`,
        '/properties/vendor',
      );
      expectProblem(
        await deploy({
          applicationId: 'com-example-line-monitor',
          parameters: { siteId: 'DE-001', greeting: bad },
          target: { clientId: 'bad-input', deviceId: 'press' },
        }),
        `parameter ${label}`,
        '/parameters/greeting',
      );
      expectProblem(
        await deploy({ applicationId: bad, target: { clientId: 'bad-input', deviceId: 'press' } }),
        `operator applicationId ${label}`,
        '/applicationId',
      );
      // in an object key too
      expectProblem(
        await device.putCapabilities('vendor-1', capabilities('vendor-1', {}, { [`line${bad}`]: 'paint' })),
        `label key ${label}`,
      );
    }
    // YAML escapes produce them too (an application package's description)
    for (const [escape, version] of [
      ['\\0', '1.0.1'],
      ['\\ud800', '1.0.2'],
    ]) {
      expectProblem(
        await wfm.call('/operator/v1/applications', {
          method: 'POST',
          headers: { ...bearer(wfm.adminToken), 'content-type': 'application/yaml' },
          body: linePackage(version).replace(
            'Watches a production line and reports OEE.',
            `"Watches ${escape} a line"`,
          ),
        }),
        `package YAML ${escape}`,
        '/metadata/description',
      );
    }
    // a valid surrogate pair (an emoji) is fine
    expect(
      (await device.putCapabilities('vendor-2', capabilities('vendor-2', { vendor: 'Acme \ud83d\ude80' })))
        .status,
    ).toBe(201);
  });

  it('adoptedManifestVersion beyond 2^63−1 → 4xx with pointer', async () => {
    const adId = randomUUID();
    for (const digits of ['9223372036854775808', '99999999999999999999', '1e30', '1E19', '9.3e18']) {
      const body = `{"deploymentId":"${adId}","adoptedManifestVersion":${digits},"status":{"state":"installed"},"components":[]}`;
      expectProblem(
        await device.call('POST', `/api/v1/deployments/${adId}/status`, { body }),
        `rc.3 adoptedManifestVersion ${digits}`,
        '/adoptedManifestVersion',
      );
      expectProblem(
        await legacy.call('POST', `/api/v1/clients/${legacy.clientId}/deployments/${adId}/status`, {
          body,
        }),
        `legacy adoptedManifestVersion ${digits}`,
        '/adoptedManifestVersion',
      );
    }
    // the largest bigint is still a valid (if odd) version: an orphan report, 200
    const max = `{"deploymentId":"${adId}","adoptedManifestVersion":9223372036854775807,"status":{"state":"installed"},"components":[]}`;
    const res = await device.call('POST', `/api/v1/deployments/${adId}/status`, { body: max });
    expect(res.status, res.text()).toBeLessThan(300);
  });

  it('device and client ids over the documented maximum → 4xx wherever they enter', async () => {
    // random, so that PostgreSQL cannot compress it below the index row limit
    const long = randomBytes(1500).toString('hex');
    expectProblem(await device.putCapabilities(long, capabilities(long)), 'rc.3 PUT 3 kB id');
    expectProblem(await legacy.putCapabilities(long, capabilities(long)), 'legacy PUT 3 kB id');
    expectProblem(await device.deleteCapabilities(long), 'rc.3 DELETE 3 kB id');
    expectProblem(
      await deploy({
        applicationId: 'com-example-line-monitor',
        parameters: { siteId: 'DE-001' },
        target: { clientId: 'bad-input', deviceId: long },
      }),
      'deployment target deviceId 3 kB',
      '/target/deviceId',
    );
    expectProblem(
      await deploy({
        applicationId: 'com-example-line-monitor',
        parameters: { siteId: 'DE-001' },
        target: { clientId: long, deviceId: 'press' },
      }),
      'deployment target clientId 3 kB',
      '/target/clientId',
    );
    const adId = randomUUID();
    expectProblem(
      await device.call('POST', `/api/v1/deployments/${adId}/status`, {
        body: {
          deploymentId: adId,
          deviceId: long,
          adoptedManifestVersion: 1,
          status: { state: 'installed' },
          components: [],
        },
      }),
      'status deviceId 3 kB',
      '/deviceId',
    );
    // an orphan status report for a deployment id that long (orphans are stored by their id)
    const body = {
      deploymentId: long,
      adoptedManifestVersion: 1,
      status: { state: 'installed' },
      components: [],
    };
    expectProblem(
      await device.call('POST', `/api/v1/deployments/${long}/status`, { body }),
      'status deploymentId 3 kB',
      '/deploymentId',
    );
    expectProblem(
      await legacy.call('POST', `/api/v1/clients/${legacy.clientId}/deployments/${long}/status`, { body }),
      'legacy status deploymentId 3 kB',
      '/deploymentId',
    );
    expectProblem(
      await wfm.call(`/operator/v1/clients/${long}`, { method: 'PUT', headers: admin() }),
      'operator accept a 3 kB client id',
      '/clientId',
    );
    // 255 characters is the documented maximum and still works
    const max = 'm'.repeat(255);
    expect((await device.putCapabilities(max, capabilities(max))).status).toBe(201);
    expectProblem(await device.putCapabilities(`${max}m`, capabilities(`${max}m`)), '256-character id');
  });

  it('JSON nested 10,000 levels or a 100,000-deep array → 4xx before any recursive work', async () => {
    expectProblem(
      await device.putCapabilities(
        'deep-1',
        withDeep(capabilities('deep-1', { 'x-acme-extensions': 'DEEP' }), 10_000),
      ),
      'capability extensions 10,000 deep',
    );
    expectProblem(
      await legacy.putCapabilities(
        'deep-1',
        withDeep(capabilities('deep-1', { 'x-acme-extensions': 'DEEP' }), 10_000),
      ),
      'legacy capability extensions 10,000 deep',
    );
    expectProblem(
      await deploy(
        withDeep(
          {
            applicationId: 'com-example-line-monitor',
            parameters: { siteId: 'DE-001', greeting: 'DEEP' },
            target: { clientId: 'bad-input', deviceId: 'press' },
          },
          10_000,
          '"x"',
        ),
      ),
      'deployment parameters 10,000 deep',
    );
    expectProblem(await deploy('['.repeat(100_000) + ']'.repeat(100_000)), '100,000-deep array');
    // a wrong content type does not bypass the limit (the device API parses such bodies too)
    expectProblem(
      await device.call('PUT', '/api/v1/capabilities/deep-2', {
        headers: { 'content-type': 'text/plain' },
        body: withDeep(capabilities('deep-2', { 'x-acme-extensions': 'DEEP' }), 10_000),
      }),
      'text/plain body 10,000 deep',
    );
    // moderate nesting is fine
    expect(
      (
        await device.putCapabilities(
          'deep-3',
          withDeep(capabilities('deep-3', { 'x-acme-extensions': 'DEEP' }), 20),
        )
      ).status,
    ).toBe(201);
  });

  it('POST /operator/v1/deployments without target → 422 with pointer /target', async () => {
    const problem = expectProblem(
      await deploy({ applicationId: 'com-example-line-monitor', parameters: { siteId: 'DE-001' } }),
      'no target',
      '/target',
    );
    expect(problem.status).toBe(422);
    expectProblem(
      await deploy({ applicationId: 'com-example-line-monitor', target: null }),
      'target null',
      '/target',
    );
    expectProblem(
      await deploy({ applicationId: 'com-example-line-monitor', target: 'press' }),
      'target a string',
      '/target',
    );
  });

  it('malformed percent-encoding in a device-API path → 4xx (authenticated or not)', async () => {
    expectProblem(await wfm.call('/api/v1/clients/%E0%A4%A/nope'), 'unauthenticated %E0%A4%A');
    expectProblem(
      await wfm.call('/api/v1/clients/%E0%A4%A/capabilities/x', { method: 'DELETE' }),
      'route %E0%A4%A',
    );
    expectProblem(await device.call('GET', '/api/v1/nope/%E0%A4%A'), 'rc.3 fallback %E0%A4%A');
    expectProblem(await device.deleteCapabilities('%E0%A4%A'), 'rc.3 DELETE %E0%A4%A');
    expectProblem(
      await wfm.call('/operator/v1/devices?clientId=%E0%A4%A', { headers: admin() }),
      'operator query %E0%A4%A',
    );
  });

  it('20 concurrent first PUTs of a new device: all 2xx, exactly one 201', async () => {
    for (const [client, name] of [
      [device, 'rc.3'],
      [legacy, 'legacy'],
    ] as const) {
      const id = `race-${name === 'rc.3' ? 'rc3' : 'legacy'}-${randomUUID().slice(0, 8)}`;
      const results = await Promise.all(
        Array.from({ length: 20 }, () => client.putCapabilities(id, capabilities(id))),
      );
      const statuses = results.map((r) => r.status);
      expect(
        statuses.every((s) => s >= 200 && s < 300),
        `${name}: ${statuses.join(',')}`,
      ).toBe(true);
      if (name === 'rc.3') {
        expect(
          statuses.filter((s) => s === 201),
          statuses.join(','),
        ).toHaveLength(1);
      }
      const stored = await wfm.call(
        `/operator/v1/devices/${client === device ? 'bad-input' : legacy.clientId}/${id}`,
        { headers: admin() },
      );
      expect(stored.json<{ capabilityVersion: number }>().capabilityVersion).toBe(1);
    }
  });

  it('still answers normally afterwards', async () => {
    expect((await wfm.call('/health/live')).status).toBe(200);
    expect((await device.putCapabilities('press', capabilities('press'))).status).toBe(200);
  });
});
