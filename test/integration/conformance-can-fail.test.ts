import { createHash, randomUUID, X509Certificate, type KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyRequestSignature } from '../../src/common/http-signatures/verify.js';
import { type ConformanceReport, runConformance, type StepResult } from '../../src/conformance/index.js';
import { createCa, issueCertificate } from '../../src/infra/tls/pki.js';

const DIAMOND = resolve(import.meta.dirname, '../../reference/margo/ctt/diamond-subset.json');
const PROBLEMS = 'https://docs.margo.org/specification/problem-types';
const sha256 = (bytes: Buffer | string) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

type Reply = { status: number; headers?: Record<string, string>; body?: Buffer | string };

const json = (status: number, doc: unknown, headers: Record<string, string> = {}): Reply => ({
  status,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(doc),
});
const problem = (status: number, detail: string, extra: Record<string, unknown> = {}): Reply => ({
  status,
  headers: { 'content-type': 'application/problem+json' },
  body: JSON.stringify({ type: 'about:blank', title: 'Problem', status, detail, ...extra }),
});

/** Content one "right" client is served: one deployment YAML and a bundle, with a manifest naming them. */
const YAML = Buffer.from('apiVersion: application.margo.org/v1alpha1\nkind: ApplicationDeployment\n');
const BUNDLE = Buffer.from('a bundle, as far as this test is concerned');
const MANIFEST = Buffer.from(
  JSON.stringify({
    manifestVersion: 1,
    bundle: { mediaType: 'application/vnd.margo.bundle.v1+tar+gzip', digest: sha256(BUNDLE), sizeBytes: 42 },
    deployments: [{ deploymentId: 'dep-1', digest: sha256(YAML), sizeBytes: YAML.length }],
  }),
);

/**
 * A fake WFM on loopback with three personalities, chosen by the base URL's prefix:
 * - none: answers wrongly on purpose (no duplicate or apiVersion checks at onboarding, 200 to
 *   unsigned, tampered and unknown-signer requests, a manifest whose ETag is not the sha256 of its
 *   body, 4xx that are not problem+json; capabilities answer the service's "not built yet" 404);
 * - `/noid`: the same, but onboarding answers without a clientId;
 * - `/good`: answers as the specification and the project's decisions say (so the runner's checks
 *   are shown not to fail a right answer).
 * It records whether each onboarding request's signature verifies with the uploaded key (§5).
 */
class FakeWfm {
  caPem = '';
  url = '';
  readonly onboardingSignatures: { path: string; ok: boolean; covered: string }[] = [];
  private server?: https.Server;
  private readonly keys = new Map<string, KeyObject>();
  private readonly onboarded = new Set<string>();
  slowCalls = 0;

  async start(): Promise<void> {
    const ca = await createCa({ commonName: 'fake WFM CA' });
    const cert = await issueCertificate({
      issuer: ca,
      commonName: 'fake WFM',
      ips: ['127.0.0.1'],
      serverAuth: true,
    });
    this.caPem = ca.certPem;
    const server = https.createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => send(res, this.answer(req, Buffer.concat(chunks))));
    });
    this.server = server;
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    this.url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    const server = this.server;
    if (!server) return Promise.resolve();
    return new Promise((done) => {
      server.close(() => done());
      server.closeAllConnections();
    });
  }

  private answer(req: IncomingMessage, body: Buffer): Reply {
    const mode = /^\/(noid|good)\//.exec(req.url ?? '')?.[1] ?? 'wrong';
    const path = (req.url ?? '/').replace(/^\/(noid|good)/, '').split('?')[0];
    if (req.method === 'GET' && path === '/api/v1/onboarding/certificate') {
      return json(200, { certificate: Buffer.from(this.caPem).toString('base64') });
    }
    if (req.method === 'POST' && path === '/api/v1/onboarding') return this.onboard(req, body, mode);
    if (path === '/api/v1/slowly') {
      this.slowCalls += 1;
      return this.slowCalls >= 3 ? json(200, { ready: true }) : problem(503, 'Not ready yet');
    }
    return mode === 'good' ? this.right(req, path, body) : this.wrong(req, path);
  }

  private onboard(req: IncomingMessage, body: Buffer, mode: string): Reply {
    const doc = JSON.parse(body.toString('utf8')) as { apiVersion?: string; certificate: string };
    const cert = new X509Certificate(Buffer.from(doc.certificate, 'base64').toString('utf8'));
    const verified = this.verify(req, body, cert.publicKey);
    this.onboardingSignatures.push({
      path: req.url ?? '',
      ok: verified,
      covered: String(req.headers['signature-input'] ?? ''),
    });
    if (mode === 'noid') return json(201, { status: 'onboarded' });
    if (mode === 'wrong') return json(201, { clientId: randomUUID() });
    if (doc.apiVersion !== 'onboarding.margo.org/v1alpha1') {
      return problem(400, 'apiVersion must be onboarding.margo.org/v1alpha1', {
        type: `${PROBLEMS}#invalid-request`,
      });
    }
    if (this.onboarded.has(cert.fingerprint256)) {
      return problem(409, `The certificate ${cert.fingerprint256} is already onboarded`);
    }
    this.onboarded.add(cert.fingerprint256);
    const clientId = randomUUID();
    this.keys.set(clientId, cert.publicKey);
    return json(201, { clientId });
  }

  private verify(req: IncomingMessage, body: Buffer, key: KeyObject): boolean {
    return verifyRequestSignature({
      method: req.method ?? 'GET',
      targetUri: `${this.url}${req.url}`,
      headers: req.headers,
      body,
      publicKey: key,
      expectedKeyId: createHash('sha256')
        .update(key.export({ type: 'spki', format: 'der' }))
        .digest('hex'),
      nowSeconds: Math.floor(Date.now() / 1000),
      maxSkewSeconds: 300,
      requiredComponents: [['@method', '@target-uri', '@authority']],
      requireContentDigestWhenBody: true,
    }).ok;
  }

  private wrong(req: IncomingMessage, path: string): Reply {
    if (/^\/api\/v1\/clients\/[^/]+\/capabilities$/.test(path)) {
      return problem(404, 'No such route in the Margo device API (legacy profile)');
    }
    if (req.method === 'GET' && /^\/api\/v1\/clients\/[^/]+\/deployments$/.test(path)) {
      const etag = `"sha256:${'0'.repeat(64)}"`;
      return json(
        200,
        { manifestVersion: 1, bundle: null, deployments: [] },
        { etag, 'cache-control': 'private' },
      );
    }
    const bundle = /^\/api\/v1\/clients\/[^/]+\/bundles\/(sha256:[0-9a-f]{64})$/.exec(path);
    if (req.method === 'GET' && bundle) {
      return {
        status: 200,
        headers: { 'content-type': 'application/vnd.margo.bundle.v1+tar+gzip' },
        body: 'x',
      };
    }
    if (req.method === 'POST' && path.endsWith('/status')) return json(200, {});
    return { status: 404, headers: { 'content-type': 'text/plain' }, body: 'not found' };
  }

  private right(req: IncomingMessage, path: string, body: Buffer): Reply {
    const match = /^\/api\/v1\/clients\/([^/]+)\/(.+)$/.exec(path);
    const key = match ? this.keys.get(match[1]) : undefined;
    if (!match || !key) return problem(404, 'No such client');
    if (!this.verify(req, body, key)) return problem(401, 'Request signature verification failed');
    const [, , rest] = match;
    const ifNoneMatch = req.headers['if-none-match'];
    const immutable = (bytes: Buffer, type: string, extra: Record<string, string> = {}): Reply => {
      const etag = `"${sha256(bytes)}"`;
      const headers = { etag, 'cache-control': 'private, max-age=31536000, immutable', ...extra };
      return ifNoneMatch === etag
        ? { status: 304, headers }
        : { status: 200, headers: { 'content-type': type, ...headers }, body: bytes };
    };

    if (rest === 'capabilities') return { status: 201 };
    if (req.method === 'GET' && rest === 'deployments') {
      const accept = req.headers.accept;
      if (accept !== undefined && !accept.includes('application/vnd.margo.manifest.v1+json')) {
        return problem(406, 'Unsupported Accept', { type: `${PROBLEMS}#server-cannot-generate-response` });
      }
      const etag = `"${sha256(MANIFEST)}"`;
      if (ifNoneMatch === etag) return { status: 304, headers: { etag } };
      const headers = {
        'content-type': 'application/vnd.margo.manifest.v1+json',
        etag,
        'cache-control': 'private',
      };
      return { status: 200, headers, body: MANIFEST };
    }
    if (req.method === 'GET' && rest === `bundles/${sha256(BUNDLE)}`) {
      return immutable(BUNDLE, 'application/vnd.margo.bundle.v1+tar+gzip');
    }
    if (req.method === 'GET' && rest === `deployments/dep-1/${sha256(YAML)}`) {
      return immutable(YAML, 'application/yaml', { vary: 'Accept-Encoding' });
    }
    if (req.method === 'POST' && rest.endsWith('/status')) {
      const state = (JSON.parse(body.toString('utf8')) as { status?: { state?: string } }).status?.state;
      if (state === 'done') {
        return problem(422, 'Invalid state', {
          type: `${PROBLEMS}#semantic-error`,
          errors: [{ field: '/status/state', message: 'is not a deployment state' }],
        });
      }
      return { status: 200 };
    }
    return problem(404, 'Not found');
  }
}

function send(res: ServerResponse, reply: Reply): void {
  res.writeHead(reply.status, reply.headers ?? {});
  res.end(reply.body);
}

describe('conformance runner against a fake WFM', () => {
  const fake = new FakeWfm();
  let wrong: ConformanceReport;
  let noClientId: ConformanceReport;
  let lenient: ConformanceReport;
  let right: ConformanceReport;
  const lines: string[] = [];
  const quiet = () => undefined;

  beforeAll(async () => {
    await fake.start();
    const base = { ca: fake.caPem, scenarioFiles: [DIAMOND] };
    wrong = await runConformance({ ...base, baseUrl: fake.url, log: (line) => lines.push(line) });
    noClientId = await runConformance({ ...base, baseUrl: `${fake.url}/noid`, log: quiet });
    lenient = await runConformance({ ...base, baseUrl: fake.url, required: [], log: quiet });
    right = await runConformance({ ...base, baseUrl: `${fake.url}/good`, log: quiet });
  });
  afterAll(async () => {
    await fake.stop();
  });

  const find = (report: ConformanceReport, id: string): StepResult => {
    const result = report.results.find((s) => s.stepId === id);
    if (!result) throw new Error(`no result for ${id}`);
    return result;
  };

  it('signs onboarding as margo-clients §5 describes, with the full target URI (prefix included)', () => {
    expect(fake.onboardingSignatures.length).toBeGreaterThanOrEqual(20);
    for (const sig of fake.onboardingSignatures) {
      expect(sig.ok, `${sig.path}: ${sig.covered}`).toBe(true);
      expect(sig.covered).toMatch(
        /^sig1=\("@method" "@target-uri" "@authority" "content-digest"\);created=\d+;keyid="[0-9a-f]{64}"$/,
      );
    }
    expect(fake.onboardingSignatures.some((s) => s.path.startsWith('/noid/'))).toBe(true);
  });

  it('fails 200 answers to unsigned, tampered and unknown-signer requests', () => {
    expect(find(wrong, 'step-6.11')).toMatchObject({ outcome: 'FAIL', status: 200 });
    expect(find(wrong, 'step-6.11').detail).toContain('expected HTTP 401');
    expect(find(wrong, 'x-tamper')).toMatchObject({ outcome: 'FAIL', status: 200 });
    expect(find(wrong, 'x-fresh')).toMatchObject({ outcome: 'FAIL', status: 200 });
  });

  it('fails a manifest whose ETag is not the sha256 of its body, and the steps that depend on it', () => {
    const manifest = find(wrong, 'step-3.1');
    expect(manifest.outcome).toBe('FAIL');
    expect(manifest.detail).toContain(
      `is not "${sha256('{"manifestVersion":1,"bundle":null,"deployments":[]}')}"`,
    );
    expect(manifest.detail).toContain('Content-Type application/json is not exactly');
    expect(find(wrong, 'step-3.2')).toMatchObject({ outcome: 'FAIL', status: 200 });
    expect(find(wrong, 'step-3.3').detail).toBe(
      'not run: needs {bundleDigest}, which step-3.1 (FAIL) did not provide',
    );
  });

  it('fails a 4xx that is not problem+json, even when the status is the expected one', () => {
    const wrongDigest = find(wrong, 'step-6.3');
    expect(wrongDigest).toMatchObject({ outcome: 'FAIL', status: 404 });
    expect(wrongDigest.detail).toContain('must be application/problem+json, not text/plain');
  });

  it('fails known-deviation steps when the project answer does not hold', () => {
    expect(find(wrong, 'step-1.3')).toMatchObject({ outcome: 'FAIL', status: 201 });
    expect(find(wrong, 'step-4.1')).toMatchObject({ outcome: 'FAIL', status: 201 });
    expect(find(wrong, 'step-6.2')).toMatchObject({ outcome: 'FAIL', status: 200 });
    expect(find(wrong, 'step-6.5')).toMatchObject({ outcome: 'FAIL', status: 200 });
  });

  it('turns "not built yet" into FAIL for required steps only', () => {
    expect(find(wrong, 'step-2.1').outcome).toBe('FAIL'); // required since the capabilities issue
    expect(find(lenient, 'step-2.1').outcome).toBe('NOT-YET');
    expect(find(wrong, 'step-5.6').outcome).toBe('FAIL');
    expect(find(wrong, 'step-5.6').detail).toMatch(/^required, but not served yet: .*No such route/);
    expect(find(lenient, 'step-5.6').outcome).toBe('NOT-YET');
  });

  it('fails onboarding without a clientId, and the steps that need it', () => {
    expect(find(noClientId, 'step-1.2')).toMatchObject({ outcome: 'FAIL', status: 201 });
    expect(find(noClientId, 'step-1.2').detail).toContain('clientId is not a string');
    expect(find(noClientId, 'step-2.0').outcome).toBe('FAIL');
    expect(find(noClientId, 'step-2.1').detail).toBe(
      'not run: needs {clientId}, which step-2.0 (FAIL) did not provide',
    );
  });

  it('counts failures in the closing line', () => {
    expect(wrong.failed).toBeGreaterThan(10);
    const notYet = wrong.notYet > 0 ? `, ${wrong.notYet} not yet` : '';
    expect(lines.at(-1)).toBe(`${wrong.passed} passed, ${wrong.failed} failed${notYet}`);
    expect(lines.filter((l) => l.startsWith('FAIL ')).length).toBe(wrong.failed);
  });

  it('polls until the expected status arrives, and gives up when it does not', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ctt-poll-'));
    const file = join(dir, 'poll.json');
    const step = { method: 'GET', endpoint: '/api/v1/slowly', expected_status: 200 };
    await writeFile(
      file,
      JSON.stringify([
        {
          id: 'poll',
          name: 'poll',
          steps: [
            { ...step, id: 'eventually', poll: { interval_seconds: 0.05 }, validations: [] },
            {
              ...step,
              id: 'never',
              expected_status: 204,
              poll: { interval_seconds: 0.05, timeout_seconds: 0.3 },
            },
          ],
        },
      ]),
    );
    try {
      const polled = await runConformance({
        baseUrl: fake.url,
        ca: fake.caPem,
        scenarioFiles: [file],
        log: quiet,
      });
      expect(find(polled, 'eventually')).toMatchObject({ outcome: 'PASS', status: 200 });
      expect(fake.slowCalls).toBeGreaterThanOrEqual(3);
      expect(find(polled, 'never')).toMatchObject({ outcome: 'FAIL', status: 200 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('passes a WFM that answers right, digest-addressed content and 304s included', () => {
    const failures = right.results.filter((r) => r.outcome !== 'PASS' && r.outcome !== 'DEVIATION');
    expect(failures.map((r) => `${r.stepId}: ${r.outcome} ${r.detail}`)).toEqual([]);
    for (const id of ['step-3.1', 'step-3.3', 'step-3.4', 'step-3.5', 'step-3.6']) {
      expect(find(right, id).outcome, id).toBe('PASS');
    }
    expect(find(right, 'step-3.4').status).toBe(304);
    expect(right.results.filter((r) => r.outcome === 'DEVIATION').map((r) => r.stepId)).toEqual([
      'step-1.3',
      'step-2.1',
      'step-2.2',
      'step-3.7',
      'step-4.1',
      'step-5.6',
      'step-6.2',
      'step-6.5',
    ]);
  });
});
