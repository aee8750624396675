/**
 * Benchmark: the device poll path of the state-manifest API over kept-alive mutual TLS.
 *
 * Setup through the operator API: one application package (test/support/packages.ts `linePackage()`),
 * one accepted rc.3 client with one device, three deployments of the package to that device; then the
 * client's manifest lists three ApplicationDeployments. Cases (each beside a bare Node HTTPS server
 * with the same TLS options, measured in alternating windows):
 *
 * - 304: `GET /api/v1/deployments` with `If-None-Match` of the current ETag (what a device sends on
 *   almost every poll) against a baseline answering 304 with the same ETag;
 * - 200: the same GET without `If-None-Match` against a baseline answering the same manifest bytes;
 * - yaml: `GET /api/v1/deployments/{id}/{digest}` (one ApplicationDeployment) against a baseline
 *   answering the same YAML bytes.
 *
 *   npx tsc -p bench/tsconfig.json && node dist-bench/bench/manifest-poll.js [--duration 8] [--warmup 2]
 *     [--rounds 4] [--concurrency 50] [--cases 304,200,yaml] [--cpu-prof] [--no-readme]
 *
 * Only a run of all cases without --cpu-prof rewrites the section in bench/README.md; every run writes
 * bench/results/manifest-poll-<timestamp>.md. Needs PostgreSQL and Redis on loopback; creates the
 * throw-away database wfm_bench_<hex> and drops it at the end, also on errors and SIGINT.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { request } from '../src/client/transport.js';
import { linePackage } from '../test/support/packages.js';
import { benchCli, count, positive } from './lib/cli.js';
import { capabilityBody } from './lib/devices.js';
import { type BaselineAnswer, Harness, sleep } from './lib/harness.js';
import { REPO_ROOT, type ServerChild } from './lib/ipc.js';
import type { LoadTarget } from './lib/load.js';
import { type CaseResult, detailTable, fmt, mainTable } from './lib/report.js';
import {
  alternate,
  caseResult,
  caseSummary,
  INTER_ROUND_WARMUP_S,
  measureLoad,
  planLine,
} from './lib/rounds.js';

const { args, command: COMMAND } = benchCli('manifest-poll', {
  duration: { type: 'string', default: '8' },
  warmup: { type: 'string', default: '2' },
  rounds: { type: 'string', default: '4' },
  concurrency: { type: 'string', default: '50' },
  cases: { type: 'string', default: '304,200,yaml' },
  'cpu-prof': { type: 'boolean', default: false },
  /** Write bench/results/ only, leave bench/README.md as it is. */
  'no-readme': { type: 'boolean', default: false },
});

const PLAN = {
  durationS: positive('duration', args.duration, 60),
  warmupS: positive('warmup', args.warmup, 30),
  rounds: count('rounds', args.rounds, 20),
};
const CONCURRENCY = count('concurrency', args.concurrency, 1000);
const MANIFEST_TYPE = 'application/vnd.margo.manifest.v1+json';
const ALL_CASES = ['304', '200', 'yaml'] as const;
type CaseName = (typeof ALL_CASES)[number];
const CASES = ALL_CASES.filter((c) => args.cases.split(',').includes(c));
if (CASES.length === 0) throw new Error('--cases: a comma list of 304, 200, yaml');
const UPDATES_README = !args['cpu-prof'] && !args['no-readme'] && CASES.length === ALL_CASES.length;
const SECTION = '## State manifest polls over mutual TLS (deployment-spec)';
const CLIENT_ID = 'poll-client';
/** Where the service's poll fast path lives (it moved with issue 14's split, and took the downloads in issue 15). */
const FAST_PATH = [
  'src/modules/deployment-spec/manifests/device-fast-path.ts',
  'src/modules/deployment-spec/manifests/poll-fast-path.ts',
  'src/modules/deployment-spec/poll-fast-path.ts',
].find((path) => existsSync(join(REPO_ROOT, path)));
const DEVICE_ID = 'edge-1';

const h = new Harness(
  'manifest-poll',
  90 + CASES.length * 2 * (PLAN.warmupS + PLAN.durationS + (PLAN.rounds - 1) * INTER_ROUND_WARMUP_S),
);

interface Manifest {
  manifestVersion: number;
  deployments: { deploymentId: string; digest: string; sizeBytes: number; url: string }[];
  bundle: { digest: string; url: string; sizeBytes: number } | null;
}

await h.run(async () => {
  h.log(`starting the service (api and worker roles; database ${h.dbName})`);
  const { child: wfm, ready: r } = await h.startService({
    name: 'wfm',
    roles: 'api,worker',
    cpuProfile: args['cpu-prof'],
  });
  const ready = r!;
  const tls = await h.tlsFiles(ready);
  const svid = (await h.enrol(ready, tls, [CLIENT_ID])).get(CLIENT_ID)!;
  const mtls = { ca: tls.caPem, cert: svid.certChainPem, key: svid.keyPem, timeoutMs: 10_000 };

  const device = await request(new URL(`/api/v1/capabilities/${DEVICE_ID}`, ready.url), {
    ...mtls,
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: capabilityBody(DEVICE_ID, { labels: { site: 'plant-1' } }),
  });
  if (device.status !== 201) throw new Error(`capabilities: HTTP ${device.status} ${device.text()}`);
  const pkg = await h.operator(ready, tls, 'POST', '/operator/v1/applications', { yaml: linePackage() });
  if (pkg.status !== 201) throw new Error(`package: HTTP ${pkg.status} ${pkg.text()}`);
  const applicationId = pkg.json<{ applicationId: string }>().applicationId;
  for (let i = 0; i < 3; i++) {
    const created = await h.operator(ready, tls, 'POST', '/operator/v1/deployments', {
      json: {
        applicationId,
        parameters: { siteId: 'DE-001', greeting: `Hello ${i + 1}` },
        target: { clientId: CLIENT_ID, deviceId: DEVICE_ID },
      },
    });
    if (created.status !== 201) throw new Error(`deployment: HTTP ${created.status} ${created.text()}`);
  }

  // wait until the worker has placed all three and issued the manifest
  const manifestUrl = new URL('/api/v1/deployments', ready.url);
  let manifest: Manifest | undefined;
  let raw = { body: '', etag: '', cacheControl: '' };
  for (const t0 = performance.now(); performance.now() - t0 < 60_000; await sleep(200)) {
    const res = await request(manifestUrl, { ...mtls, headers: { accept: MANIFEST_TYPE } });
    if (res.status !== 200) throw new Error(`manifest: HTTP ${res.status} ${res.text()}`);
    const m = res.json<Manifest>();
    if (m.deployments.length === 3) {
      manifest = m;
      raw = {
        body: res.text(),
        etag: String(res.headers.etag),
        cacheControl: String(res.headers['cache-control']),
      };
      break;
    }
  }
  if (!manifest) throw new Error('the manifest did not list 3 deployments within 60 s');
  const first = manifest.deployments[0];
  const yamlRes = await request(new URL(first.url, ready.url), mtls);
  const bundleRes = await request(new URL(manifest.bundle!.url, ready.url), mtls);
  if (yamlRes.status !== 200 || bundleRes.status !== 200) {
    throw new Error(`YAML ${yamlRes.status}, bundle ${bundleRes.status}`);
  }
  const check304 = await request(manifestUrl, {
    ...mtls,
    headers: { accept: MANIFEST_TYPE, 'if-none-match': raw.etag },
  });
  if (check304.status !== 304) throw new Error(`conditional poll: HTTP ${check304.status}`);
  h.log(
    `manifest v${manifest.manifestVersion}: ${manifest.deployments.length} deployments, ${raw.body.length} bytes, ` +
      `ETag ${raw.etag}; YAML ${yamlRes.body.length} bytes, bundle ${bundleRes.body.length} bytes`,
  );

  const baselines = new Map<CaseName, { child: ServerChild; port: number }>();
  for (const c of CASES) {
    const answer: BaselineAnswer =
      c === '304'
        ? {
            body: '',
            contentType: MANIFEST_TYPE,
            status: 304,
            headers: { etag: raw.etag, 'cache-control': raw.cacheControl },
          }
        : c === '200'
          ? {
              body: raw.body,
              contentType: MANIFEST_TYPE,
              headers: { etag: raw.etag, 'cache-control': raw.cacheControl },
            }
          : {
              body: yamlRes.text(),
              contentType: 'application/yaml',
              headers: {
                etag: String(yamlRes.headers.etag),
                'cache-control': String(yamlRes.headers['cache-control']),
                vary: 'Accept-Encoding',
              },
            };
    baselines.set(c, await h.startBaseline(tls, ready.sessionLifetimeSeconds, answer));
  }

  const targetOf = (c: CaseName, port: number): LoadTarget => {
    const base = { host: '127.0.0.1', port, ca: tls.caPem, cert: svid.certChainPem, key: svid.keyPem };
    switch (c) {
      case '304':
        return {
          ...base,
          path: '/api/v1/deployments',
          headers: { accept: MANIFEST_TYPE, 'if-none-match': raw.etag },
          expectStatus: 304,
        };
      case '200':
        return { ...base, path: '/api/v1/deployments', headers: { accept: MANIFEST_TYPE } };
      case 'yaml':
        return {
          ...base,
          path: new URL(first.url, ready.url).pathname,
          headers: { accept: 'application/yaml' },
        };
    }
  };
  const titles: Record<CaseName, string> = {
    '304': 'conditional poll answered 304 (If-None-Match = current ETag)',
    '200': `manifest poll answered 200 (${raw.body.length} bytes, 3 deployments)`,
    yaml: `one ApplicationDeployment YAML answered 200 (${yamlRes.body.length} bytes)`,
  };

  const results: (CaseResult & { name: CaseName })[] = [];
  for (const c of CASES) {
    h.log(
      `${titles[c]}: ${PLAN.rounds} × ${(PLAN.durationS / PLAN.rounds).toFixed(2)} s per side after ` +
        `${PLAN.warmupS} s warm-up, C=${CONCURRENCY}`,
    );
    const baseline = baselines.get(c)!;
    const parts = await alternate(PLAN, (side, warmupS, sliceS) =>
      measureLoad(
        side === 'wfm' ? wfm : baseline.child,
        targetOf(c, side === 'wfm' ? ready.port : baseline.port),
        {
          mode: 'keep-alive',
          generator: 'autocannon',
          concurrency: CONCURRENCY,
          warmupMs: warmupS * 1000,
          durationMs: sliceS * 1000,
        },
      ),
    );
    const result = { name: c, ...caseResult(titles[c], CONCURRENCY, parts) };
    for (const line of caseSummary(result)) h.log(line);
    results.push(result);
  }

  // the manifest must not have changed under the load (the 304s were real)
  const after = await request(manifestUrl, { ...mtls, headers: { accept: MANIFEST_TYPE } });
  const unchanged = String(after.headers.etag) === raw.etag;

  const r304 = results.find((r) => r.name === '304');
  const targetLine = r304
    ? `Target for the 304 path: ≥ 25 % of the baseline's rate — ${fmt((100 * r304.wfm.load.rps) / r304.baseline.load.rps, 1)} % measured, ` +
      `${r304.wfm.load.rps / r304.baseline.load.rps >= 0.25 ? 'met' : `missed (${fmt(r304.wfm.load.rps)} of the ${fmt(0.25 * r304.baseline.load.rps)} req/s the target asks for)`}.`
    : '';
  const section = [
    h.measuredWith(COMMAND),
    '',
    'What it compares: the rc.3 device poll path of the real service (API and worker roles in one process, ' +
      'Postgres, Redis; rate limit off, log level warn) for one accepted client whose manifest lists three ' +
      'ApplicationDeployments (one package, `linePackage()`, deployed three times to its one device through the ' +
      'operator API), against a bare Node `https.createServer` with the same certificate and TLS options answering ' +
      "the same status, ETag and bytes. All requests carry the client's X.509-SVID (autocannon, kept-alive " +
      `connections, C=${CONCURRENCY}). Ratio = WFM / baseline requests/s (in brackets: lowest–highest of the ` +
      `${PLAN.rounds} alternating rounds).`,
    '',
    mainTable(results),
    '',
    targetLine,
    '',
    '### Where the time goes',
    '',
    detailTable(results),
    '',
    FAST_PATH
      ? FAST_PATH.endsWith('device-fast-path.ts')
        ? `- The polls and the YAML route are answered by \`deviceFastPath\` (${FAST_PATH}) ` +
          'straight from the HTTPS server, outside Express/Nest.'
        : `- The 304 and 200 polls are answered by \`pollFastPath\` (${FAST_PATH}) ` +
          'straight from the HTTPS server, outside Express/Nest; the YAML route goes through the full pipeline.'
      : '- All three routes go through the full Express/Nest pipeline (middleware, Passport, guard, interceptors).',
    '- 304 path (`ManifestService.poll`): guard (SVID from the socket, cached validation, accepted-client ' +
      'lookup in memory), Accept check, one Redis `HMGET` of the cached ETag and version, the poll noted in ' +
      'memory (flushed to Postgres every 5 s), headers. 200 path: the same plus `HGETBUFFER` of the body and a ' +
      'SHA-256 of it against the ETag before it is sent. YAML path: ' +
      (FAST_PATH?.endsWith('device-fast-path.ts')
        ? 'the in-memory document cache (a Postgres lookup by (client, digest) on a miss).'
        : 'a Postgres lookup of the document by (client, digest) on every request (no cache).'),
    `- The manifest's ETag ${unchanged ? 'was the same before and after the load' : 'CHANGED during the run (the 304 figures are suspect)'}.`,
    '',
    '### Machine',
    '',
    ...h.machineLines(COMMAND),
    `${planLine(PLAN)}.`,
  ].join('\n');
  await h.publish({
    name: 'manifest-poll',
    heading: 'Manifest poll benchmark',
    section,
    readmeSection: UPDATES_README ? SECTION : undefined,
  });
});
