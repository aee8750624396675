import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signRequest } from '../../src/client/http-signature-signer.js';
import { issueDeviceCertificate } from '../../src/client/identities.js';
import { LegacyClient, type Rc3Client } from '../../src/client/margo-client.js';
import { capabilities } from '../support/capabilities.js';
import { featuresOf } from '../support/fuzz/features.js';
import { type OpenApiDocument, type Operation, operationsOf } from '../support/fuzz/operations.js';
import { type FuzzRequest, type KnownValues, requestFor } from '../support/fuzz/requests.js';
import { bearer, rc3Client } from '../support/identities.js';
import { linePackage } from '../support/packages.js';
import { startTestService, type TestService } from '../support/service.js';

/**
 * Property-based fuzzing of every operation in the committed OpenAPI document (issue #13): requests
 * generated from the document's paths, parameters and body schemas, with odd strings, huge numbers,
 * deep nesting, missing and extra fields, wrong types and media types, with and without credentials.
 * Every answer must be below 500, every error an RFC 9457 problem, and the service responsive after.
 *
 * Fixed seed by default; run longer with e.g.
 *   WFM_FUZZ_RUNS=2000 WFM_FUZZ_SEED=42 npm test -- test/integration/fuzz.test.ts
 * (WFM_FUZZ_ONLY=<operationId> restricts it to one operation). A failure prints the seed, the shrunk
 * request and the answer; rerun with that seed to reproduce it.
 */

const RUNS = Number(process.env.WFM_FUZZ_RUNS ?? 30);
const SEED = Number(process.env.WFM_FUZZ_SEED ?? 13_013);
const ONLY = process.env.WFM_FUZZ_ONLY;

const doc = JSON.parse(
  readFileSync(new URL('../../openapi/openapi.json', import.meta.url), 'utf8'),
) as OpenApiDocument;
const operations = operationsOf(doc).filter((op) => ONLY === undefined || op.id === ONLY);

/** A per-operation seed, so that a new operation does not change the requests of the others. */
function seedOf(op: Operation): number {
  let h = SEED | 0;
  for (const c of op.id) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return h | 0;
}

interface Answer {
  status: number;
  contentType: string;
  body: string;
  ms: number;
}

describe('fuzzing every OpenAPI operation', () => {
  let wfm: TestService;
  let device: Rc3Client;
  let stranger: Rc3Client;
  let legacy: LegacyClient;
  let legacyKey: KeyObject;
  let strangerKey: KeyObject;
  let anonymous: https.Agent;
  const known: KnownValues = {};
  let requests = 0;
  // the service runs in this process: a request that blocks its event loop shows up here
  const loop = monitorEventLoopDelay({ resolution: 20 });
  /** operationId → status → count; printed with WFM_FUZZ_STATS=1 (to see how deep the requests get). */
  const statuses = new Map<string, Map<number, number>>();

  beforeAll(async () => {
    wfm = await startTestService({ WFM_ONBOARDING_MODE: 'auto', WFM_RATE_LIMIT_PER_MINUTE: '0' });
    anonymous = new https.Agent({ keepAlive: true, ca: wfm.serverCa });
    device = await rc3Client(wfm, 'fuzz-device');
    stranger = await rc3Client(wfm, 'fuzz-unaccepted', false);
    const identity = await issueDeviceCertificate('fuzz-legacy');
    const onboarded = await LegacyClient.onboard(wfm.url, identity, { ca: wfm.serverCa });
    expect(onboarded.response.status, onboarded.response.text()).toBe(201);
    legacy = onboarded.client!;
    legacyKey = createPrivateKey(identity.keyPem);
    strangerKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;

    expect((await device.putCapabilities('press-1', capabilities('press-1'))).status).toBe(201);
    expect((await legacy.putCapabilities('plc-1', capabilities('plc-1'))).status).toBe(201);
    const admin = { ...bearer(wfm.adminToken), 'content-type': 'application/yaml' };
    const pkg = await wfm.call('/operator/v1/applications', {
      method: 'POST',
      headers: admin,
      body: linePackage(),
    });
    expect(pkg.status, pkg.text()).toBe(201);
    const dep = await wfm.call('/operator/v1/deployments', {
      method: 'POST',
      headers: { ...admin, 'content-type': 'application/json' },
      body: JSON.stringify({
        applicationId: 'com-example-line-monitor',
        parameters: { siteId: 'DE-001' },
        target: { clientId: 'fuzz-device', deviceId: 'press-1' },
      }),
    });
    expect(dep.status, dep.text()).toBe(201);
    const deploymentId = dep.json<{ id: string }>().id;
    loop.enable();
    Object.assign(known, {
      clientId: ['fuzz-device', legacy.clientId],
      deviceId: ['press-1', 'plc-1'],
      deploymentId: [deploymentId],
      id: [deploymentId],
      applicationId: ['com-example-line-monitor'],
      version: ['1.0.0'],
    });
  });

  afterAll(async () => {
    if (process.env.WFM_FUZZ_STATS !== undefined) {
      console.warn(`fuzz: ${requests} requests; longest event-loop stall ${(loop.max / 1e6).toFixed(0)} ms`);
      for (const [id, counts] of statuses) {
        console.warn(`${id}: ${[...counts].map(([status, n]) => `${status}×${n}`).join(' ')}`);
      }
    }
    anonymous?.destroy();
    device?.close();
    stranger?.close();
    legacy?.close();
    await wfm?.stop();
  });

  /** Sends one generated request with the credentials its auth mode calls for. */
  function send(op: Operation, req: FuzzRequest): Promise<Answer> {
    let path = req.path;
    // legacy routes: the profile's clientId in the path, unless the generator chose an odd one
    if (op.auth === 'httpSignature' && req.auth !== 'none' && !known.clientId.includes(req.params.clientId)) {
      path = path.replace(/^\/api\/v1\/clients\/[^/]*/, `/api/v1/clients/${legacy.clientId}`);
    }
    const url = new URL(`${wfm.url}${path}${req.query}`);
    const headers: Record<string, string> = { ...req.headers };
    const body = req.body === undefined ? undefined : Buffer.from(req.body);
    if (body !== undefined) headers['content-length'] = String(body.length);
    let agent: https.Agent = anonymous;
    if (op.auth === 'mTLS' && req.auth !== 'none') {
      agent = req.auth === 'valid' ? device.agent : stranger.agent;
    }
    if (op.auth === 'operator-token' && req.auth !== 'none') {
      headers.authorization =
        req.auth === 'valid' ? `Bearer ${wfm.adminToken}` : 'Bearer wfm_not-a-real-token-0000';
    }
    if (op.auth === 'httpSignature' && req.auth !== 'none') {
      agent = legacy.agent;
      Object.assign(
        headers,
        signRequest({
          method: req.method,
          url: url.toString(),
          headers,
          body,
          privateKey: req.auth === 'valid' ? legacyKey : strangerKey,
        }),
      );
    }
    const started = performance.now();
    return new Promise<Answer>((resolve, reject) => {
      const r = https.request(url, { method: req.method, headers, agent, timeout: 15_000 });
      r.on('timeout', () => r.destroy(new Error('no answer within 15 s')));
      r.on('error', reject);
      r.on('response', (res) => {
        const contentType = String(res.headers['content-type'] ?? '');
        const done = (text: string) =>
          resolve({ status: res.statusCode ?? 0, contentType, body: text, ms: performance.now() - started });
        if (contentType.startsWith('text/event-stream')) {
          // an open event stream: the status and media type are the answer
          res.destroy();
          done('');
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => done(Buffer.concat(chunks).toString('utf8')));
      });
      r.end(body);
    });
  }

  function describeRequest(req: FuzzRequest): string {
    const body = req.body === undefined ? '' : Buffer.from(req.body).toString('utf8');
    return `${req.method} ${req.path}${req.query} (auth ${req.auth}) ${JSON.stringify(req.headers)} ${
      body.length > 300 ? `${body.slice(0, 300)}… (${body.length} bytes)` : body
    }`;
  }

  it('answers a request line over the header size limit with a 431 problem (found by this suite)', async () => {
    const res = await wfm.call(`/api/v1/deployments?x=${'a'.repeat(20_000)}`);
    expect(res.status).toBe(431);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ status: 431, title: 'Request Header Fields Too Large' });
  });

  it('refuses a preauthorization whose fingerprint is not a string, also beside a certificate (found by this suite)', async () => {
    const res = await wfm.call('/operator/v1/preauthorized-certificates', {
      method: 'POST',
      headers: { ...bearer(wfm.adminToken), 'content-type': 'application/json' },
      body: JSON.stringify({ certificate: 'jr0-2oy', fingerprint: true }),
    });
    expect(res.status, res.text()).toBeGreaterThanOrEqual(400);
    expect(res.status, res.text()).toBeLessThan(500);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(JSON.stringify(res.json())).toContain('/fingerprint');
  });

  it('refuses a target with both a device and a selector, where neither was validated (found by this suite)', async () => {
    const post = (target: unknown) =>
      wfm.call('/operator/v1/deployments', {
        method: 'POST',
        headers: { ...bearer(wfm.adminToken), 'content-type': 'application/json' },
        body: JSON.stringify({ applicationId: 'com-example-line-monitor', target }),
      });
    for (const target of [
      { clientId: {}, selector: { propertySelector: { matchExpressions: [0] } } },
      { clientId: 'fuzz-device', deviceId: 'press-1', selector: { matchLabels: { a: 'b' } } },
    ]) {
      const res = await post(target);
      expect(res.status, res.text()).toBeGreaterThanOrEqual(400);
      expect(res.status, res.text()).toBeLessThan(500);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(JSON.stringify(res.json())).toContain('/target');
    }
  });

  for (const op of operations) {
    it(`${op.method} ${op.template} (${op.id}): no 5xx, every error a problem`, async () => {
      await fc.assert(
        fc.asyncProperty(requestFor(op, known), async (req) => {
          requests += 1;
          const maxBefore = loop.max;
          const answer = await send(op, req);
          if (process.env.WFM_FUZZ_STATS !== undefined && loop.max > maxBefore && loop.max / 1e6 > 100) {
            console.warn(
              `stall ${(loop.max / 1e6).toFixed(0)} ms (${answer.ms.toFixed(0)} ms): ${describeRequest(req).slice(0, 300)}`,
            );
          }
          const counts = statuses.get(op.id) ?? new Map<number, number>();
          counts.set(answer.status, (counts.get(answer.status) ?? 0) + 1);
          statuses.set(op.id, counts);
          if (process.env.WFM_FUZZ_STATS === '2' && answer.status === 422) {
            console.warn(
              `${op.id} 422: ${describeRequest(req).slice(0, 400)} → ${answer.body.slice(0, 400)}`,
            );
          }
          const where = `${describeRequest(req)}\n→ ${answer.status} ${answer.contentType} ${answer.body.slice(0, 500)}`;
          if (answer.status >= 500) throw new Error(`5xx (${JSON.stringify(featuresOf(req))}): ${where}`);
          if (answer.status >= 400) {
            expect(answer.contentType, where).toMatch(/^application\/problem\+json/);
            const problem = JSON.parse(answer.body) as Record<string, unknown>;
            expect(typeof problem.type, where).toBe('string');
            expect(typeof problem.title, where).toBe('string');
            expect(problem.status, where).toBe(answer.status);
            expect(typeof problem.detail, where).toBe('string');
          }
        }),
        { numRuns: RUNS, seed: seedOf(op), endOnFailure: process.env.WFM_FUZZ_SHRINK !== '1' },
      );
    });
  }

  it('leaves the service responsive: health ready, a normal request answers quickly, no stalled event loop', async () => {
    loop.disable();
    // the longest the event loop was blocked while fuzzing (generous: two cores shared with other runs)
    const maxStallMs = loop.max / 1e6;
    expect(maxStallMs, `event loop blocked for ${maxStallMs.toFixed(0)} ms`).toBeLessThan(2_000);
    const lag = await new Promise<number>((resolve) => {
      const t = performance.now();
      setImmediate(() => resolve(performance.now() - t));
    });
    expect(lag).toBeLessThan(200);
    const t0 = performance.now();
    const ready = await wfm.call('/health/ready');
    expect(ready.status, ready.text()).toBe(200);
    // a fresh device: the fuzzing may have retired or rejected the ones above
    const fresh = await rc3Client(wfm, 'fuzz-after');
    const report = await fresh.putCapabilities('press-2', capabilities('press-2'));
    expect(report.status, report.text()).toBe(201);
    const manifest = await fresh.getManifest();
    expect(manifest.status, manifest.text()).toBe(200);
    fresh.close();
    const listed = await wfm.call('/operator/v1/deployments', { headers: bearer(wfm.adminToken) });
    expect(listed.status).toBe(200);
    expect(performance.now() - t0).toBeLessThan(5_000);
  });
});
