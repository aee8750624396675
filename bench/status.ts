/**
 * Benchmark: status reports of the status module over kept-alive mutual TLS, and zero loss.
 *
 * Setup through the operator API: one application package (test/support/packages.ts `linePackage()`),
 * `--clients` accepted rc.3 clients with `--devices` compose-only devices between them (each client
 * reports its own through PUT /api/v1/capabilities), one deployment per device; then every client's
 * manifest lists one ApplicationDeployment per device (profile line-monitor-compose). Load: C kept-alive
 * connections (each presenting its client's X.509-SVID) POST /api/v1/deployments/{id}/status with valid
 * reports (component line-monitor-compose, states alternating installing/installed per deployment,
 * adoptedManifestVersion = the client's manifest version); no deployment is reported on two connections
 * at once. Beside a bare Node HTTPS server (same TLS options, certificates and bodies) that reads the
 * body and answers 200, in alternating windows.
 *
 * Zero loss: every report the load generator saw answered 2xx (over the whole run, warm-ups included)
 * is compared, per deployment, with the rows of `deployment_status_report` in the bench database (the
 * service keeps 200 per (deployment, device); enough deployments keep every one below that). Server-side
 * ingest latency: `wfm_status_ingest_seconds` from GET /metrics, scraped at the start and end of every
 * measured WFM window.
 *
 *   npx tsc -p bench/tsconfig.json && node dist-bench/bench/status.js [--duration 10] [--warmup 2]
 *     [--rounds 2] [--concurrency 50] [--clients 20] [--devices 200] [--no-wait]
 *
 * Waits (up to 10 minutes) until no other benchmark (`pgrep -f dist-bench/bench/`) runs before it
 * measures. A run with the default load shape rewrites the section in bench/README.md; every run writes
 * bench/results/status-<timestamp>.md. Needs PostgreSQL and Redis on loopback; creates the throw-away
 * database wfm_bench_<hex> and drops it at the end, also on errors and SIGINT.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import { parseArgs } from 'node:util';
import type { ClientSvid } from '../src/client/identities.js';
import { request } from '../src/client/transport.js';
import { linePackage } from '../test/support/packages.js';
import { capabilityBody } from './lib/devices.js';
import { forEachLimit, Harness, positive, sleep, type TlsFiles } from './lib/harness.js';
import type { ServerChild, ServerStats, WfmReady } from './lib/ipc.js';
import { type ConnectionGroup, mergeLoads, type RequestContext, runConnectionGroups } from './lib/load.js';
import {
  type CaseResult,
  detailTable,
  fmt,
  mainTable,
  type Measured,
  ms,
  table,
  updateReadme,
  writeResult,
} from './lib/report.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '50' },
    clients: { type: 'string', default: '20' },
    devices: { type: 'string', default: '200' },
    'no-wait': { type: 'boolean', default: false },
  },
});

const DURATION_S = positive('duration', args.duration, 60);
const WARMUP_S = positive('warmup', args.warmup, 30);
const ROUNDS = Math.round(positive('rounds', args.rounds, 10));
const INTER_ROUND_WARMUP_S = 0.5;
const CONCURRENCY = Math.round(positive('concurrency', args.concurrency, 500));
const CLIENTS = Math.round(positive('clients', args.clients, 500));
const DEVICES = Math.round(positive('devices', args.devices, 10_000));
if (DEVICES < CLIENTS) {
  throw new Error('--devices must be at least --clients (one device per client or more)');
}
const OTHER_BENCH_WAIT_MS = 600_000;
const SETUP_TIMEOUT_MS = 180_000;
const HISTORY_LIMIT = 200;
const COMPONENT = 'line-monitor-compose';
const APPLICATION_ID = 'com-example-line-monitor';
const MANIFEST_TYPE = 'application/vnd.margo.manifest.v1+json';
const COMMAND = [
  'npx tsc -p bench/tsconfig.json && node dist-bench/bench/status.js',
  ...process.argv.slice(2),
].join(' ');
const UPDATES_README = process.argv.slice(2).every((a) => a === '--no-wait');
const SECTION = '## Status reports (status)';

const h = new Harness(
  'status',
  OTHER_BENCH_WAIT_MS / 1000 + SETUP_TIMEOUT_MS / 1000 + 2 * (WARMUP_S + DURATION_S + ROUNDS * 2),
);

// ---------------------------------------------------------------------------------------------------
// load: one tracked ApplicationDeployment per device

interface Target {
  clientId: string;
  deploymentId: string;
  manifestVersion: number;
  /** Reports built for the WFM (sequence numbers 1…sent), answered 2xx, answered otherwise. */
  sent: number;
  acked: number;
  rejected: number;
}

const stateOf = (seq: number) => (seq % 2 === 1 ? 'installing' : 'installed');

function statusBody(t: Target, seq: number): string {
  const state = stateOf(seq);
  return JSON.stringify({
    deploymentId: t.deploymentId,
    adoptedManifestVersion: t.manifestVersion,
    status: { state },
    components: [{ name: COMPONENT, state }],
  });
}

/** One window's request source of a client: each connection takes a deployment nobody reports right now. */
class ClientLoad {
  private readonly free: Target[];
  overlaps = 0;

  constructor(
    private readonly targets: Target[],
    private readonly track: boolean,
  ) {
    this.free = [...targets];
  }

  group(svid: ClientSvid, connections: number): ConnectionGroup {
    return {
      cert: svid.certChainPem,
      key: svid.keyPem,
      connections,
      next: (context) => this.next(context),
      onResponse: (status, context) => this.answered(status, context),
    };
  }

  private next(context: RequestContext) {
    let target = this.free.shift();
    if (!target) {
      // every deployment of this client is in flight (a request lost to a timeout): reuse one
      this.overlaps += 1;
      target = this.targets[this.overlaps % this.targets.length];
    }
    const seq = target.sent + 1;
    if (this.track) target.sent = seq;
    context.target = target;
    return {
      method: 'POST',
      path: `/api/v1/deployments/${target.deploymentId}/status`,
      headers: { 'content-type': 'application/json' },
      body: statusBody(target, seq),
    };
  }

  private answered(status: number, context: RequestContext): void {
    const target = context.target as Target | undefined;
    if (!target) return;
    if (this.track) {
      if (status >= 200 && status < 300) target.acked += 1;
      else target.rejected += 1;
    }
    this.free.push(target);
  }
}

// ---------------------------------------------------------------------------------------------------
// the service's histogram

interface Histogram {
  /** Cumulative counts per upper bound (seconds; Infinity last). */
  buckets: Map<number, number>;
  sum: number;
  count: number;
}

const METRIC = 'wfm_status_ingest_seconds';

function parseHistogram(text: string): Histogram {
  const buckets = new Map<number, number>();
  let sum = 0;
  let count = 0;
  for (const line of text.split('\n')) {
    const bucket = new RegExp(`^${METRIC}_bucket\\{le="([^"]+)"\\} (\\S+)$`).exec(line);
    if (bucket) buckets.set(bucket[1] === '+Inf' ? Infinity : Number(bucket[1]), Number(bucket[2]));
    else if (line.startsWith(`${METRIC}_sum `)) sum = Number(line.split(' ')[1]);
    else if (line.startsWith(`${METRIC}_count `)) count = Number(line.split(' ')[1]);
  }
  if (buckets.size === 0) throw new Error(`GET /metrics has no ${METRIC} histogram`);
  return { buckets, sum, count };
}

function histogramDelta(a: Histogram, b: Histogram): Histogram {
  const buckets = new Map<number, number>();
  for (const [le, n] of b.buckets) buckets.set(le, n - (a.buckets.get(le) ?? 0));
  return { buckets, sum: b.sum - a.sum, count: b.count - a.count };
}

function histogramSum(parts: Histogram[]): Histogram {
  const buckets = new Map<number, number>();
  for (const p of parts) for (const [le, n] of p.buckets) buckets.set(le, (buckets.get(le) ?? 0) + n);
  return {
    buckets,
    sum: parts.reduce((s, p) => s + p.sum, 0),
    count: parts.reduce((s, p) => s + p.count, 0),
  };
}

/** The q-quantile in seconds, interpolated linearly inside its bucket (as Prometheus' histogram_quantile). */
function quantile(hist: Histogram, q: number): number {
  const bounds = [...hist.buckets.keys()].sort((a, b) => a - b);
  const total = hist.buckets.get(Infinity) ?? hist.count;
  if (total <= 0) return Number.NaN;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const le of bounds) {
    const cumulative = hist.buckets.get(le) ?? 0;
    if (cumulative >= rank) {
      if (le === Infinity) return lower; // above the highest finite bound: that bound is all we know
      const inBucket = cumulative - below;
      return inBucket === 0 ? le : lower + ((le - lower) * (rank - below)) / inBucket;
    }
    lower = le;
    below = cumulative;
  }
  return lower;
}

async function scrape(ready: WfmReady, tls: TlsFiles): Promise<Histogram> {
  const res = await h.operator(ready, tls, 'GET', '/metrics');
  if (res.status !== 200) throw new Error(`GET /metrics: HTTP ${res.status}`);
  return parseHistogram(res.text());
}

// ---------------------------------------------------------------------------------------------------
// other benchmarks on the machine

/** Pids of `pgrep -f dist-bench/bench/` that are neither this process, its ancestors nor its descendants. */
function otherBenchmarks(): number[] {
  let out: string;
  try {
    out = execFileSync('pgrep', ['-f', 'dist-bench/bench/'], { encoding: 'utf8' });
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
  const parentOf = (pid: number): number => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      return 0;
    }
  };
  const ancestors = new Set<number>();
  for (let p = process.pid; p > 1; p = parentOf(p)) ancestors.add(p);
  return out
    .split('\n')
    .filter(Boolean)
    .map(Number)
    .filter((pid) => {
      if (ancestors.has(pid)) return false;
      for (let p = pid; p > 1; p = parentOf(p)) if (p === process.pid) return false;
      return true;
    });
}

async function waitForQuietMachine(): Promise<string> {
  if (args['no-wait']) return 'not checked (--no-wait)';
  const t0 = performance.now();
  let others = otherBenchmarks();
  if (others.length === 0) return 'none was running';
  while (others.length > 0 && performance.now() - t0 < OTHER_BENCH_WAIT_MS) {
    h.log(`another benchmark is running (pids ${others.join(', ')}); waiting`);
    await sleep(10_000);
    others = otherBenchmarks();
  }
  const waited = ((performance.now() - t0) / 1000).toFixed(0);
  return others.length === 0
    ? `waited ${waited} s until another one had finished`
    : `another one was STILL running after ${waited} s (pids ${others.join(', ')}): the figures are distorted`;
}

// ---------------------------------------------------------------------------------------------------
// windows

function sumStats(parts: ServerStats[]): ServerStats {
  return parts.reduce(
    (a, b) => ({
      handshakes: a.handshakes + b.handshakes,
      resumed: a.resumed + b.resumed,
      cpuMs: a.cpuMs + b.cpuMs,
      wallMs: a.wallMs + b.wallMs,
    }),
    { handshakes: 0, resumed: 0, cpuMs: 0, wallMs: 0 },
  );
}

function mergeMeasured(parts: Measured[]): Measured {
  return {
    load: mergeLoads(parts.map((m) => m.load)),
    server: sumStats(parts.map((m) => m.server)),
    clientCpuMs: parts.reduce((n, m) => n + m.clientCpuMs, 0),
  };
}

async function measureWindow(
  server: ServerChild,
  port: number,
  groups: ConnectionGroup[],
  warmupS: number,
  durationS: number,
  caPem: string,
  histogramAt?: () => Promise<Histogram>,
): Promise<{ measured: Measured; ingest?: Histogram }> {
  let clientCpu = process.cpuUsage();
  let atStart: Promise<unknown> | undefined;
  let before: Histogram | undefined;
  const load = await runConnectionGroups({ host: '127.0.0.1', port, ca: caPem }, groups, {
    warmupMs: warmupS * 1000,
    durationMs: durationS * 1000,
    onMeasureStart: () => {
      clientCpu = process.cpuUsage();
      atStart = Promise.all([server.stats(), histogramAt?.().then((v) => (before = v))]);
      return atStart;
    },
  });
  const cpu = process.cpuUsage(clientCpu);
  await atStart;
  const [stats, after] = await Promise.all([server.stats(), histogramAt?.()]);
  return {
    measured: { load, server: stats, clientCpuMs: (cpu.user + cpu.system) / 1000 },
    ingest: before && after ? histogramDelta(before, after) : undefined,
  };
}

// ---------------------------------------------------------------------------------------------------
// setup

interface Manifest {
  manifestVersion: number;
  deployments: { deploymentId: string }[];
}

async function setup(ready: WfmReady, tls: TlsFiles, clientIds: string[], svids: Map<string, ClientSvid>) {
  const deviceOwners = Array.from({ length: DEVICES }, (_, i) => ({
    clientId: clientIds[i % CLIENTS],
    deviceId: `edge-${String(i).padStart(5, '0')}`,
  }));
  const agents = new Map(
    clientIds.map((id) => [id, new https.Agent({ keepAlive: true, maxSockets: 4 })] as const),
  );
  const mtls = (clientId: string) => {
    const svid = svids.get(clientId)!;
    return {
      ca: tls.caPem,
      cert: svid.certChainPem,
      key: svid.keyPem,
      agent: agents.get(clientId),
      timeoutMs: 20_000,
    };
  };
  try {
    const pkg = await h.operator(ready, tls, 'POST', '/operator/v1/applications', { yaml: linePackage() });
    if (pkg.status !== 201) throw new Error(`package: HTTP ${pkg.status} ${pkg.text()}`);
    h.log(`reporting ${DEVICES} compose-only devices over ${CLIENTS} clients`);
    await forEachLimit(deviceOwners, 16, async (d) => {
      const res = await request(new URL(`/api/v1/capabilities/${d.deviceId}`, ready.url), {
        ...mtls(d.clientId),
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: capabilityBody(d.deviceId, { deploymentTypes: ['compose'], labels: { site: 'plant-1' } }),
      });
      if (res.status !== 201) throw new Error(`capabilities ${d.deviceId}: HTTP ${res.status} ${res.text()}`);
    });
    h.log(`creating ${DEVICES} deployments (one per device)`);
    const createDeployment = async (d: { clientId: string; deviceId: string }) => {
      const res = await h.operator(ready, tls, 'POST', '/operator/v1/deployments', {
        json: {
          applicationId: APPLICATION_ID,
          parameters: { siteId: 'DE-001' },
          target: { clientId: d.clientId, deviceId: d.deviceId },
        },
      });
      if (res.status !== 201) throw new Error(`deployment ${d.deviceId}: HTTP ${res.status} ${res.text()}`);
    };
    // the first one alone: concurrent first reads of the fleet settings race on their upsert (the
    // service answers 500, fleet_settings_pkey violated, after it has created the deployment)
    await createDeployment(deviceOwners[0]);
    await forEachLimit(deviceOwners.slice(1), 4, createDeployment);
    const perClient = new Map(
      clientIds.map((id) => [id, deviceOwners.filter((d) => d.clientId === id).length]),
    );
    const targets: Target[] = [];
    const t0 = performance.now();
    await forEachLimit(clientIds, 4, async (clientId) => {
      const want = perClient.get(clientId)!;
      for (;;) {
        const res = await request(new URL('/api/v1/deployments', ready.url), {
          ...mtls(clientId),
          headers: { accept: MANIFEST_TYPE },
        });
        if (res.status !== 200) throw new Error(`manifest of ${clientId}: HTTP ${res.status} ${res.text()}`);
        const m = res.json<Manifest>();
        if (m.deployments.length === want) {
          for (const d of m.deployments) {
            targets.push({
              clientId,
              deploymentId: d.deploymentId,
              manifestVersion: m.manifestVersion,
              sent: 0,
              acked: 0,
              rejected: 0,
            });
          }
          return;
        }
        if (performance.now() - t0 > SETUP_TIMEOUT_MS) {
          throw new Error(`the manifest of ${clientId} lists ${m.deployments.length} of ${want} deployments`);
        }
        await sleep(500);
      }
    });
    const drained = await h.waitQueueIdle(60_000);
    h.log(
      `every manifest lists its deployments after ${((performance.now() - t0) / 1000).toFixed(1)} s; ` +
        `queue idle after ${drained?.toFixed(1) ?? '> 60'} s more`,
    );
    // one report by hand (counted like the others): the body is what the service accepts
    const first = targets[0];
    first.sent = 1;
    const check = await request(new URL(`/api/v1/deployments/${first.deploymentId}/status`, ready.url), {
      ...mtls(first.clientId),
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: statusBody(first, 1),
    });
    if (check.status !== 201) throw new Error(`first status report: HTTP ${check.status} ${check.text()}`);
    first.acked = 1;
    return targets;
  } finally {
    for (const a of agents.values()) a.destroy();
  }
}

// ---------------------------------------------------------------------------------------------------

interface StoredRow {
  deployment_id: string;
  rows: string;
  states: string[];
  reports: string | null;
}

await h.run(async () => {
  h.log(`starting the service (api and worker roles in one process; database ${h.dbName})`);
  const { child: wfm, ready: r } = await h.startService({ name: 'wfm', roles: 'api,worker' });
  const ready = r!;
  const tls = await h.tlsFiles(ready);
  const clientIds = Array.from({ length: CLIENTS }, (_, i) => `status-${String(i).padStart(3, '0')}`);
  h.log(`accepting ${CLIENTS} clients and minting their SVIDs`);
  const svids = await h.enrol(ready, tls, clientIds);
  const targets = await setup(ready, tls, clientIds, svids);
  const byClient = new Map(clientIds.map((id) => [id, targets.filter((t) => t.clientId === id)]));
  const manifestVersions = [...new Set(targets.map((t) => t.manifestVersion))].sort((a, b) => a - b);

  const baseline = await h.startBaseline(tls, ready.sessionLifetimeSeconds, {
    body: '',
    contentType: 'text/plain',
    readBody: true,
  });
  const baselineTargets = new Map(
    clientIds.map((id) => [id, byClient.get(id)!.map((t) => ({ ...t, sent: 0, acked: 0, rejected: 0 }))]),
  );
  const connectionsOf = (i: number) =>
    Math.floor(CONCURRENCY / CLIENTS) + (i < CONCURRENCY % CLIENTS ? 1 : 0);
  const overlaps = { wfm: 0, baseline: 0 };
  const loads: ClientLoad[] = [];
  const groupsFor = (side: 'wfm' | 'baseline') =>
    clientIds.map((id, i) => {
      // a fresh free list per window: a deployment whose answer a window's end dropped is free again
      const load = new ClientLoad(
        side === 'wfm' ? byClient.get(id)! : baselineTargets.get(id)!,
        side === 'wfm',
      );
      loads.push(load);
      return load.group(svids.get(id)!, connectionsOf(i));
    });

  const quiet = await waitForQuietMachine();
  h.log(`other benchmarks: ${quiet}`);
  const parts: Record<'wfm' | 'baseline', Measured[]> = { wfm: [], baseline: [] };
  const ingest: Histogram[] = [];
  const sliceS = DURATION_S / ROUNDS;
  h.log(`${ROUNDS} × ${sliceS.toFixed(1)} s per side after ${WARMUP_S} s warm-up, C=${CONCURRENCY}`);
  const seen = { wfm: 0, baseline: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    for (const side of round % 2 === 0 ? (['wfm', 'baseline'] as const) : (['baseline', 'wfm'] as const)) {
      const warmupS = seen[side] === 0 ? WARMUP_S : INTER_ROUND_WARMUP_S;
      seen[side] += 1;
      const before = loads.length;
      const { measured, ingest: delta } = await measureWindow(
        side === 'wfm' ? wfm : baseline.child,
        side === 'wfm' ? ready.port : baseline.port,
        groupsFor(side),
        warmupS,
        sliceS,
        tls.caPem,
        side === 'wfm' ? () => scrape(ready, tls) : undefined,
      );
      overlaps[side] += loads.slice(before).reduce((n, l) => n + l.overlaps, 0);
      parts[side].push(measured);
      if (delta) ingest.push(delta);
      h.log(
        `  ${side}: ${measured.load.rps.toFixed(0)} req/s, p50 ${measured.load.p50Ms.toFixed(1)} ms, ` +
          `p99 ${measured.load.p99Ms.toFixed(1)} ms, ${measured.load.errors} errors`,
      );
    }
  }
  const loadAvgAfter = os.loadavg();

  // Zero loss: what the load generator saw answered against what the bench database holds.
  await sleep(2_000); // requests whose answer a window's end dropped have finished on the server
  const { rows } = await h.db().query<StoredRow>(
    `SELECT r.deployment_id, count(*) AS rows, array_agg(r.state ORDER BY r.id) AS states,
            (SELECT s.reports FROM deployment_status s
              WHERE s.deployment_id = r.deployment_id LIMIT 1)::text AS reports
       FROM deployment_status_report r
      WHERE r.deployment_id = ANY($1::text[])
      GROUP BY r.deployment_id`,
    [targets.map((t) => t.deploymentId)],
  );
  const stored = new Map(rows.map((row) => [row.deployment_id, row]));
  let sent = 0;
  let acked = 0;
  let rejected = 0;
  let storedRows = 0;
  let counted = 0;
  let lost = 0;
  let lostTargets = 0;
  let extra = 0;
  let unexplained = 0;
  let alternating = 0;
  let maxPerTarget = 0;
  for (const t of targets) {
    const row = stored.get(t.deploymentId);
    const n = Number(row?.rows ?? 0);
    const unanswered = t.sent - t.acked - t.rejected;
    sent += t.sent;
    acked += t.acked;
    rejected += t.rejected;
    storedRows += n;
    counted += Number(row?.reports ?? 0);
    maxPerTarget = Math.max(maxPerTarget, t.sent);
    if (n < t.acked) {
      lost += t.acked - n;
      lostTargets += 1;
    } else if (n > t.acked) {
      extra += n - t.acked;
      if (n - t.acked > unanswered) unexplained += n - t.acked - unanswered;
    }
    // one report at a time per deployment: row i is report i, so the states alternate from 'installing'
    if ((row?.states ?? []).every((s, i) => s === stateOf(i + 1))) alternating += 1;
  }
  const unansweredTotal = sent - acked - rejected;
  const capped = maxPerTarget >= HISTORY_LIMIT;
  const verdict =
    lost === 0 && !capped && unexplained === 0
      ? '**zero loss**: every report answered 2xx is stored'
      : capped
        ? `**not decided**: a deployment received ${maxPerTarget} reports, at or over the history cap of ${HISTORY_LIMIT}`
        : `**LOSS**: ${lost} reports answered 2xx are missing (on ${lostTargets} deployments); ${unexplained} stored rows more than were sent`;

  const wfmMerged = mergeMeasured(parts.wfm);
  const caseResult: CaseResult = {
    title:
      `POST /api/v1/deployments/{id}/status, kept-alive mTLS, ${CLIENTS} clients, ` +
      `${DEVICES} devices and deployments`,
    concurrency: CONCURRENCY,
    wfm: wfmMerged,
    baseline: mergeMeasured(parts.baseline),
    roundRatios: parts.wfm.map((w, i) => w.load.rps / parts.baseline[i].load.rps),
  };
  const hist = histogramSum(ingest);
  const w = wfmMerged.load;
  const statusKinds = Object.entries(w.errorKinds)
    .map(([k, v]) => `${fmt(v)}× ${k}`)
    .join(', ');

  const section = [
    `Measured ${h.started.toISOString().slice(0, 10)} with \`${COMMAND}\` (${os.cpus().length} CPUs, Node ${process.version}).`,
    '',
    'What it compares: `POST /api/v1/deployments/{deploymentId}/status` of the real service (API and worker roles in ' +
      'one process, Postgres, Redis; rate limit off, log level warn) from ' +
      `${CLIENTS} accepted rc.3 clients (each its own X.509-SVID) over ${CONCURRENCY} kept-alive connections. ` +
      `Setup through the operator API: one package (\`linePackage()\`), ${DEVICES} compose-only devices ` +
      `(${DEVICES / CLIENTS} per client), one deployment per device; each client's manifest (version ` +
      `${manifestVersions.join(', ')}) lists its ${DEVICES / CLIENTS} ApplicationDeployments. Every report is valid: ` +
      `\`{deploymentId, adoptedManifestVersion: <the client's manifestVersion>, status: {state}, components: ` +
      `[{name: '${COMPONENT}', state}]}\`, the state alternating installing/installed per deployment; no ` +
      'deployment is reported on two connections at once. Each report is a transaction (upsert of the current ' +
      'status, a history row, the history trim) plus the target lookup, the manifest-floor check and a ' +
      '`status.changed` event. Baseline: a bare Node `https.createServer` with the same certificate and TLS ' +
      'options, the same client certificates and bodies, that reads the body and answers 200. Ratio = WFM / ' +
      `baseline requests/s (in brackets: lowest–highest of the ${ROUNDS} alternating rounds).`,
    '',
    mainTable([caseResult]),
    '',
    `WFM answers in the measured windows: ${fmt(w.ok)} 2xx${statusKinds ? `, ${statusKinds}` : ''}.`,
    '',
    '### Latency: HTTP (load generator) and ingest (service)',
    '',
    table(
      ['Measure', 'Reports', 'mean ms', 'p50 ms', 'p99 ms'],
      [
        [
          'HTTP, request written → answer read (autocannon)',
          fmt(w.ok),
          ms(w.latenciesMs.reduce((s, v) => s + v, 0) / Math.max(1, w.latenciesMs.length)),
          ms(w.p50Ms),
          ms(w.p99Ms),
        ],
        [
          `server-side ingest, \`${METRIC}\` (validate, look up, store)`,
          fmt(hist.count),
          ms((1000 * hist.sum) / Math.max(1, hist.count)),
          ms(1000 * quantile(hist, 0.5)),
          ms(1000 * quantile(hist, 0.99)),
        ],
      ],
      ['l', 'r', 'r', 'r', 'r'],
    ),
    '',
    `- Ingest figures: bucket deltas of the histogram between scrapes of \`GET /metrics\` at the start and the end ` +
      `of each measured WFM window, summed over the windows; quantiles interpolated linearly inside the bucket ` +
      `(as \`histogram_quantile\`; bounds ${[...hist.buckets.keys()]
        .filter(Number.isFinite)
        .map((b) => b * 1000)
        .join(
          ', ',
        )} ms), so they are as coarse as the buckets. The histogram times the service's \`report()\` ` +
      '(parse, target lookup, floor check, transaction); the HTTP figure adds TLS, Express/Nest, the guard and ' +
      'the queueing of 50 connections on one event loop and one connection pool.',
    '',
    '### Zero loss',
    '',
    table(
      ['Reports to the WFM (whole run, warm-ups included)', 'Count'],
      [
        ['sent (built and written by the load generator, plus 1 by hand)', fmt(sent)],
        ['answered 2xx', fmt(acked)],
        ['answered otherwise', fmt(rejected)],
        ["unanswered (in flight when a window's load generator stopped)", fmt(unansweredTotal)],
        ['rows in `deployment_status_report` for these deployments', fmt(storedRows)],
        ['`deployment_status.reports` (the service’s own counter, not capped)', fmt(counted)],
        ['answered 2xx but not stored (lost)', fmt(lost)],
        ['stored but not answered (answer dropped at a window end; the service stored it)', fmt(extra)],
      ],
      ['l', 'r'],
    ),
    '',
    `- Verdict: ${verdict}.`,
    `- Per deployment: stored rows ≥ reports answered 2xx on ${fmt(targets.length - lostTargets)} of ` +
      `${fmt(targets.length)}; stored rows above the answered ones but within the unanswered ones everywhere ` +
      `(${unexplained === 0 ? 'yes' : `no: ${unexplained} rows unexplained`}); history is exactly reports 1…n in ` +
      `order (installing, installed, …) on ${fmt(alternating)} of ${fmt(targets.length)}.`,
    `- History cap: the service keeps ${HISTORY_LIMIT} reports per (deployment, device); the busiest deployment ` +
      `received ${fmt(maxPerTarget)} (mean ${fmt(sent / targets.length, 1)}), so ${capped ? 'the cap WAS reached and the row count is a lower bound' : 'nothing was trimmed'}.`,
    `- Deployments reused while still in flight (a lost answer): WFM ${overlaps.wfm}, baseline ${overlaps.baseline}.`,
    '',
    '### Where the time goes',
    '',
    detailTable([caseResult]),
    '',
    '### Machine',
    '',
    ...h
      .machineLines(COMMAND)
      .map((line) =>
        line.startsWith('- Load average after')
          ? `- Load average after the measurements ${loadAvgAfter.map((n) => n.toFixed(2)).join(' ')} (other work on the machine shows here)`
          : line,
      ),
    `- Other benchmarks (\`pgrep -f dist-bench/bench/\`) before measuring: ${quiet}.`,
    `- Each figure: ${WARMUP_S} s warm-up, then ${DURATION_S} s measured per side, in ${ROUNDS} windows that ` +
      `alternate between the WFM and the baseline (${INTER_ROUND_WARMUP_S} s warm-up before each later window); ` +
      'closed loop (autocannon, one instance per client with its SVID), from the parent process; the service ' +
      'and the baseline each run in a child process.',
  ].join('\n');
  const file = await writeResult(
    h.resultsDir,
    `status-${h.stamp}.md`,
    `# Status report benchmark, ${h.started.toISOString()}\n\n${section}\n`,
  );
  if (UPDATES_README) await updateReadme(h.readmePath, section, SECTION);
  process.stdout.write(`\n${section}\n`);
  h.log(`wrote ${file}${UPDATES_README ? ' and bench/README.md' : ''}`);
  if (lost > 0) throw new Error(`${lost} reports answered 2xx are not stored`);
});
