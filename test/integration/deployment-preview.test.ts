import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Rc3Client } from '../../src/client/margo-client.js';
import { capabilities } from '../support/capabilities.js';
import { bearer, rc3Client } from '../support/identities.js';
import { linePackage } from '../support/packages.js';
import { type TestService, startTestService } from '../support/service.js';

interface Preview {
  matched: number;
  placeable: number;
  notPlaceable: number;
  reasons: { reason: string; count: number }[];
  sample: { clientId: string; deviceId: string; placeable: boolean; reason: string }[];
  candidates: number;
  decided: number;
  sampled: boolean;
}

/** POST /operator/v1/deployments/preview: the console's live preview of a selector deployment. */
describe('deployment preview', () => {
  let wfm: TestService;
  let device: Rc3Client;
  let viewer: string;
  const json = (token: string) => ({ ...bearer(token), 'content-type': 'application/json' });
  const preview = (body: unknown, token = wfm.adminToken) =>
    wfm.call('/operator/v1/deployments/preview', {
      method: 'POST',
      headers: json(token),
      body: JSON.stringify(body),
    });
  const selector = (matchLabels: Record<string, string>, extra: Record<string, unknown> = {}) => ({
    applicationId: 'com-example-line-monitor',
    version: '1.0.0',
    target: { selector: { matchLabels } },
    ...extra,
  });

  beforeAll(async () => {
    wfm = await startTestService({ WFM_ONBOARDING_MODE: 'auto' });
    device = await rc3Client(wfm, 'preview-line');
    const published = await wfm.call('/operator/v1/applications', {
      method: 'POST',
      headers: { ...bearer(wfm.adminToken), 'content-type': 'application/yaml' },
      body: linePackage(),
    });
    expect(published.status, published.text()).toBe(201);
    const report = async (id: string, overrides: Record<string, unknown>, labels: Record<string, string>) => {
      const res = await device.putCapabilities(id, capabilities(id, overrides, labels));
      expect([200, 201], res.text()).toContain(res.status);
    };
    await report('big-1', {}, { line: 'paint' });
    await report('big-2', {}, { line: 'paint' });
    await report('tiny', { cpus: [{ cores: 1, architecture: 'arm64' }], memory: '256Mi' }, { line: 'paint' });
    await report('elsewhere', {}, { line: 'weld' });
    const token = await wfm.call('/operator/v1/tokens', {
      method: 'POST',
      headers: json(wfm.adminToken),
      body: JSON.stringify({ name: 'preview-viewer', role: 'viewer' }),
    });
    expect(token.status, token.text()).toBe(201);
    viewer = token.json<{ token: string }>().token;
  });
  afterAll(async () => {
    device?.close();
    await wfm?.stop();
  });

  it('counts matched, placeable and not placeable devices with their reasons, and writes nothing', async () => {
    const res = await preview(selector({ line: 'paint' }));
    expect(res.status, res.text()).toBe(200);
    const p = res.json<Preview>();
    expect(p).toMatchObject({
      matched: 3,
      placeable: 2,
      notPlaceable: 1,
      candidates: 3,
      decided: 3,
      sampled: false,
    });
    expect(p.reasons.length).toBeGreaterThan(0);
    expect(p.reasons[0].count).toBe(1);
    expect(p.sample[0]).toMatchObject({ clientId: 'preview-line', deviceId: 'tiny', placeable: false });
    expect(
      p.sample
        .filter((s) => s.placeable)
        .map((s) => s.deviceId)
        .sort(),
    ).toEqual(['big-1', 'big-2']);
    // a dry run: no deployment and no target exist afterwards
    const list = await wfm.call('/operator/v1/deployments', { headers: bearer(wfm.adminToken) });
    expect(list.json<{ items: unknown[] }>().items).toEqual([]);

    const all = (await preview(selector({}))).json<Preview>();
    expect(all).toMatchObject({ matched: 4, placeable: 3, candidates: 4 });
    const none = (await preview(selector({ line: 'nowhere' }))).json<Preview>();
    expect(none).toMatchObject({ matched: 0, placeable: 0, notPlaceable: 0, reasons: [], sample: [] });
  });

  it('decides with the chosen profile and for a single device', async () => {
    const helm = (
      await preview(selector({ line: 'paint' }, { profileId: 'line-monitor-helm' }))
    ).json<Preview>();
    // the helm profile needs the helm deployment type: no test device supports it
    expect(helm).toMatchObject({ matched: 3, placeable: 0, notPlaceable: 3 });
    const one = await preview({
      applicationId: 'com-example-line-monitor',
      target: { clientId: 'preview-line', deviceId: 'big-1' },
    });
    expect(one.status, one.text()).toBe(200);
    expect(one.json<Preview>()).toMatchObject({ matched: 1, placeable: 1, candidates: 1 });
  });

  it('covers only the devices inside the scope of a scoped token', async () => {
    const token = await wfm.call('/operator/v1/tokens', {
      method: 'POST',
      headers: json(wfm.adminToken),
      body: JSON.stringify({ name: 'preview-weld', role: 'viewer', scope: { line: 'weld' } }),
    });
    expect(token.status, token.text()).toBe(201);
    const scoped = token.json<{ token: string }>().token;
    const all = await preview(selector({}), scoped);
    expect(all.status, all.text()).toBe(200);
    expect(all.json<Preview>()).toMatchObject({
      matched: 1,
      candidates: 1,
      sample: [{ deviceId: 'elsewhere' }],
    });
    const outside = await preview(selector({ line: 'paint' }), scoped);
    expect(outside.status).toBe(422);
    expect(outside.json()).toMatchObject({
      errors: [expect.objectContaining({ field: '/target/selector/matchLabels/line' })],
    });
    const device = await preview(
      { applicationId: 'com-example-line-monitor', target: { clientId: 'preview-line', deviceId: 'big-1' } },
      scoped,
    );
    expect(device.status).toBe(422);
  });

  it('is open to viewers (create is not) and validates like create: 422 at the field, 404 for an unknown package', async () => {
    expect((await preview(selector({ line: 'paint' }), viewer)).status).toBe(200);
    const create = await wfm.call('/operator/v1/deployments', {
      method: 'POST',
      headers: json(viewer),
      body: JSON.stringify(selector({ line: 'paint' })),
    });
    expect(create.status).toBe(403);
    const badProfile = await preview(selector({ line: 'paint' }, { profileId: 'nope' }));
    expect(badProfile.status).toBe(422);
    expect(badProfile.json()).toMatchObject({ errors: [expect.objectContaining({ field: '/profileId' })] });
    const badParameter = await preview(selector({ line: 'paint' }, { parameters: { unknownParameter: 1 } }));
    expect(badParameter.status).toBe(422);
    expect(badParameter.json<{ errors: { field: string }[] }>().errors[0].field).toMatch(/^\/parameters/);
    const unknown = await preview({ ...selector({}), applicationId: 'com-example-nothing' });
    expect(unknown.status).toBe(404);
    const noTarget = await preview({ applicationId: 'com-example-line-monitor', target: {} });
    expect(noTarget.status).toBe(422);
    const missing = await preview({ applicationId: 'com-example-line-monitor' });
    expect(missing.status).toBe(422);
    expect(missing.json()).toMatchObject({
      errors: expect.arrayContaining([expect.objectContaining({ field: '/target' })]),
    });
    expect(
      (
        await wfm.call('/operator/v1/deployments/preview', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{}',
        })
      ).status,
    ).toBe(401);
  });
});
