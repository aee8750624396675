/**
 * Benchmark: requests/s through the rc.3 device guard (@Rc3Device(): mutual TLS, X.509-SVID
 * validation, accepted-client policy) of the real service, each figure beside a bare Node HTTPS
 * server with the same certificate and TLS options measured in the same run. Three cases: kept-alive
 * connections, a full mutual-TLS handshake per request, and a resumed handshake per request.
 *
 *   npx tsc -p bench/tsconfig.json && node dist-bench/bench/mtls-guard.js [--duration 8] [--warmup 2]
 *     [--rounds 4] [--concurrency 50] [--handshake-concurrency 8] [--keepalive-generator autocannon|node]
 *     [--cases keep-alive,full-handshake,resumed] [--cpu-prof]
 *
 * Only a run of all three cases without --cpu-prof rewrites the section in bench/README.md; every run
 * writes bench/results/mtls-guard-<timestamp>.md (and, with --cpu-prof, the service's .cpuprofile).
 *
 * Needs PostgreSQL and Redis on loopback (DATABASE_URL / REDIS_URL as for the service). Creates a
 * throw-away database wfm_bench_<hex> and drops it at the end, also on errors and SIGINT.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { issueClientSvid, loadIssuer } from '../src/client/identities.js';
import { request } from '../src/client/transport.js';
import { quoteIdent, withClient, withDatabase } from '../src/infra/database/postgres-admin.js';
import { REPO_ROOT, type ServerStats, ServerChild, type WfmReady } from './lib/ipc.js';
import { type ConnectionMode, type Generator, type LoadTarget, mergeLoads, runLoad } from './lib/load.js';
import { PROBE_PATH } from './lib/probe.module.js';
import {
  type CaseResult,
  detailTable,
  mainTable,
  type Measured,
  updateReadme,
  writeResult,
} from './lib/report.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '50' },
    'handshake-concurrency': { type: 'string', default: '8' },
    'keepalive-generator': { type: 'string', default: 'autocannon' },
    /** Measured windows per side and case, alternating WFM and baseline. */
    rounds: { type: 'string', default: '4' },
    /** A comma list of keep-alive, full-handshake, resumed (default: all three). */
    cases: { type: 'string', default: 'keep-alive,full-handshake,resumed' },
    /** Profile the service's process (V8 CPU profile into bench/results/, for `where the time goes`). */
    'cpu-prof': { type: 'boolean', default: false },
  },
});

function fail(message: string): never {
  throw new Error(message);
}

function positive(name: string, raw: string, max: number): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || n > max) throw new Error(`--${name} must be a number in (0, ${max}]`);
  return n;
}

const DURATION_S = positive('duration', args.duration, 60);
const WARMUP_S = positive('warmup', args.warmup, 30);
const CONCURRENCY = Math.round(positive('concurrency', args.concurrency, 1000));
const ROUNDS = Math.round(positive('rounds', args.rounds, 20));
const INTER_ROUND_WARMUP_S = 0.5;
const HANDSHAKE_CONCURRENCY = Math.round(
  positive('handshake-concurrency', args['handshake-concurrency'], 200),
);
const KEEPALIVE_GENERATOR: Generator =
  args['keepalive-generator'] === 'node'
    ? 'node'
    : args['keepalive-generator'] === 'autocannon'
      ? 'autocannon'
      : fail('--keepalive-generator must be autocannon or node');
const COMMAND = [
  'npx tsc -p bench/tsconfig.json && node dist-bench/bench/mtls-guard.js',
  ...process.argv.slice(2),
].join(' ');

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/wfm';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const RUN_ID = randomBytes(5).toString('hex');
const DB_NAME = `wfm_bench_${RUN_ID}`;
const QUEUE_PREFIX = `bench_${RUN_ID}`;
const CLIENT_ID = `bench-client-${RUN_ID}`;

const ALL_CASES: { title: string; mode: ConnectionMode; concurrency: number }[] = [
  {
    title: `kept-alive mTLS connections, ${KEEPALIVE_GENERATOR}`,
    mode: 'keep-alive',
    concurrency: CONCURRENCY,
  },
  { title: 'full mTLS handshake per request', mode: 'full-handshake', concurrency: HANDSHAKE_CONCURRENCY },
  { title: 'resumed TLS session per request', mode: 'resumed', concurrency: HANDSHAKE_CONCURRENCY },
];
const CASES = ALL_CASES.filter((c) => args.cases.split(',').includes(c.mode));
if (CASES.length === 0) fail('--cases: a comma list of keep-alive, full-handshake, resumed');
/** Only a complete, unprofiled run replaces the figures in bench/README.md. */
const UPDATES_README = !args['cpu-prof'] && CASES.length === ALL_CASES.length;

/** Everything the run must undo, last first; each step runs at most once. */
const children: ServerChild[] = [];
let dataDir: string | undefined;
let databaseMayExist = false;
let cleaning: Promise<void> | undefined;

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

async function dropDatabase(): Promise<void> {
  await withClient(withDatabase(DATABASE_URL, 'postgres'), (c) =>
    c.query(`DROP DATABASE IF EXISTS ${quoteIdent(DB_NAME)} WITH (FORCE)`),
  );
}

async function deleteRedisKeys(): Promise<void> {
  const redis = new Redis(REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${QUEUE_PREFIX}:*`, 'COUNT', 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    const step = async (name: string, fn: () => Promise<void>) => {
      try {
        await fn();
      } catch (error) {
        log(`cleanup: ${name} failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    };
    await Promise.all(children.map((c) => step(`stop ${c.name}`, () => c.stop())));
    if (databaseMayExist) await step(`drop database ${DB_NAME}`, dropDatabase);
    await step('delete Redis keys', deleteRedisKeys);
    if (dataDir) {
      const dir = dataDir;
      await step('remove the data folder', () => rm(dir, { recursive: true, force: true }));
    }
  })();
  return cleaning;
}

function abort(reason: string, code: number): void {
  log(`${reason}: cleaning up`);
  const force = setTimeout(() => process.exit(code), 15_000);
  force.unref();
  void cleanup().finally(() => process.exit(code));
}

process.on('SIGINT', () => abort('SIGINT', 130));
process.on('SIGTERM', () => abort('SIGTERM', 143));
process.on('exit', () => {
  for (const c of children) c.killNow();
});

// Hard bound on the whole run: every phase has its own timeout too; this catches the rest.
const PLANNED_S = CASES.length * 2 * (WARMUP_S + DURATION_S + (ROUNDS - 1) * INTER_ROUND_WARMUP_S);
const deadline = setTimeout(() => abort(`run exceeded ${PLANNED_S + 60} s`, 1), (PLANNED_S + 60) * 1000);
deadline.unref();

/** One measured window against one server. */
async function measure(
  server: ServerChild,
  target: LoadTarget,
  c: (typeof CASES)[number],
  warmupS: number,
  durationS: number,
): Promise<Measured> {
  let clientCpu = process.cpuUsage();
  let serverAtStart: Promise<ServerStats> | undefined;
  const load = await runLoad(target, {
    mode: c.mode,
    generator: KEEPALIVE_GENERATOR,
    concurrency: c.concurrency,
    warmupMs: warmupS * 1000,
    durationMs: durationS * 1000,
    onMeasureStart: () => {
      clientCpu = process.cpuUsage();
      serverAtStart = server.stats(); // resets the server's window
      return serverAtStart;
    },
  });
  const cpu = process.cpuUsage(clientCpu);
  await serverAtStart;
  const serverStats = await server.stats();
  return { load, server: serverStats, clientCpuMs: (cpu.user + cpu.system) / 1000 };
}

function merge(parts: Measured[]): Measured {
  const sum = (pick: (m: Measured) => number) => parts.reduce((n, m) => n + pick(m), 0);
  return {
    load: mergeLoads(parts.map((m) => m.load)),
    server: {
      handshakes: sum((m) => m.server.handshakes),
      resumed: sum((m) => m.server.resumed),
      cpuMs: sum((m) => m.server.cpuMs),
      wallMs: sum((m) => m.server.wallMs),
    },
    clientCpuMs: sum((m) => m.clientCpuMs),
  };
}

async function main(): Promise<void> {
  const started = new Date();
  const loadBefore = os.loadavg();
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  const resultsDir = join(REPO_ROOT, 'bench', 'results');
  const profileName = `mtls-guard-${stamp}-wfm.cpuprofile`;
  await mkdir(resultsDir, { recursive: true });
  dataDir = await mkdtemp(join(os.tmpdir(), 'wfm-bench-'));

  log(`starting the service (database ${DB_NAME})`);
  databaseMayExist = true;
  const wfm = new ServerChild(
    'wfm',
    new URL('./lib/wfm-server.js', import.meta.url),
    {
      ...process.env,
      DATABASE_URL: withDatabase(DATABASE_URL, DB_NAME),
      REDIS_URL,
      WFM_QUEUE_PREFIX: QUEUE_PREFIX,
      WFM_DATA_DIR: dataDir,
      WFM_HOST: '127.0.0.1',
      PORT: '0',
      WFM_RATE_LIMIT_PER_MINUTE: '0',
      WFM_LOG_LEVEL: 'warn',
    },
    args['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${resultsDir}`, `--cpu-prof-name=${profileName}`] : [],
  );
  children.push(wfm);
  const ready: WfmReady = await wfm.next('wfm-ready', 60_000);

  const pki = join(ready.dataDir, 'pki');
  const [caPem, caKeyPem, serverCertPem, serverKeyPem] = await Promise.all(
    ['ca.pem', 'ca-key.pem', 'server.pem', 'server-key.pem'].map((f) => readFile(join(pki, f), 'utf8')),
  );
  const issuer = await loadIssuer(caPem, caKeyPem, ready.trustDomain, ready.wfmId);
  const svid = await issueClientSvid(issuer, CLIENT_ID);

  const accepted = await request(new URL(`/operator/v1/clients/${CLIENT_ID}`, ready.url), {
    method: 'PUT',
    headers: { authorization: `Bearer ${ready.adminToken}` },
    ca: caPem,
    timeoutMs: 10_000,
  });
  if (accepted.status !== 201 && accepted.status !== 200) {
    throw new Error(`accepting ${CLIENT_ID}: HTTP ${accepted.status} ${accepted.text()}`);
  }
  const mtls = { ca: caPem, cert: svid.certChainPem, key: svid.keyPem, timeoutMs: 10_000 };
  const sample = await request(new URL(PROBE_PATH, ready.url), mtls);
  if (sample.status !== 200) throw new Error(`guarded route: HTTP ${sample.status} ${sample.text()}`);
  const body = sample.text();
  const contentType = String(sample.headers['content-type'] ?? 'application/json');
  log(`guarded route answers ${body}`);

  const baseline = new ServerChild(
    'baseline',
    new URL('./lib/baseline-server.js', import.meta.url),
    process.env,
  );
  children.push(baseline);
  baseline.send({
    type: 'start',
    certPem: serverCertPem,
    keyPem: serverKeyPem,
    caPem: caPem,
    body,
    contentType,
    sessionTimeout: ready.sessionLifetimeSeconds,
  });
  const baselineReady = await baseline.next('baseline-ready', 10_000);
  const baselineUrl = `https://127.0.0.1:${baselineReady.port}`;
  const check = await request(new URL(PROBE_PATH, baselineUrl), mtls);
  if (check.status !== 200 || check.text() !== body) {
    throw new Error('the baseline does not answer the same body');
  }

  const target = (port: number): LoadTarget => ({
    host: '127.0.0.1',
    port,
    path: PROBE_PATH,
    ca: caPem,
    cert: svid.certChainPem,
    key: svid.keyPem,
  });

  // Each side gets DURATION_S measured seconds per case, cut into ROUNDS windows that alternate between
  // the WFM and the baseline (and which goes first), so a burst of other work on this shared machine
  // hits both sides instead of one. The first window of each side is preceded by the full warm-up,
  // later ones by a short one (re-opening kept-alive connections, re-filling the session cache).
  const results: CaseResult[] = [];
  const sliceS = DURATION_S / ROUNDS;
  for (const c of CASES) {
    log(
      `${c.title}: ${ROUNDS} × ${sliceS.toFixed(2)} s per side, after ${WARMUP_S} s warm-up, C=${c.concurrency}`,
    );
    const parts: Record<'wfm' | 'baseline', Measured[]> = { wfm: [], baseline: [] };
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? (['wfm', 'baseline'] as const) : (['baseline', 'wfm'] as const);
      for (const side of order) {
        const warmupS = round === 0 ? WARMUP_S : INTER_ROUND_WARMUP_S;
        parts[side].push(
          side === 'wfm'
            ? await measure(wfm, target(ready.port), c, warmupS, sliceS)
            : await measure(baseline, target(baselineReady.port), c, warmupS, sliceS),
        );
      }
    }
    const result: CaseResult = {
      title: c.title,
      concurrency: c.concurrency,
      wfm: merge(parts.wfm),
      baseline: merge(parts.baseline),
      roundRatios: parts.wfm.map((w, r) => w.load.rps / parts.baseline[r].load.rps),
    };
    for (const side of ['wfm', 'baseline'] as const) {
      const l = result[side].load;
      log(
        `  ${side}: ${l.rps.toFixed(0)} req/s, p50 ${l.p50Ms.toFixed(2)} ms, p99 ${l.p99Ms.toFixed(2)} ms, ${l.errors} errors`,
      );
    }
    results.push(result);
  }

  const resumed = results.find((r) => r.title.startsWith('resumed'));
  const full = results.find((r) => r.title.startsWith('full'));
  const tlsLine = (name: string, m: Measured | undefined) => {
    if (!m) return '';
    const l = m.load;
    const opened = l.newConnections ?? 0;
    const reused = l.resumedConnections ?? 0;
    const fraction = opened > 0 ? (100 * reused) / opened : Number.NaN;
    const lifetime = l.session?.ticketLifetimeHintSeconds ?? l.session?.timeoutSeconds;
    return (
      `- ${name}: ${l.protocol ?? '?'} ${l.cipher ?? ''}; resumed ${reused} of ${opened} ` +
      `new connections (${fraction.toFixed(1)} %) on the client, ${m.server.resumed} of ${m.server.handshakes} ` +
      `handshakes on the server; session lifetime the server announced: ${lifetime ?? '?'} s`
    );
  };

  const machine = [
    `- Date: ${started.toISOString()}`,
    `- Machine: ${os.cpus().length} CPUs (${os.cpus()[0]?.model.trim() ?? '?'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, ` +
      `load average before the run ${loadBefore.map((n) => n.toFixed(2)).join(' ')}`,
    `- Load average after the measurements ${os
      .loadavg()
      .map((n) => n.toFixed(2))
      .join(' ')} (other work on the machine shows here)`,
    `- Node ${process.version}, ${os.type()} ${os.release()}`,
    `- Command: \`${COMMAND}\``,
    `- Each figure: ${WARMUP_S} s warm-up, then ${DURATION_S} s measured per side, in ${ROUNDS} windows that ` +
      `alternate between the WFM and the baseline (${INTER_ROUND_WARMUP_S} s warm-up before each later window); closed loop (each of C loops sends ` +
      `its next GET ${PROBE_PATH} when the previous one is answered), from the parent process; the service and ` +
      `the baseline each run in a child process. Server session lifetime (WFM_TLS_SESSION_LIFETIME): ` +
      `${ready.sessionLifetimeSeconds} s on both.`,
  ].join('\n');

  const section = [
    `Measured ${started.toISOString().slice(0, 10)} with \`${COMMAND}\` ` +
      `(${os.cpus().length} CPUs, Node ${process.version}).`,
    '',
    `What it compares: \`GET ${PROBE_PATH}\`, a route behind \`@Rc3Device()\` in the real service ` +
      "(every module, Postgres, Redis; rate limit off, log level warn) answering the caller's " +
      '`AuthenticatedClient` JSON, against a bare Node `https.createServer` with the same certificate, key and ' +
      'TLS options answering the same bytes. Ratio = WFM / baseline requests/s, measured in the same run ' +
      `(in brackets: the lowest and highest ratio of the ${ROUNDS} alternating rounds, a measure of the noise).`,
    '',
    mainTable(results),
    '',
    '### Where the time goes',
    '',
    detailTable(results),
    '',
    '### How to read it',
    '',
    '- Kept-alive rows: no handshake inside the window, so the WFM figure is the cost of its request ' +
      'pipeline (Express and Nest, request-id and access-log middleware, HTTP metrics, Passport, the rc.3 ' +
      'guard: the SVID from the socket, cached chain validation, the accepted-client lookup in memory, the ' +
      'last-seen touch) against a bare handler.',
    '- Handshake rows: a new TCP and TLS connection per request. When the load generator CPU column is ' +
      "near 100 %, both servers are capped by the client's own handshake work (everything shares two " +
      'cores) and their requests/s ratio tends to 1 whatever the server does; the server CPU per request ' +
      '(and its "vs baseline") is then the figure for what the WFM costs per connection.',
    "- Resumed rows: the client's `https.Agent` keeps the session tickets (`maxCachedSessions: 100`) and " +
      'offers them on the next connection; the "(resumed)" counts, taken on both sides, show whether it ' +
      'happened. Full-handshake rows use `maxCachedSessions: 0`.',
    `- Load generators: kept-alive rows use ${KEEPALIVE_GENERATOR === 'autocannon' ? 'autocannon (it presents the client SVID but does not verify the server certificate)' : "Node's https client"}; ` +
      "handshake rows use Node's https client, which verifies the server certificate against the dev CA. " +
      'Latency is per request, from the client, in the measured window only.',
    '',
    '### TLS',
    '',
    tlsLine('full handshake, WFM', full?.wfm),
    tlsLine('resumed, WFM', resumed?.wfm),
    tlsLine('resumed, baseline', resumed?.baseline),
    '',
    '### Machine',
    '',
    machine,
  ].join('\n');

  const report = `# mTLS guard benchmark, ${started.toISOString()}\n\n${section}\n`;
  const file = await writeResult(resultsDir, `mtls-guard-${stamp}.md`, report);
  if (UPDATES_README) await updateReadme(join(REPO_ROOT, 'bench', 'README.md'), section);
  process.stdout.write(`\n${mainTable(results)}\n\n${detailTable(results)}\n\n`);
  log(`wrote ${file}${UPDATES_README ? ' and bench/README.md' : ''}`);
  if (args['cpu-prof']) {
    log(`the service's CPU profile goes to ${join(resultsDir, profileName)} when it stops`);
  }
}

let exitCode = 0;
try {
  await main();
} catch (error) {
  log(`failed: ${error instanceof Error ? error.message : String(error)}`);
  exitCode = 1;
} finally {
  await cleanup();
  clearTimeout(deadline);
}
process.exit(exitCode);
