import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rc3Client } from '../../src/client/margo-client.js';
import { issueClientSvid } from '../../src/client/identities.js';
import { ManifestService } from '../../src/modules/deployment-spec/manifests/manifest.service.js';
import { request } from '../../src/client/transport.js';
import { type ServiceProcess, spawnService } from '../support/process.js';
import { capabilities } from '../support/capabilities.js';
import { bearer, devIssuer } from '../support/identities.js';
import { linePackage } from '../support/packages.js';
import { type TestService, startTestService } from '../support/service.js';

interface Manifest {
  manifestVersion: number;
  deployments: { deploymentId: string; digest: string }[];
}

/** Two API instances and one worker on one database and one Redis prefix. */
describe('manifest versions under concurrent changes (2 API instances + 1 worker)', () => {
  let api1: TestService;
  let api2: { url: string; call: TestService['call']; stop(): Promise<void> };
  let worker: ServiceProcess;
  let clients: Rc3Client[];

  beforeAll(async () => {
    // API instance 1 in this process; API instance 2 and the worker as processes of their own
    api1 = await startTestService({
      WFM_ROLES: 'api',
      WFM_ONBOARDING_MODE: 'auto',
      WFM_RECOMPUTE_DEBOUNCE_MS: '50',
      WFM_RATE_LIMIT_PER_MINUTE: '0',
    });
    const shared = {
      DATABASE_URL: api1.databaseUrl,
      REDIS_URL: api1.config.redis.url,
      WFM_DATA_DIR: api1.dataDir,
      WFM_QUEUE_PREFIX: api1.config.queue.prefix,
      WFM_RECOMPUTE_DEBOUNCE_MS: '50',
      WFM_RATE_LIMIT_PER_MINUTE: '0',
      WFM_HOST: '127.0.0.1',
      PORT: '0',
    };
    const second = await spawnService({ ...shared, WFM_ROLES: 'api' });
    api2 = {
      url: second.url!,
      call: (path, options = {}) => request(new URL(path, second.url), { ca: api1.serverCa, ...options }),
      stop: () => second.stop(),
    };
    worker = await spawnService({ ...shared, WFM_ROLES: 'worker' });
    const admin = { ...bearer(api1.adminToken), 'content-type': 'application/json' };
    expect((await api1.call('/operator/v1/clients/cell-1', { method: 'PUT', headers: admin })).status).toBe(
      201,
    );
    const svid = await issueClientSvid(await devIssuer(api1), 'cell-1');
    clients = [api1, api2].map(
      (api) =>
        new Rc3Client({
          baseUrl: api.url,
          ca: api1.serverCa!,
          ...svid,
          wfmSpiffeId: api1.config.identity.spiffeId,
        }),
    );
  });
  afterAll(async () => {
    for (const c of clients ?? []) c.close();
    await worker?.stop();
    await api2?.stop();
    await api1?.stop();
  });

  it('every observed manifestVersion only goes up, and the final manifest reflects the last accepted update', async () => {
    const admin = { ...bearer(api1.adminToken), 'content-type': 'application/json' };
    await api1.call('/operator/v1/applications', {
      method: 'POST',
      headers: { ...bearer(api1.adminToken), 'content-type': 'application/yaml' },
      body: linePackage('2.0.0', 'com-example-concurrency'),
    });
    const put = await clients[0].putCapabilities('robot', capabilities('robot'));
    expect(put.status, put.text()).toBe(201);
    const created = await api2.call('/operator/v1/deployments', {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({
        applicationId: 'com-example-concurrency',
        parameters: { siteId: 'DE-100' },
        target: { clientId: 'cell-1', deviceId: 'robot' },
      }),
    });
    expect(created.status, created.text()).toBe(201);
    const id = created.json<{ id: string }>().id;

    const seen: number[][] = [[], []];
    let polling = true;
    const pollers = clients.map(async (client, i) => {
      while (polling) {
        const res = await client.getManifest();
        if (res.status === 200) seen[i].push(res.json<Manifest>().manifestVersion);
      }
    });

    const updates = await Promise.all(
      Array.from({ length: 30 }, (_, n) =>
        [api1, api2][n % 2].call(`/operator/v1/deployments/${id}`, {
          method: 'PATCH',
          headers: admin,
          body: JSON.stringify({ parameters: { siteId: 'DE-100', sampleRate: n + 1 } }),
        }),
      ),
    );
    expect(updates.every((u) => u.status === 200)).toBe(true);
    const last = Math.max(...updates.map((u) => u.json<{ revision: number }>().revision));
    const lastRate = updates
      .find((u) => u.json<{ revision: number }>().revision === last)!
      .json<{ parameters: { sampleRate: number } }>().parameters.sampleRate;

    const end = Date.now() + 20_000;
    let finalYaml = '';
    while (Date.now() < end) {
      const res = await clients[0].getManifest();
      const entry = res.status === 200 ? res.json<Manifest>().deployments[0] : undefined;
      if (entry) {
        finalYaml = (await clients[0].getDeploymentYaml(entry.deploymentId, entry.digest)).text();
        if (finalYaml.includes(`value: ${lastRate}\n`)) break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    polling = false;
    await Promise.all(pollers);
    expect(finalYaml).toContain(`value: ${lastRate}\n`);
    for (const versions of seen) {
      expect(versions.length).toBeGreaterThan(0);
      for (let i = 1; i < versions.length; i += 1) {
        expect(versions[i]).toBeGreaterThanOrEqual(versions[i - 1]);
      }
    }
  });

  it('purges digests no longer referenced by the last 3 manifests or the last 7 days (driven clock)', async () => {
    const manifests = api1.app.get(ManifestService);
    const m = (await clients[0].getManifest()).json<Manifest>();
    const kept = await manifests.purge(3, 7, new Date());
    expect(kept.documents).toBe(0);
    const later = await manifests.purge(3, 7, new Date(Date.now() + 8 * 86_400_000));
    expect(later.documents).toBeGreaterThan(0);
    const current = m.deployments[0];
    expect((await clients[0].getDeploymentYaml(current.deploymentId, current.digest)).status).toBe(200);
  });
});
