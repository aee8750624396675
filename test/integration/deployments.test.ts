import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Digest } from '../../src/client/digest.js';
import { issueDeviceCertificate } from '../../src/client/identities.js';
import { LegacyClient, type Rc3Client } from '../../src/client/margo-client.js';
import type { RawResponse } from '../../src/client/transport.js';
import { capabilities, gateway } from '../support/capabilities.js';
import { bearer, rc3Client } from '../support/identities.js';
import { linePackage } from '../support/packages.js';
import { type TestService, startTestService } from '../support/service.js';

const MANIFEST_TYPE = 'application/vnd.margo.manifest.v1+json';
const examples = resolve(import.meta.dirname, '../../reference/margo/examples');

interface Manifest {
  manifestVersion: number;
  bundle: { mediaType: string; digest: string; sizeBytes: number; url: string } | null;
  deployments: { deploymentId: string; digest: string; sizeBytes: number; url: string }[];
}
interface Target {
  clientId: string;
  deviceId: string;
  deploymentId: string;
  placement: string;
  reasons: string[];
  digest: string | null;
  parameters: { name: string; value: unknown; source: string }[];
}

describe('deployment specs and the state manifest', () => {
  let wfm: TestService;
  let device: Rc3Client;
  const admin = () => ({ ...bearer(wfm.adminToken), 'content-type': 'application/json' });

  beforeAll(async () => {
    wfm = await startTestService({ WFM_ONBOARDING_MODE: 'auto', WFM_RECOMPUTE_DEBOUNCE_MS: '100' });
    device = await rc3Client(wfm, 'line-a');
    const res = await wfm.call('/operator/v1/applications', {
      method: 'POST',
      headers: { ...bearer(wfm.adminToken), 'content-type': 'application/yaml' },
      body: linePackage(),
    });
    expect(res.status, res.text()).toBe(201);
  });
  afterAll(async () => {
    device?.close();
    await wfm?.stop();
  });

  const manifestOf = (res: RawResponse) => res.json<Manifest>();
  async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 15_000): Promise<T> {
    const end = Date.now() + ms;
    let last = await fn();
    while (!ok(last) && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 100));
      last = await fn();
    }
    if (!ok(last)) throw new Error(`condition not reached: ${JSON.stringify(last).slice(0, 500)}`);
    return last;
  }
  const deploy = async (body: unknown) => {
    const res = await wfm.call('/operator/v1/deployments', {
      method: 'POST',
      headers: admin(),
      body: JSON.stringify(body),
    });
    expect(res.status, res.text()).toBe(201);
    return res.json<{ id: string }>().id;
  };
  const targetsOf = async (id: string) =>
    (await wfm.call(`/operator/v1/deployments/${id}`, { headers: admin() })).json<{ targets: Target[] }>()
      .targets;

  it('accepts the spec example package and refuses the invalid one, duplicates and bad YAML', async () => {
    const post = (body: string, type = 'application/yaml') =>
      wfm.call('/operator/v1/applications', {
        method: 'POST',
        headers: { ...bearer(wfm.adminToken), 'content-type': type },
        body,
      });
    const valid = await post(
      readFileSync(resolve(examples, 'valid/model/ApplicationDescription-helm_only.yaml'), 'utf8'),
    );
    expect(valid.status, valid.text()).toBe(201);
    expect(valid.json()).toMatchObject({
      applicationId: 'com-northstartida-hello-world',
      version: '1.0',
      profiles: [{ type: 'helm' }],
    });
    const invalid = await post(
      readFileSync(resolve(examples, 'invalid/model/ApplicationDescription-001.yaml'), 'utf8'),
    );
    expect(invalid.status).toBe(422);
    expect(invalid.json()).toMatchObject({
      errors: expect.arrayContaining([expect.objectContaining({ field: '/kind' })]),
    });
    expect((await post(linePackage())).status).toBe(409);
    expect((await post('key: [unclosed')).status).toBe(400);
  });

  it('serves an empty manifest first: version 1, bundle null, exact headers; 304, *, 406, Accept absent', async () => {
    const res = await device.getManifest();
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe(MANIFEST_TYPE);
    expect(res.headers['cache-control']).toBe('private');
    expect(res.headers.etag).toBe(`"${sha256Digest(res.body)}"`);
    expect(manifestOf(res)).toEqual({ manifestVersion: 1, bundle: null, deployments: [] });
    expect(res.text()).toBe('{"bundle":null,"deployments":[],"manifestVersion":1}');
    const etag = res.headers.etag as string;
    expect((await device.getManifest({ ifNoneMatch: etag })).status).toBe(304);
    expect((await device.getManifest({ ifNoneMatch: '*' })).status).toBe(304);
    expect((await device.getManifest({ ifNoneMatch: `W/${etag}` })).status).toBe(200);
    expect((await device.getManifest({ accept: MANIFEST_TYPE })).status).toBe(200);
    const refused = await device.getManifest({ accept: 'application/json' });
    expect(refused.status).toBe(406);
    expect(refused.json()).toMatchObject({
      type: 'https://docs.margo.org/specification/problem-types#server-cannot-generate-response',
    });
  });

  it('places a deployment, serves YAML and bundle bytes that hash to their digests, keeps the id across a parameter change', async () => {
    expect(
      (
        await device.putCapabilities(
          'press-1',
          capabilities('press-1', { supportedDeploymentTypes: ['compose'] }),
        )
      ).status,
    ).toBe(201);
    const before = manifestOf(await device.getManifest());
    const id = await deploy({
      applicationId: 'com-example-line-monitor',
      parameters: { greeting: 'Hi', siteId: 'DE-001' },
      target: { clientId: 'line-a', deviceId: 'press-1' },
    });
    const placed = await until(
      () => device.getManifest(),
      (r) => manifestOf(r).deployments.length === 1,
    );
    const m1 = manifestOf(placed);
    expect(m1.manifestVersion).toBeGreaterThan(before.manifestVersion);
    const entry = m1.deployments[0];
    expect(entry.url).toBe(`/api/v1/deployments/${entry.deploymentId}/${entry.digest}`);
    const yaml = await device.getDeploymentYaml(entry.deploymentId, entry.digest);
    expect(yaml.status).toBe(200);
    expect(yaml.headers['content-type']).toBe('application/yaml');
    expect(yaml.headers['cache-control']).toBe('private, max-age=31536000, immutable');
    expect(yaml.headers.etag).toBe(`"${entry.digest}"`);
    expect(sha256Digest(yaml.body)).toBe(entry.digest);
    expect(yaml.text()).toContain(`id: ${entry.deploymentId}`);
    expect(yaml.text()).toContain('deviceId: press-1');
    expect(yaml.text()).toContain('value: Hi');
    const gz = await device.getDeploymentYaml(entry.deploymentId, entry.digest, {
      'accept-encoding': 'gzip',
    });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.headers.vary).toBe('Accept-Encoding');
    const bundle = await device.getBundle(m1.bundle!.digest);
    expect(bundle.status).toBe(200);
    expect(bundle.headers['content-type']).toBe('application/vnd.margo.bundle.v1+tar+gzip');
    expect(bundle.entries!.map((e) => e.name)).toEqual([`${entry.deploymentId}.yaml`]);
    expect(bundle.entries![0].body.equals(yaml.body)).toBe(true);
    expect(
      (await device.getBundle(m1.bundle!.digest, { 'if-none-match': `"${m1.bundle!.digest}"` })).status,
    ).toBe(304);

    const targets = await targetsOf(id);
    expect(targets).toEqual([
      expect.objectContaining({
        clientId: 'line-a',
        deviceId: 'press-1',
        deploymentId: entry.deploymentId,
        placement: 'placed',
        digest: entry.digest,
      }),
    ]);
    expect(targets[0].parameters).toEqual(
      expect.arrayContaining([
        { name: 'greeting', value: 'Hi', source: 'deployment' },
        { name: 'sampleRate', value: 10, source: 'package' },
      ]),
    );

    const patch = await wfm.call(`/operator/v1/deployments/${id}`, {
      method: 'PATCH',
      headers: admin(),
      body: JSON.stringify({ parameters: { greeting: 'Servus', siteId: 'DE-001' } }),
    });
    expect(patch.status, patch.text()).toBe(200);
    const m2 = manifestOf(
      await until(
        () => device.getManifest(),
        (r) => manifestOf(r).deployments[0]?.digest !== entry.digest,
      ),
    );
    expect(m2.deployments[0].deploymentId).toBe(entry.deploymentId);
    expect(m2.manifestVersion).toBeGreaterThan(m1.manifestVersion);

    // JSON Merge Patch (RFC 7396): the untouched immutable siteId stays, so no 422 about it
    const merged = await wfm.call(`/operator/v1/deployments/${id}`, {
      method: 'PATCH',
      headers: { ...admin(), 'content-type': 'application/merge-patch+json' },
      body: JSON.stringify({ parameters: { sampleRate: 30 } }),
    });
    expect(merged.status, merged.text()).toBe(200);
    expect(merged.json<{ parameters: Record<string, unknown> }>().parameters).toEqual({
      greeting: 'Servus',
      siteId: 'DE-001',
      sampleRate: 30,
    });
    // null removes the deployment-level value: the package default applies again
    const removed = await wfm.call(`/operator/v1/deployments/${id}`, {
      method: 'PATCH',
      headers: admin(),
      body: JSON.stringify({ parameters: { greeting: null } }),
    });
    expect(removed.status, removed.text()).toBe(200);
    const afterRemoval = removed.json<{
      parameters: Record<string, unknown>;
      effectiveParameters: Target['parameters'];
    }>();
    expect(afterRemoval.parameters).toEqual({ siteId: 'DE-001', sampleRate: 30 });
    expect(afterRemoval.effectiveParameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'greeting', source: 'package' }),
        { name: 'sampleRate', value: 30, source: 'deployment' },
      ]),
    );
    const nullVersion = await wfm.call(`/operator/v1/deployments/${id}`, {
      method: 'PATCH',
      headers: admin(),
      body: JSON.stringify({ version: null }),
    });
    expect(nullVersion.status).toBe(422);

    const immutable = await wfm.call(`/operator/v1/deployments/${id}`, {
      method: 'PATCH',
      headers: admin(),
      body: JSON.stringify({ parameters: { siteId: 'FR-002' } }),
    });
    expect(immutable.status).toBe(422);
    expect(immutable.json<{ errors: { field: string; message: string }[] }>().errors[0]).toMatchObject({
      field: '/parameters/siteId',
      message: expect.stringContaining('immutable'),
    });
    const badValue = await wfm.call(`/operator/v1/deployments/${id}`, {
      method: 'PATCH',
      headers: admin(),
      body: JSON.stringify({ parameters: { sampleRate: 1000 } }),
    });
    expect(badValue.status).toBe(422);

    const override = await wfm.call(`/operator/v1/deployments/${id}/devices/line-a/press-1/parameters`, {
      method: 'PUT',
      headers: admin(),
      body: JSON.stringify({ parameters: { sampleRate: 50 } }),
    });
    expect(override.status, override.text()).toBe(200);
    expect(override.json<Target>().parameters).toEqual(
      expect.arrayContaining([{ name: 'sampleRate', value: 50, source: 'device' }]),
    );
    await until(
      () => device.getManifest(),
      (r) => manifestOf(r).deployments[0]?.digest !== m2.deployments[0].digest,
    );

    const del = await wfm.call(`/operator/v1/deployments/${id}`, { method: 'DELETE', headers: admin() });
    expect(del.status).toBe(202);
    const empty = manifestOf(
      await until(
        () => device.getManifest(),
        (r) => manifestOf(r).deployments.length === 0,
      ),
    );
    expect(empty.bundle).toBeNull();
  });

  it("answers 404 for another client's digest and for malformed digests", async () => {
    const other = await rc3Client(wfm, 'line-b');
    await other.putCapabilities('press-9', capabilities('press-9'));
    await deploy({
      applicationId: 'com-example-line-monitor',
      parameters: { siteId: 'DE-009' },
      target: { clientId: 'line-b', deviceId: 'press-9' },
    });
    const m = manifestOf(
      await until(
        () => other.getManifest(),
        (r) => manifestOf(r).deployments.length === 1,
      ),
    );
    const theirs = m.deployments[0];
    const res = await device.getDeploymentYaml(theirs.deploymentId, theirs.digest);
    expect(res.status).toBe(404);
    expect(res.json()).toMatchObject({
      type: 'https://docs.margo.org/specification/problem-types#deployment-not-found',
    });
    expect((await device.getBundle(m.bundle!.digest)).status).toBe(404);
    expect((await device.call('GET', '/api/v1/bundles/not-a-digest')).json()).toMatchObject({
      type: 'https://docs.margo.org/specification/problem-types#invalid-bundle',
    });
    other.close();
  });

  it("keeps a direct deployment to its one device when another client's device is removed", async () => {
    // regression: direct deployments were stored with a JSON-null selector, so every device's
    // recomputation took them for selector deployments and a removed device of another client
    // became a stray "removed" target of this client's deployment
    const mine = await rc3Client(wfm, 'line-d');
    await mine.putCapabilities('solo-1', capabilities('solo-1'));
    const direct = await deploy({
      applicationId: 'com-example-line-monitor',
      parameters: { siteId: 'DE-010' },
      target: { clientId: 'line-d', deviceId: 'solo-1' },
    });
    const other = await rc3Client(wfm, 'line-c');
    await other.putCapabilities('ghost-1', capabilities('ghost-1', {}, { ghost: 'yes' }));
    // a selector deployment on the other device shows when its recomputations have run
    const probe = await deploy({
      applicationId: 'com-example-line-monitor',
      parameters: { siteId: 'DE-011' },
      target: { selector: { matchLabels: { ghost: 'yes' } } },
    });
    await until(
      () => targetsOf(probe),
      (t) => t.length === 1 && t[0].placement === 'placed',
    );
    expect((await other.deleteCapabilities('ghost-1')).status).toBe(204);
    await until(
      () => targetsOf(probe),
      (t) => t.length === 1 && t[0].placement === 'removed',
    );
    const targets = await targetsOf(direct);
    expect(targets.map((t) => [t.clientId, t.deviceId])).toEqual([['line-d', 'solo-1']]);
    for (const id of [direct, probe]) {
      await wfm.call(`/operator/v1/deployments/${id}`, { method: 'DELETE', headers: admin() });
    }
    other.close();
    mine.close();
  });

  it('marks a device that stops fitting not-placeable with reasons (kept or removed per policy), and places it again when it fits', async () => {
    await device.putCapabilities('small-1', capabilities('small-1', { supportedDeploymentTypes: ['helm'] }));
    const keepId = await deploy({
      applicationId: 'com-example-line-monitor',
      parameters: { siteId: 'DE-010' },
      target: { clientId: 'line-a', deviceId: 'small-1' },
    });
    const removeId = await deploy({
      applicationId: 'com-example-line-monitor',
      parameters: { siteId: 'DE-011' },
      target: { clientId: 'line-a', deviceId: 'small-1' },
      onCapabilityLoss: 'remove',
    });
    await until(
      () => device.getManifest(),
      (r) => manifestOf(r).deployments.length === 2,
    );
    const version = manifestOf(await device.getManifest()).manifestVersion;
    await device.putCapabilities(
      'small-1',
      capabilities('small-1', { memory: '1Gi', supportedDeploymentTypes: ['helm'] }),
    );
    const [keep] = await until(
      () => targetsOf(keepId),
      (t) => t[0]?.placement === 'not-placeable',
    );
    expect(keep.reasons.join('\n')).toMatch(/needs 2Gi memory; device has 1Gi/);
    const m = manifestOf(
      await until(
        () => device.getManifest(),
        (r) => manifestOf(r).deployments.length === 1,
      ),
    );
    expect(m.manifestVersion).toBeGreaterThan(version);
    expect(m.deployments[0].deploymentId).toBe(keep.deploymentId);
    expect((await targetsOf(removeId))[0].placement).toBe('not-placeable');

    await device.putCapabilities(
      'small-1',
      capabilities('small-1', { memory: '16Gi', supportedDeploymentTypes: ['helm'] }),
    );
    await until(
      () => targetsOf(removeId),
      (t) => t[0]?.placement === 'placed',
    );
    await until(
      () => device.getManifest(),
      (r) => manifestOf(r).deployments.length === 2,
    );
    for (const id of [keepId, removeId]) {
      await wfm.call(`/operator/v1/deployments/${id}`, { method: 'DELETE', headers: admin() });
    }
    await until(
      () => device.getManifest(),
      (r) => manifestOf(r).deployments.length === 0,
    );
  });

  it('reaches devices through a selector, now and later; two children of one gateway get two ids and two files', async () => {
    await device.putCapabilities('gw-7', gateway('gw-7'));
    await device.putCapabilities('gw-7/cell-1', capabilities('gw-7/cell-1', {}, { line: 'paint' }));
    const id = await deploy({
      applicationId: 'com-example-line-monitor',
      parameters: { siteId: 'DE-012' },
      target: { selector: { matchLabels: { line: 'paint' } } },
    });
    await until(
      () => targetsOf(id),
      (t) => t.filter((x) => x.placement === 'placed').length === 1,
    );
    await device.putCapabilities('gw-7/cell-2', capabilities('gw-7/cell-2', {}, { line: 'paint' }));
    const targets = await until(
      () => targetsOf(id),
      (t) => t.filter((x) => x.placement === 'placed').length === 2,
    );
    const m = manifestOf(
      await until(
        () => device.getManifest(),
        (r) => manifestOf(r).deployments.length === 2,
      ),
    );
    expect(new Set(m.deployments.map((d) => d.deploymentId))).toEqual(
      new Set(targets.map((t) => t.deploymentId)),
    );
    const bundle = await device.getBundle(m.bundle!.digest);
    expect(bundle.entries!.map((e) => e.name).sort()).toEqual(
      m.deployments.map((d) => `${d.deploymentId}.yaml`).sort(),
    );
    const yamls = await Promise.all(
      m.deployments.map((d) => device.getDeploymentYaml(d.deploymentId, d.digest)),
    );
    expect(yamls.map((y) => /deviceId: (\S+)/.exec(y.text())![1]).sort()).toEqual([
      'gw-7/cell-1',
      'gw-7/cell-2',
    ]);

    // a recomputation with no effect keeps version and ETag
    const stable = await device.getManifest();
    await device.putCapabilities(
      'gw-7/cell-1',
      capabilities('gw-7/cell-1', { serialNumber: 'changed' }, { line: 'paint' }),
    );
    await new Promise((r) => setTimeout(r, 1_500));
    const after = await device.getManifest();
    expect(after.headers.etag).toBe(stable.headers.etag);

    // deleting a device drops its deployment from the next manifest
    expect((await device.deleteCapabilities('gw-7/cell-2')).status).toBe(204);
    const m2 = manifestOf(
      await until(
        () => device.getManifest(),
        (r) => manifestOf(r).deployments.length === 1,
      ),
    );
    expect(m2.manifestVersion).toBeGreaterThan(manifestOf(after).manifestVersion);
    await wfm.call(`/operator/v1/deployments/${id}`, { method: 'DELETE', headers: admin() });
    await until(
      () => device.getManifest(),
      (r) => manifestOf(r).deployments.length === 0,
    );
  });

  it('lists deployments with target counts and pages through the targets of one', async () => {
    const paged = await rc3Client(wfm, 'line-paged');
    try {
      for (let i = 1; i <= 5; i += 1) {
        expect(
          (await paged.putCapabilities(`p-${i}`, capabilities(`p-${i}`, {}, { batch: 'paged' }))).status,
        ).toBe(201);
      }
      // 1 core, 512Mi: the package's compose profile (1 core, 1Gi) does not fit
      await paged.putCapabilities(
        'p-small',
        capabilities('p-small', { memory: '512Mi' }, { batch: 'paged' }),
      );
      const id = await deploy({
        applicationId: 'com-example-line-monitor',
        parameters: { siteId: 'DE-099' },
        target: { selector: { matchLabels: { batch: 'paged' } } },
      });
      const all = await until(
        () => targetsOf(id),
        (t) => t.length === 6 && t.every((x) => x.placement !== 'pending-recompute'),
      );

      const list = await wfm.call('/operator/v1/deployments?applicationId=com-example-line-monitor', {
        headers: admin(),
      });
      expect(list.status).toBe(200);
      const listed = list.json<{ items: Record<string, unknown>[] }>().items.find((d) => d.id === id)!;
      expect(listed.targetCounts).toEqual({ placed: 5, 'not-placeable': 1 });
      expect(listed).not.toHaveProperty('targets');

      type Page = { items: Target[]; next: string | null };
      const seen: Target[] = [];
      let next: string | null = null;
      let pages = 0;
      do {
        const query: string = next ? `limit=2&after=${next}` : 'limit=2';
        const res = await wfm.call(`/operator/v1/deployments/${id}/targets?${query}`, { headers: admin() });
        expect(res.status, res.text()).toBe(200);
        const page = res.json<Page>();
        expect(page.items.length).toBeLessThanOrEqual(2);
        seen.push(...page.items);
        next = page.next;
        pages += 1;
      } while (next && pages < 10);
      expect(pages).toBe(3);
      expect(seen.map((t) => t.deploymentId)).toEqual(all.map((t) => t.deploymentId));

      const small = await wfm.call(`/operator/v1/deployments/${id}/targets?placement=not-placeable`, {
        headers: admin(),
      });
      expect(small.json<Page>().items.map((t) => t.deviceId)).toEqual(['p-small']);
      expect(small.json<Page>().items[0].reasons.join(' ')).toMatch(/memory/i);

      const badCursor = await wfm.call(`/operator/v1/deployments/${id}/targets?after=nonsense`, {
        headers: admin(),
      });
      expect(badCursor.status).toBe(422);
      expect(badCursor.headers['content-type']).toContain('application/problem+json');
      expect(badCursor.text()).toContain('/after');
      expect(
        (await wfm.call(`/operator/v1/deployments/${id}/targets?limit=0`, { headers: admin() })).status,
      ).toBe(422);
      expect(
        (
          await wfm.call('/operator/v1/deployments/00000000-0000-4000-8000-000000000000/targets', {
            headers: admin(),
          })
        ).status,
      ).toBe(404);
      await wfm.call(`/operator/v1/deployments/${id}`, { method: 'DELETE', headers: admin() });
    } finally {
      paged.close();
    }
  });

  it('serves the legacy profile its own manifest, URLs and legacy fields', async () => {
    const { client } = await LegacyClient.onboard(wfm.url, await issueDeviceCertificate('legacy-line'), {
      ca: wfm.serverCa,
    });
    const legacy = client!;
    await legacy.putCapabilities('plc-1', capabilities('plc-1'));
    const empty = await legacy.getManifest({ accept: MANIFEST_TYPE });
    expect(manifestOf(empty)).toEqual({ manifestVersion: 1, bundle: null, deployments: [] });
    await deploy({
      applicationId: 'com-example-line-monitor',
      parameters: { siteId: 'DE-013' },
      target: { clientId: legacy.clientId, deviceId: 'plc-1' },
    });
    const m = manifestOf(
      await until(
        () => legacy.getManifest(),
        (r) => manifestOf(r).deployments.length === 1,
      ),
    );
    const entry = m.deployments[0];
    expect(entry.url).toBe(
      `/api/v1/clients/${legacy.clientId}/deployments/${entry.deploymentId}/${entry.digest}`,
    );
    expect(m.bundle!.url).toBe(`/api/v1/clients/${legacy.clientId}/bundles/${m.bundle!.digest}`);
    const yaml = await legacy.getDeploymentYaml(entry.deploymentId, entry.digest);
    expect(yaml.text()).toMatch(
      /^apiVersion: application.margo.org\/v1alpha1\nkind: ApplicationDeployment\n/,
    );
    expect(yaml.text()).toContain(`annotations:\n    id: ${entry.deploymentId}`);
    legacy.close();
  });
});
