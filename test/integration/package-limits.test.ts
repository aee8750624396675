import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Rc3Client } from '../../src/client/margo-client.js';
import { bearer, rc3Client } from '../support/identities.js';
import { type TestService, startTestService } from '../support/service.js';

/**
 * Security finding 3 (issue #13): a description with tens of thousands of keys kept the event loop busy
 * for 24 s (the YAML library's duplicate-key check is quadratic) and every route, device polls included,
 * stalled. Descriptions are now bounded in bytes and nodes before any validation, and keys are checked in
 * linear time.
 */
describe('application description limits', () => {
  let wfm: TestService;
  let device: Rc3Client;

  beforeAll(async () => {
    wfm = await startTestService({ WFM_ONBOARDING_MODE: 'auto' });
    device = await rc3Client(wfm, 'limits-a');
  });
  afterAll(async () => {
    device?.close();
    await wfm?.stop();
  });

  const head = 'apiVersion: margo.org/v1-alpha1\nkind: ApplicationDescription\nid: big\n';
  /** `count` top-level keys (the finding's shape: 30,000 keys in 457 kB). */
  const manyKeys = (count: number) => {
    let text = head;
    for (let i = 0; i < count; i++) text += `key-${i}: ${i}\n`;
    return text;
  };
  /** `count` parameters, each one small flow map. */
  const manyParameters = (count: number) => {
    let text = `${head}parameters:\n`;
    for (let i = 0; i < count; i++) text += `  p${i}: {value: ${i}}\n`;
    return text;
  };

  /** Uploads `body` and, while that is in flight, polls as the device; both timed. */
  async function uploadWhilePolling(body: string) {
    const started = Date.now();
    const upload = wfm
      .call('/operator/v1/applications', {
        method: 'POST',
        headers: { ...bearer(wfm.adminToken), 'content-type': 'application/yaml' },
        body,
      })
      .then((res) => ({ res, ms: Date.now() - started }));
    await new Promise((r) => setTimeout(r, 150));
    const pollStarted = Date.now();
    const poll = await device.getManifest();
    const pollMs = Date.now() - pollStarted;
    const { res, ms } = await upload;
    return { res, ms, poll, pollMs };
  }

  it.each([
    ['30,000 keys in 457 kB (the finding)', manyKeys(30_000), 413],
    ['8,000 keys in 118 kB (under the size limit, over the node limit)', manyKeys(8_000), 400],
    ['4,000 parameters in 90 kB (over the node limit)', manyParameters(4_000), 400],
    [
      'flow collections nested 100,000 deep (over the depth limit)',
      `${head}x: ${'['.repeat(100_000)}\n`,
      400,
    ],
  ])('answers %s with a prompt 4xx while device polls stay fast', async (_name, body, status) => {
    const { res, ms, poll, pollMs } = await uploadWhilePolling(body);
    expect(res.status, res.text().slice(0, 300)).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(ms).toBeLessThan(3_000);
    expect(poll.status).toBe(200);
    expect(pollMs).toBeLessThan(1_500);
  });

  it('still names the repeated key of a YAML map', async () => {
    const res = await wfm.call('/operator/v1/applications', {
      method: 'POST',
      headers: { ...bearer(wfm.adminToken), 'content-type': 'application/yaml' },
      body: `${head}metadata:\n  name: a\n  name: b\n`,
    });
    expect(res.status).toBe(400);
    expect(res.json()).toMatchObject({ errors: [{ field: '/metadata/name', message: 'duplicate key' }] });
  });
});
