/**
 * Load and fault runs: a fleet of simulated Margo devices (src/simulator) against the service, and the
 * same with PostgreSQL or Redis unreachable for 20 s in the middle of the measured window.
 *
 * The service runs as two child processes, the API (WFM_ROLES=api) and the worker (WFM_ROLES=worker),
 * with the service's defaults (rate limit 600/min per client, log level warn), on a throw-away database
 * and Redis prefix. Setup: the example package examples/line-monitor (a Helm profile: 2 cores, 1Gi) is
 * published and deployed to the selector `site=plant-1`, which every simulated device carries; then
 * `--devices` rc.3 agents enroll (an X.509-SVID each from the development CA, accepted through the
 * operator API over one kept-alive connection pool) and start as soon as each is enrolled: report
 * their capabilities (random: arm64/amd64, 2–8 cores, 2–16Gi, compose and/or helm), poll the manifest
 * every `--poll` s (±20 % jitter) with If-None-Match over their own kept-alive mutual-TLS connection,
 * fetch and verify what changed, "install" it (`--install-delay`) and report every transition. Devices
 * that support Helm get line-monitor; the others are not placeable. The measured window starts once
 * every device has polled, every placed deployment is reported installed for its manifest version and
 * the recompute queue is idle. During the window `--churn` of the devices per minute report changed
 * capabilities (which moves some in or out of placement: installs, removals, status reports).
 *
 * `--fault postgres|redis`: the API and the worker reach that dependency through a TCP proxy (its own
 * child process; the bench's own connections go direct); `--cut-for` s after `--cut-at` s of the window
 * the proxy drops every connection and refuses new ones, then accepts again. The shared services are
 * never touched.
 *
 * Figures, from the simulator side (every call of every agent, src/simulator/recorder.ts): requests/s
 * and p50/p99 per route, errors, per 10 s in the fault runs; CPU (from /proc/<pid>/stat) and resident
 * memory (VmRSS) of the API, the worker, the proxy and the simulator process, sampled every second;
 * Postgres transactions; and zero loss: per (client, deployment), the status reports the agents saw
 * acknowledged with 2xx (setup and window) against the rows of `deployment_status_report` at the end.
 *
 *   npx tsc -p bench/tsconfig.json && node dist-bench/bench/fleet-load.js [--fault postgres|redis]
 *     [--devices 10000] [--duration 180] [--poll 30] [--churn 0.01] [--cut-at 80] [--cut-for 20]
 *     [--install-delay 1000] [--settle-timeout 900] [--no-wait] [--no-readme]
 *
 * Waits (up to 10 minutes) until no other benchmark runs. A run with the default shape (only --fault
 * and --no-wait given) rewrites its section in bench/README.md; every run writes
 * bench/results/fleet-load-<mode>-<timestamp>.md and a JSON file with the raw figures.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import https from 'node:https';
import os from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { type ClientSvid, issueClientSvid } from '../src/client/identities.js';
import { Rc3Client } from '../src/client/margo-client.js';
import { request } from '../src/client/transport.js';
import { readExample } from '../src/simulator/demo.js';
import { Fleet, type WfmAccess } from '../src/simulator/fleet.js';
import {
  type CallSample,
  CallRecorder,
  isSuccess,
  percentile,
  type RouteStats,
  routeStats,
} from '../src/simulator/recorder.js';
import {
  forEachLimit,
  Harness,
  positive,
  postgresCpuBetween,
  procCpuMs,
  procMemory,
  sleep,
  type DatabaseActivity,
} from './lib/harness.js';
import {
  countAbove,
  gauge,
  histogramQuantile,
  histogramsBetween,
  parseMetrics,
  type PromSample,
} from './lib/prom.js';
import { waitForQuietMachine } from './lib/quiet.js';
import { fmt, ms, table, updateReadme, writeResult } from './lib/report.js';
import { hostPort, ProxyProcess, viaProxy } from './lib/tcp-proxy.js';

const { values: args } = parseArgs({
  options: {
    fault: { type: 'string', default: 'none' },
    devices: { type: 'string', default: '10000' },
    duration: { type: 'string', default: '180' },
    poll: { type: 'string', default: '30' },
    churn: { type: 'string', default: '0.01' },
    'cut-at': { type: 'string', default: '80' },
    'cut-for': { type: 'string', default: '20' },
    'install-delay': { type: 'string', default: '1000' },
    'ramp-up': { type: 'string' },
    'settle-timeout': { type: 'string', default: '900' },
    'no-wait': { type: 'boolean', default: false },
    'no-readme': { type: 'boolean', default: false },
    /** V8 CPU profiles of the API and the worker into bench/results/ (the JSON result has the window's bounds). */
    'cpu-prof': { type: 'boolean', default: false },
  },
});

type Fault = 'none' | 'postgres' | 'redis';
const FAULT = args.fault as Fault;
if (!['none', 'postgres', 'redis'].includes(FAULT)) throw new Error('--fault must be postgres or redis');
const DEVICES = Math.round(positive('devices', args.devices, 50_000));
const DURATION_S = positive('duration', args.duration, 3600);
const POLL_S = positive('poll', args.poll, 600);
const CHURN = Number(args.churn);
if (!Number.isFinite(CHURN) || CHURN < 0 || CHURN > 1) throw new Error('--churn must be in [0, 1]');
const CUT_AT_S = positive('cut-at', args['cut-at'], 3600);
const CUT_FOR_S = positive('cut-for', args['cut-for'], 600);
if (FAULT !== 'none' && CUT_AT_S + CUT_FOR_S >= DURATION_S) {
  throw new Error('--cut-at + --cut-for must end inside --duration');
}
const INSTALL_DELAY_MS = Number(args['install-delay']);
const SETTLE_TIMEOUT_S = positive('settle-timeout', args['settle-timeout'], 3600);
/** Agents start spread over this (default: 25 per second, what the API absorbs here without queueing much). */
const RAMP_UP_S = args['ramp-up'] === undefined ? DEVICES / 25 : positive('ramp-up', args['ramp-up'], 3600);
const DRAIN_TIMEOUT_S = 150;
const OTHER_BENCH_WAIT_MS = args['no-wait'] ? 0 : 600_000;
const ENROLL_CONCURRENCY = 16;
const SELECTOR = { site: 'plant-1' };
const APPLICATION_ID = 'com-example-line-monitor';
const BUCKET_S = 10;
const EVENT_LOOP_RESOLUTION_MS = 2;
/** prom-client's event-loop monitor in the service samples every 10 ms (its default). */
const SERVICE_EVENT_LOOP_RESOLUTION_S = 0.01;

const COMMAND = [
  'npx tsc -p bench/tsconfig.json && node dist-bench/bench/fleet-load.js',
  ...process.argv.slice(2),
].join(' ');
const defaultShape = process.argv
  .slice(2)
  .every((a, i, all) => a === '--no-wait' || a.startsWith('--fault') || all[i - 1] === '--fault');
const UPDATES_README = defaultShape && !args['no-readme'] && !args['cpu-prof'];
const SECTIONS: Record<Fault, string> = {
  none: '## A fleet of 10,000 simulated devices (simulator, all modules)',
  postgres: '## The fleet while PostgreSQL is unreachable for 20 s (simulator, all modules)',
  redis: '## The fleet while Redis is unreachable for 20 s (simulator, all modules)',
};

const h = new Harness(
  `fleet-load${FAULT === 'none' ? '' : `-${FAULT}`}`,
  OTHER_BENCH_WAIT_MS / 1000 +
    180 +
    DEVICES / 10 +
    RAMP_UP_S +
    SETTLE_TIMEOUT_S +
    DURATION_S +
    DRAIN_TIMEOUT_S +
    120,
);

// ---------------------------------------------------------------------------------------------------
// sampling

interface Sample {
  /** Epoch ms. */
  at: number;
  cpuMs: Record<string, number>;
  rssMiB: Record<string, number>;
  /** Recompute jobs not finished (waiting, delayed, active); NaN when it could not be read. */
  backlog: number;
  /** Devices whose capability version is ahead of the last recomputation. */
  lag: number;
  unsent: number;
  ready: number;
}

interface Proc {
  name: string;
  pid: number | undefined;
}

class Sampler {
  readonly samples: Sample[] = [];
  private running = true;
  private done?: Promise<void>;
  private readonly agent: https.Agent;

  constructor(
    private readonly procs: Proc[],
    private readonly probe: () => Promise<{ backlog: number; lag: number; unsent: number }>,
    private readonly readyUrl: string,
    private readonly ca: string,
  ) {
    this.agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
  }

  start(): void {
    this.done = (async () => {
      while (this.running) {
        const next = Date.now() + 1000;
        await this.take();
        await sleep(Math.max(0, next - Date.now()));
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
    this.agent.destroy();
  }

  private async take(): Promise<void> {
    const at = Date.now();
    const cpuMs: Record<string, number> = {};
    const rssMiB: Record<string, number> = {};
    for (const p of this.procs) {
      if (p.pid === undefined) continue;
      cpuMs[p.name] = procCpuMs(p.pid);
      rssMiB[p.name] = procMemory(p.pid)?.rssMiB ?? Number.NaN;
    }
    cpuMs.machine = machineBusyMs();
    const ready = request(this.readyUrl, { agent: this.agent, ca: this.ca, timeoutMs: 2_000 }).then(
      (r) => r.status,
      () => 0,
    );
    const [probe, status] = await Promise.all([
      this.probe().catch(() => ({ backlog: Number.NaN, lag: Number.NaN, unsent: Number.NaN })),
      ready,
    ]);
    this.samples.push({ at, cpuMs, rssMiB, ...probe, ready: status });
  }
}

/** CPU time all processes of the machine have spent so far (/proc/stat: all but idle and iowait), in ms. */
function machineBusyMs(): number {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) * 10; // user nice system irq softirq steal, 100 ticks/s
  } catch {
    return Number.NaN;
  }
}

const OWN_PROCESSES = ['api', 'worker', 'simulator', 'proxy'];

/** CPU % of one core of everything but the WFM processes, the simulator and the proxy between two samples. */
function otherPercent(a: Sample, b: Sample): number {
  return cpuPercent(a, b, 'machine') - OWN_PROCESSES.reduce((n, name) => n + cpuPercent(a, b, name), 0);
}

/** Commands of the shared Redis slower than its slowlog threshold, started in [from, to) (epoch ms). */
async function redisSlowlog(url: string, from: number, to: number, prefix: string) {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    const threshold = Number((await redis.config('GET', 'slowlog-log-slower-than'))[1]);
    const entries = (await redis.slowlog('GET', 128)) as [number, number, number, string[]][];
    const inWindow = entries.filter(([, at]) => at * 1000 >= from && at * 1000 < to);
    return {
      thresholdMs: threshold / 1000,
      count: inWindow.length,
      ours: inWindow.filter(([, , , argv]) => argv.some((a) => String(a).startsWith(`${prefix}:`))).length,
      maxMs: Math.max(0, ...inWindow.map(([, , us]) => us / 1000)),
    };
  } catch {
    return undefined;
  } finally {
    redis.disconnect();
  }
}

/** CPU % of one core of `name` between two samples. */
function cpuPercent(a: Sample, b: Sample, name: string): number {
  return (100 * ((b.cpuMs[name] ?? 0) - (a.cpuMs[name] ?? 0))) / Math.max(1, b.at - a.at);
}

// ---------------------------------------------------------------------------------------------------
// classification of the agents' calls

/** A 503 as the service promises it while a dependency is down: problem+json with Retry-After. */
const isGood503 = (s: CallSample) => s.status === 503 && s.problemJson === true && s.retryAfter === true;
const isFailure = (s: CallSample) => !isSuccess(s);

function statusesText(statuses: Map<number, number>): string {
  return [...statuses]
    .sort(([a], [b]) => a - b)
    .map(([s, n]) => `${fmt(n)}× ${s === 0 ? 'no answer' : s}`)
    .join(', ');
}

/** Per-route rows, plus the manifest poll split by answer (304 / 200). */
function routeRows(samples: CallSample[], seconds: number): (string | number)[][] {
  const stats = routeStats(samples);
  const polls = samples.filter((s) => s.kind === 'manifest');
  const split = (status: number) =>
    routeStats(
      polls.filter((s) => s.status === status).map((s) => ({ ...s, route: `${s.route} → ${status}` })),
    );
  const rows: RouteStats[] = [];
  for (const r of stats) {
    rows.push(r);
    if (r.kind === 'manifest') rows.push(...split(304), ...split(200));
  }
  const all = [...samples].map((s) => s.ms).sort((a, b) => a - b);
  return [
    ...rows.map((r) => [
      r.route.includes('→') ? `  ${r.route.replace(/^GET \S+ /, '… ')}` : `\`${r.route}\``,
      fmt(r.count),
      fmt(r.count / seconds, 1),
      statusesText(r.statuses),
      ms(r.p50Ms),
      ms(r.p99Ms),
      ms(r.maxMs),
      r.route.includes('→') ? '' : fmt(r.count - r.successes),
    ]),
    [
      '**all device requests**',
      fmt(samples.length),
      fmt(samples.length / seconds, 1),
      '',
      ms(percentile(all, 50)),
      ms(percentile(all, 99)),
      ms(all.at(-1) ?? Number.NaN),
      fmt(samples.filter(isFailure).length),
    ],
  ];
}

/** Error messages the agents saw, grouped with ids and numbers masked, most frequent first. */
class ErrorKinds {
  private readonly kinds = new Map<string, number>();
  add(message: string): void {
    const key = message
      .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '<id>')
      .replace(/edge-\d+/g, 'edge-<n>')
      .replace(/:\d{2,5}\b/g, ':<port>');
    this.kinds.set(key, (this.kinds.get(key) ?? 0) + 1);
  }
  top(n: number): [string, number][] {
    return [...this.kinds].sort((a, b) => b[1] - a[1]).slice(0, n);
  }
}

// ---------------------------------------------------------------------------------------------------

interface Convergence {
  devices: number;
  placed: number;
  notPlaceable: number;
  installed: number;
}

async function convergence(deploymentId: string): Promise<Convergence> {
  const { rows } = await h.db().query<Record<keyof Convergence, string>>(
    `SELECT (SELECT count(*) FROM device WHERE deleted_at IS NULL) AS devices,
            count(*) FILTER (WHERE t.placement = 'placed' AND t.in_manifest) AS placed,
            count(*) FILTER (WHERE t.placement <> 'placed') AS "notPlaceable",
            count(*) FILTER (WHERE t.placement = 'placed' AND t.in_manifest AND s.state = 'installed'
                               AND s.adopted_manifest_version >= t.manifest_version) AS installed
       FROM deployment_target t
       LEFT JOIN deployment_status s
              ON s.client_id = t.client_id AND s.deployment_id = t.id::text AND s.device_id = t.device_id
      WHERE t.deployment_id = $1::uuid`,
    [deploymentId],
  );
  const r = rows[0];
  return {
    devices: Number(r.devices),
    placed: Number(r.placed),
    notPlaceable: Number(r.notPlaceable),
    installed: Number(r.installed),
  };
}

async function recomputeLag(): Promise<number> {
  const { rows } = await h
    .db()
    .query<{ n: string }>(
      'SELECT count(*) AS n FROM device WHERE deleted_at IS NULL AND recomputed_version < capability_version',
    );
  return Number(rows[0].n);
}

function activityDelta(a: DatabaseActivity, b: DatabaseActivity): DatabaseActivity {
  return {
    commits: b.commits - a.commits,
    returned: b.returned - a.returned,
    fetched: b.fetched - a.fetched,
    inserted: b.inserted - a.inserted,
    updated: b.updated - a.updated,
    deleted: b.deleted - a.deleted,
  };
}

const secondsBetween = (a: number, b: number) => (b - a) / 1000;
const signed = (s: number) => (Number.isFinite(s) ? `${s >= 0 ? '+' : ''}${s.toFixed(1)} s` : '–');

await h.run(async () => {
  const quiet = await waitForQuietMachine(OTHER_BENCH_WAIT_MS, (l) => h.log(l));
  h.log(`other benchmarks: ${quiet}`);

  const env: Record<string, string> = { WFM_RATE_LIMIT_PER_MINUTE: '600' };
  let proxy: ProxyProcess | undefined;
  if (FAULT !== 'none') {
    proxy = new ProxyProcess();
    const upstream = FAULT === 'postgres' ? hostPort(h.databaseUrl, 5432) : hostPort(h.redisUrl, 6379);
    const port = await proxy.start(upstream.host, upstream.port);
    if (FAULT === 'postgres') env.DATABASE_URL = viaProxy(h.databaseUrl, port);
    else env.REDIS_URL = viaProxy(h.redisUrl, port);
    h.log(`${FAULT} of the service through the proxy on 127.0.0.1:${port} (pid ${proxy.pid})`);
  }
  try {
    await main(proxy, env, quiet);
  } finally {
    await proxy?.stop();
  }
});

async function main(proxy: ProxyProcess | undefined, env: Record<string, string>, quiet: string) {
  h.log(`starting the API and the worker (database ${h.dbName}, Redis prefix ${h.queuePrefix})`);
  const cpuProfile = args['cpu-prof'];
  const { child: api, ready: r } = await h.startService({ name: 'api', roles: 'api', env, cpuProfile });
  const { child: worker } = await h.startService({ name: 'worker', roles: 'worker', env, cpuProfile });
  const ready = r!;
  const tls = await h.tlsFiles(ready);
  const issuer = await h.issuer(ready, tls);

  const pkg = await h.operator(ready, tls, 'POST', '/operator/v1/applications', {
    yaml: await readExample('line-monitor/margo.yaml'),
  });
  if (pkg.status !== 201) throw new Error(`publishing the package: HTTP ${pkg.status} ${pkg.text()}`);
  const created = await h.operator(ready, tls, 'POST', '/operator/v1/deployments', {
    json: {
      applicationId: APPLICATION_ID,
      version: '2.1.0',
      parameters: { lineName: 'Load line', siteId: 'DE-001', sampleRate: 10 },
      target: { selector: { matchLabels: SELECTOR } },
    },
  });
  if (created.status !== 201) throw new Error(`deployment: HTTP ${created.status} ${created.text()}`);
  const deploymentId = created.json<{ id: string }>().id;

  // --- the fleet -----------------------------------------------------------------------------------
  const recorder = new CallRecorder();
  const errorKinds = new ErrorKinds();
  const access: WfmAccess = {
    url: ready.url,
    ca: tls.caPem,
    adminToken: ready.adminToken,
    issuer,
    wfmSpiffeId: ready.spiffeId,
  };
  // Enrollment first (not measured): an SVID per agent, accepted through the operator API.
  const enrollStart = Date.now();
  h.log(`enrolling ${DEVICES} rc.3 clients (${ENROLL_CONCURRENCY} at a time)`);
  let mintMs = 0;
  let acceptMs = 0;
  const names = Array.from({ length: DEVICES }, (_, i) => `load-${i + 1}`);
  const identities = new Map<string, ClientSvid>();
  await forEachLimit(names, ENROLL_CONCURRENCY, async (name) => {
    let t = performance.now();
    const svid = await issueClientSvid(issuer, name);
    mintMs += performance.now() - t;
    t = performance.now();
    const res = await h.operator(ready, tls, 'PUT', `/operator/v1/clients/${name}`);
    acceptMs += performance.now() - t;
    if (res.status !== 201 && res.status !== 200) {
      throw new Error(`accepting ${name}: HTTP ${res.status} ${res.text().slice(0, 200)}`);
    }
    identities.set(name, svid);
    if (identities.size % 2000 === 0) h.log(`  ${identities.size} enrolled`);
  });
  const enrolledAt = Date.now();
  h.log(`enrolled in ${secondsBetween(enrollStart, enrolledAt).toFixed(0)} s`);

  const fleet = new Fleet({
    access,
    devices: DEVICES,
    profile: 'rc3',
    pollIntervalMs: POLL_S * 1000,
    installDelayMs: INSTALL_DELAY_MS,
    prefix: 'load',
    enrollConcurrency: 64,
    rampUpMs: RAMP_UP_S * 1000,
    recorder,
    enroll: (name) => {
      const svid = identities.get(name);
      if (!svid) return Promise.reject(new Error(`no identity for ${name}`));
      const client = new Rc3Client({
        baseUrl: ready.url,
        ca: tls.caPem,
        certChainPem: svid.certChainPem,
        keyPem: svid.keyPem,
        wfmSpiffeId: ready.spiffeId,
      });
      return Promise.resolve({ client, clientId: name });
    },
    onEvent: (e) => {
      if (e.kind === 'error' || e.kind === 'security') errorKinds.add(`${e.kind}: ${e.message}`);
    },
  });

  const procs: Proc[] = [
    { name: 'api', pid: api.pid },
    { name: 'worker', pid: worker.pid },
    { name: 'simulator', pid: process.pid },
    ...(proxy ? [{ name: 'proxy', pid: proxy.pid }] : []),
  ];
  const sampler = new Sampler(
    procs,
    async () => {
      const [backlog, lag] = await Promise.all([h.recomputeBacklog(), recomputeLag()]);
      return { backlog, lag, unsent: fleet.stats().unsentReports };
    },
    new URL('/health/ready', ready.url).toString(),
    tls.caPem,
  );

  let fleetStopped = false;
  const stopFleet = async () => {
    if (fleetStopped) return;
    fleetStopped = true;
    await fleet.stop();
  };
  try {
    // --- setup: start, converge --------------------------------------------------------------------
    const setupStart = Date.now();
    h.log(`starting ${DEVICES} rc.3 agents spread over ${RAMP_UP_S.toFixed(0)} s`);
    const progress = setInterval(() => {
      const s = fleet.stats();
      h.log(
        `  enrolled ${s.enrolled}/${DEVICES}, polled ${s.polled}, installed ${s.installed}, ` +
          `status reports ${s.statusReports}, errors ${s.errors}`,
      );
    }, 15_000);
    await fleet.start();
    const startedAll = setupStart + RAMP_UP_S * 1000;
    if (fleet.stats().enrollFailures > 0) {
      throw new Error(
        `${fleet.stats().enrollFailures} agents failed to start: ${errorKinds.top(3).join('; ')}`,
      );
    }
    await sleep(startedAll - Date.now());
    clearInterval(progress);
    h.log('every agent has started; waiting for the fleet to converge');
    let conv = await convergence(deploymentId);
    let settledAt: number | undefined;
    let lastLog = 0;
    while (Date.now() - startedAll < SETTLE_TIMEOUT_S * 1000) {
      const s = fleet.stats();
      const backlog = await h.recomputeBacklog();
      conv = await convergence(deploymentId);
      if (
        s.polled === DEVICES &&
        conv.devices === DEVICES &&
        conv.placed > 0 &&
        conv.installed === conv.placed &&
        conv.placed + conv.notPlaceable === DEVICES &&
        backlog === 0 &&
        s.unsentReports === 0
      ) {
        settledAt = Date.now();
        break;
      }
      if (Date.now() - lastLog > 15_000) {
        lastLog = Date.now();
        h.log(
          `  polled ${s.polled}/${DEVICES}, devices ${conv.devices}, placed ${conv.placed} ` +
            `(installed ${conv.installed}), not placeable ${conv.notPlaceable}, backlog ${backlog}, ` +
            `errors ${s.errors}`,
        );
      }
      await sleep(2_000);
    }
    const setupStats = fleet.stats();
    const setupAcked = recorder.ackedTotal;
    const setupSamples = recorder.samples.length;
    if (settledAt === undefined) {
      h.log(`the fleet did NOT converge within ${SETTLE_TIMEOUT_S} s; measuring anyway`);
    } else {
      h.log(`converged ${secondsBetween(startedAll, settledAt).toFixed(0)} s after the last agent started`);
    }

    // --- the measured window --------------------------------------------------------------------------
    const eventLoop = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
    const gcPauses: number[] = [];
    const gcObserver = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) gcPauses.push(entry.duration);
    });
    const scrape = async (): Promise<PromSample[]> => {
      try {
        const res = await h.operator(ready, tls, 'GET', '/metrics', undefined, 10_000);
        return res.status === 200 ? parseMetrics(res.text()) : [];
      } catch {
        return [];
      }
    };
    const pgBefore = await h.postgresCpu();
    const dbBefore = await h.databaseActivity();
    sampler.start();
    await sleep(1_100); // a first sample before the window
    // The first scrape computes the `wfm_targets` gauge (a status summary over every target; cached 30 s);
    // the second restarts the API's event-loop delay histogram, so that it covers the window only.
    const scrapeStart = performance.now();
    await scrape();
    const firstScrapeMs = performance.now() - scrapeStart;
    const metricsBefore = await scrape();
    const scrapeStallMs =
      (gauge(metricsBefore, 'wfm_nodejs_eventloop_lag_max_seconds') - SERVICE_EVENT_LOOP_RESOLUTION_S) * 1000;
    const t0 = Date.now();
    const t0Mono = process.hrtime.bigint() / 1000n;
    eventLoop.enable();
    gcObserver.observe({ entryTypes: ['gc'] });
    fleet.setChurn(CHURN);
    const churnBefore = fleet.stats().capabilityChanges;
    h.log(
      `measuring ${DURATION_S} s: ${DEVICES} devices polling every ${POLL_S} s, churn ${CHURN}/min` +
        (FAULT === 'none' ? '' : `, ${FAULT} cut at +${CUT_AT_S} s for ${CUT_FOR_S} s`),
    );
    let cutAt = Number.NaN;
    let restoredAt = Number.NaN;
    let cutInfo = { accepted: 0, dropped: 0 };
    if (proxy) {
      await sleep(t0 + CUT_AT_S * 1000 - Date.now());
      cutAt = Date.now();
      cutInfo = await proxy.cut();
      h.log(`  ${FAULT} cut (${cutInfo.dropped} open connections dropped)`);
      await sleep(cutAt + CUT_FOR_S * 1000 - Date.now());
      await proxy.restore();
      restoredAt = Date.now();
      h.log(`  ${FAULT} reachable again`);
    }
    const windowProgress = setInterval(() => {
      const s = fleet.stats();
      h.log(
        `  +${secondsBetween(t0, Date.now()).toFixed(0)} s: errors ${s.errors}, unsent ${s.unsentReports}`,
      );
    }, 30_000);
    await sleep(t0 + DURATION_S * 1000 - Date.now());
    clearInterval(windowProgress);
    const tEnd = Date.now();
    const tEndMono = process.hrtime.bigint() / 1000n;
    fleet.setChurn(0);
    eventLoop.disable();
    gcObserver.disconnect();
    const metricsAfter = await scrape();
    const slowlog = await redisSlowlog(h.redisUrl, t0, tEnd, h.queuePrefix);
    const pgAfter = await h.postgresCpu();
    const dbAfter = await h.databaseActivity();
    const loadAfter = os.loadavg();
    const churned = fleet.stats().capabilityChanges - churnBefore;

    // --- drain: unsent reports, queue, recomputations --------------------------------------------------
    h.log('window over; waiting for unsent reports, the queue and the recomputations to drain');
    let drainedAt: number | undefined;
    while (Date.now() - tEnd < DRAIN_TIMEOUT_S * 1000) {
      const last = sampler.samples.at(-1);
      if (last && last.at > tEnd && last.unsent === 0 && last.backlog === 0 && last.lag === 0) {
        drainedAt = last.at;
        break;
      }
      await sleep(1_000);
    }
    await stopFleet();
    await sampler.stop();
    await sleep(2_000); // answers the agents did not wait for have finished on the server

    // --- zero loss ----------------------------------------------------------------------------------
    const { rows: stored } = await h.db().query<{ client: string; deployment: string; n: string }>(
      `SELECT c.external_id AS client, r.deployment_id AS deployment, count(*) AS n
         FROM deployment_status_report r JOIN client c ON c.id = r.client_id
        GROUP BY 1, 2`,
    );
    const storedOf = new Map(stored.map((row) => [`${row.client} ${row.deployment}`, Number(row.n)]));
    let acked = 0;
    let storedForAcked = 0;
    let lost = 0;
    let lostPairs = 0;
    let pairs = 0;
    let maxPerPair = 0;
    for (const [client, perDeployment] of recorder.ackedReports) {
      for (const [deployment, n] of perDeployment) {
        pairs += 1;
        acked += n;
        maxPerPair = Math.max(maxPerPair, n);
        const have = storedOf.get(`${client} ${deployment}`) ?? 0;
        storedForAcked += have;
        if (have < n) {
          lost += n - have;
          lostPairs += 1;
        }
      }
    }
    const storedTotal = stored.reduce((s, row) => s + Number(row.n), 0);
    const finalConv = await convergence(deploymentId);
    const finalStats = fleet.stats();

    // --- figures --------------------------------------------------------------------------------------
    const seconds = secondsBetween(t0, tEnd);
    const windowSamples = [...recorder.between(t0, tEnd)];
    const procSamples = sampler.samples;
    const inWindow = procSamples.filter((s) => s.at >= t0 - 1_100 && s.at <= tEnd + 999);
    const first = inWindow[0];
    const last = inWindow.at(-1)!;
    const procRows = procs.map((p) => {
      let peak = 0;
      for (let i = BUCKET_S; i < inWindow.length; i += 1) {
        peak = Math.max(peak, cpuPercent(inWindow[i - BUCKET_S], inWindow[i], p.name));
      }
      const rss = inWindow.map((s) => s.rssMiB[p.name]).filter(Number.isFinite);
      const role = {
        api: 'WFM API (`WFM_ROLES=api`): HTTPS, device and operator routes',
        worker: 'WFM worker (`WFM_ROLES=worker`): recompute, placement, manifests, sweeps',
        simulator: `simulator: ${fmt(DEVICES)} agents in one Node process (+ this bench's sampling)`,
        proxy: `TCP proxy in front of ${FAULT === 'postgres' ? 'PostgreSQL' : 'Redis'}`,
      }[p.name];
      return [
        role ?? p.name,
        `${fmt(cpuPercent(first, last, p.name))} %`,
        `${fmt(peak)} %`,
        fmt(rss[0] ?? Number.NaN),
        fmt(rss.at(-1) ?? Number.NaN),
        fmt(Math.max(...rss)),
      ];
    });
    const pgCpuMs = postgresCpuBetween(pgBefore, pgAfter);
    const busiest = (f: (a: Sample, b: Sample) => number) => {
      let peak = 0;
      for (let i = BUCKET_S; i < inWindow.length; i += 1) {
        peak = Math.max(peak, f(inWindow[i - BUCKET_S], inWindow[i]));
      }
      return peak;
    };
    const pgRow = (label: string) => [label, `${fmt((100 * pgCpuMs) / (tEnd - t0))} %`, '', '', '', ''];
    procRows.push(
      [
        'everything else on the machine (PostgreSQL, Redis, the kernel, other work)',
        `${fmt(otherPercent(first, last))} %`,
        `${fmt(busiest(otherPercent))} %`,
        '',
        '',
        '',
      ],
      pgRow(
        '… of which the PostgreSQL backends of the bench database (a lower bound when connections were replaced)',
      ),
      [
        '**the whole machine** (2 cores: at most 200 %)',
        `${fmt(cpuPercent(first, last, 'machine'))} %`,
        `${fmt(busiest((a, b) => cpuPercent(a, b, 'machine')))} %`,
        '',
        '',
        '',
      ],
    );
    const db = activityDelta(dbBefore, dbAfter);
    const polls = windowSamples.filter((s) => s.kind === 'manifest');
    const pollMs = polls.map((s) => s.ms).sort((a, b) => a - b);
    const pollP99 = percentile(pollMs, 99);
    const failures = windowSamples.filter(isFailure);
    const statusAckedInWindow = windowSamples.filter(
      (s) => s.kind === 'status' && s.status >= 200 && s.status < 300,
    ).length;

    // the API's own view (its Prometheus metrics between the start and the end of the window)
    const serverHttp = histogramsBetween(
      metricsBefore,
      metricsAfter,
      'wfm_http_request_duration_seconds',
      (l) => (l.route?.startsWith('/api/') ? `${l.method} ${l.route} → ${l.status}` : undefined),
    );
    const serverRows = [...serverHttp]
      .sort((a, b) => b[1].count - a[1].count)
      .map(([k, hist]) => [
        `\`${k.replace(/ → /, '` → ')}`,
        fmt(hist.count),
        ms(1000 * histogramQuantile(hist, 0.5)),
        ms(1000 * histogramQuantile(hist, 0.99)),
        fmt(countAbove(hist, 0.05)),
      ]);
    const apiGc = histogramsBetween(
      metricsBefore,
      metricsAfter,
      'wfm_nodejs_gc_duration_seconds',
      (l) => l.kind,
    );
    const gcText = [...apiGc]
      .map(
        ([kind, hist]) =>
          `${kind} ${fmt(hist.count)} (${fmt(hist.sum * 1000)} ms in all, ${fmt(countAbove(hist, 0.1))} of them ≥ 100 ms)`,
      )
      .join(', ');
    const apiLag = (name: string) =>
      ms(
        Math.max(
          0,
          gauge(metricsAfter, `wfm_nodejs_eventloop_lag_${name}_seconds`) - SERVICE_EVENT_LOOP_RESOLUTION_S,
        ) * 1000,
      );
    const simGcSorted = [...gcPauses].sort((a, b) => a - b);
    const simGcText =
      `${fmt(gcPauses.length)} pauses, ${fmt(gcPauses.reduce((a, b) => a + b, 0))} ms in all, ` +
      `${fmt(gcPauses.filter((d) => d >= 100).length)} ≥ 100 ms, the longest ${ms(simGcSorted.at(-1) ?? Number.NaN)} ms`;

    // fault phases
    const phases =
      FAULT === 'none'
        ? [{ name: 'whole window', from: t0, to: tEnd }]
        : [
            { name: `before the cut (0–${CUT_AT_S} s)`, from: t0, to: cutAt },
            {
              name: `${FAULT} unreachable (${CUT_AT_S}–${CUT_AT_S + CUT_FOR_S} s)`,
              from: cutAt,
              to: restoredAt,
            },
            {
              name: `after it is back (${CUT_AT_S + CUT_FOR_S}–${DURATION_S} s)`,
              from: restoredAt,
              to: tEnd,
            },
          ];
    const phaseRows = phases.map((p) => {
      const ss = windowSamples.filter((s) => s.at >= p.from && s.at < p.to);
      const pp = ss.filter((s) => s.kind === 'manifest');
      const sorted = pp.map((s) => s.ms).sort((a, b) => a - b);
      const count = (f: (s: CallSample) => boolean) => fmt(ss.filter(f).length);
      const byStatus = (list: CallSample[]) =>
        statusesText(
          list.reduce((m, s) => m.set(s.status, (m.get(s.status) ?? 0) + 1), new Map<number, number>()),
        ) || '–';
      return [
        p.name,
        fmt(ss.length),
        count(isSuccess),
        count(isGood503),
        count((s) => isFailure(s) && !isGood503(s)),
        byStatus(pp),
        `${ms(percentile(sorted, 50))} / ${ms(percentile(sorted, 99))}`,
        byStatus(ss.filter((s) => s.kind === 'status')),
        byStatus(ss.filter((s) => s.kind === 'capabilities')),
      ];
    });

    // timeline (10-s buckets of the window, then the drain)
    const timelineRows: (string | number)[][] = [];
    for (let from = t0; from < tEnd - 1000; from += BUCKET_S * 1000) {
      const to = Math.min(tEnd, from + BUCKET_S * 1000);
      const ss = windowSamples.filter((s) => s.at >= from && s.at < to);
      const pp = ss
        .filter((s) => s.kind === 'manifest')
        .map((s) => s.ms)
        .sort((a, b) => a - b);
      const a = [...procSamples].reverse().find((s) => s.at <= from + 500) ?? procSamples[0];
      const b = [...procSamples].reverse().find((s) => s.at <= to + 500) ?? a;
      const mark =
        FAULT !== 'none' && Math.min(to, restoredAt) - Math.max(from, cutAt) > 500
          ? ` **(${FAULT} cut)**`
          : '';
      timelineRows.push([
        `${secondsBetween(t0, from).toFixed(0)}–${secondsBetween(t0, to).toFixed(0)} s${mark}`,
        fmt(ss.length),
        fmt(ss.filter(isSuccess).length),
        fmt(ss.filter(isGood503).length),
        fmt(ss.filter((s) => isFailure(s) && !isGood503(s)).length),
        ms(percentile(pp, 99)),
        `${fmt(cpuPercent(a, b, 'api'))} / ${fmt(cpuPercent(a, b, 'worker'))}`,
        `${fmt(cpuPercent(a, b, 'simulator'))} / ${fmt(otherPercent(a, b))}`,
        fmt(b.unsent),
        `${fmt(b.backlog)} / ${fmt(b.lag)}`,
        b.ready === 0 ? 'no answer' : String(b.ready),
      ]);
    }

    // recovery
    const afterRestore = (pred: (s: CallSample) => boolean) =>
      recorder.samples.filter((s) => s.at >= restoredAt && pred(s)).sort((a, b) => a.at - b.at);
    const firstOk = (kind: CallSample['kind'], status?: number) =>
      afterRestore(
        (s) => s.kind === kind && isSuccess(s) && (status === undefined || s.status === status),
      )[0];
    const lastFailure = recorder.samples
      .filter((s) => s.at >= cutAt && isFailure(s))
      .reduce((m, s) => Math.max(m, s.at + s.ms), -Infinity);
    const firstSampleAfter = (pred: (s: Sample) => boolean) =>
      procSamples.find((s) => s.at >= restoredAt && pred(s));
    const readyBack = firstSampleAfter((s) => s.ready === 200);
    const readyDown = procSamples.filter((s) => s.at >= cutAt && s.at < restoredAt && s.ready !== 200).length;
    const unsentZero = firstSampleAfter((s) => s.unsent === 0);
    const backlogZero = firstSampleAfter((s) => s.backlog === 0 && s.lag === 0);
    const maxUnsent = Math.max(0, ...procSamples.filter((s) => s.at >= cutAt).map((s) => s.unsent));
    const maxLag = Math.max(0, ...procSamples.filter((s) => s.at >= cutAt).map((s) => s.lag));
    const maxBacklog = Math.max(
      0,
      ...procSamples.filter((s) => s.at >= cutAt && Number.isFinite(s.backlog)).map((s) => s.backlog),
    );
    const during = windowSamples.filter((s) => s.at >= cutAt && s.at < restoredAt);
    const during503 = during.filter((s) => s.status === 503);
    const since = (s: { at: number } | undefined) =>
      s ? signed(secondsBetween(restoredAt, s.at)) : 'not seen';

    // the histogram records the timer's whole interval: the delay is what exceeds the resolution
    const eventLoopMs = (q: number) => Math.max(0, eventLoop.percentile(q) / 1e6 - EVENT_LOOP_RESOLUTION_MS);
    const targetsMet = {
      errors: failures.length === 0,
      poll: pollP99 < 50,
    };
    const duringFailuresNot503 = during.filter((s) => isFailure(s) && !isGood503(s)).length;
    const outsideFailures = windowSamples.filter(
      (s) => isFailure(s) && (FAULT === 'none' || s.at < cutAt),
    ).length;

    const summaryLine =
      FAULT === 'none'
        ? `Targets: zero errors — **${targetsMet.errors ? 'met' : `NOT met (${fmt(failures.length)} failed requests)`}**; ` +
          `p99 of the manifest poll under 50 ms — **${targetsMet.poll ? 'met' : 'NOT met'}** (${ms(pollP99)} ms). ` +
          `Zero loss — **${lost === 0 ? 'met' : `NOT met (${fmt(lost)} reports lost)`}**.`
        : `While ${FAULT === 'postgres' ? 'PostgreSQL' : 'Redis'} was unreachable: ${fmt(during.length)} device requests, ` +
          `${fmt(during.filter(isSuccess).length)} answered as usual (2xx, or 304 to a matching poll), ` +
          `${fmt(during503.length)} answered 503 (${fmt(during503.filter(isGood503).length)} of them problem+json with ` +
          `Retry-After), ${fmt(duringFailuresNot503)} failed otherwise. Zero loss — **${lost === 0 ? 'met' : `NOT met (${fmt(lost)} reports lost)`}**.`;

    const settleText =
      settledAt === undefined
        ? `did NOT converge within ${SETTLE_TIMEOUT_S} s (measured anyway; at the start of the window ${fmt(conv.installed)} of ${fmt(conv.placed)} placed deployments were reported installed)`
        : `converged ${secondsBetween(startedAll, settledAt).toFixed(0)} s after the last agent started`;
    const section = [
      `Measured ${h.started.toISOString().slice(0, 10)} with \`${COMMAND}\` (${os.cpus().length} CPUs, Node ${process.version}).`,
      '',
      `What it runs: ${fmt(DEVICES)} simulated rc.3 Margo agents (\`src/simulator\`, one device each, each with its own ` +
        `X.509-SVID and kept-alive mutual-TLS connection) against the service as two processes, the API ` +
        '(`WFM_ROLES=api`) and the worker (`WFM_ROLES=worker`), with the service defaults (rate limit 600/min per client, ' +
        `log level warn). Each agent polls its manifest every ${POLL_S} s (±20 % jitter) with If-None-Match, fetches and ` +
        `verifies what changed, "installs" it in ${fmt(INSTALL_DELAY_MS / 1000, 1)} s and reports every transition; ` +
        `\`examples/line-monitor\` (Helm profile: 2 cores, 1Gi) is deployed to the selector \`site=plant-1\`, which every ` +
        `device carries, so it is placed on the devices that support Helm (${fmt(conv.placed)}; ${fmt(conv.notPlaceable)} ` +
        `not placeable). The measured window (${DURATION_S} s) starts when the fleet has converged; during it ${CHURN} of the ` +
        `devices per minute report changed capabilities (${fmt(churned)} changes; some move in or out of placement: ` +
        'installs, removals and their status reports). ' +
        (FAULT === 'none'
          ? ''
          : `${FAULT === 'postgres' ? 'PostgreSQL' : 'Redis'} is unreachable for the service (API and worker) from ` +
            `+${CUT_AT_S} s to +${CUT_AT_S + CUT_FOR_S} s: a TCP proxy in its own process, in front of the shared ` +
            `instance, drops the open connections (${fmt(cutInfo.dropped)}) and refuses new ones, then accepts again. `) +
        'Latencies are the agents’ own (request written → answer read and checked), so they include the ' +
        'simulator’s event loop: **the simulator, the API, the worker, PostgreSQL and Redis all share the 2 cores** ' +
        'of this machine.',
      '',
      summaryLine,
      '',
      `### Device requests in the measured window (${DURATION_S} s)`,
      '',
      table(
        ['Route', 'Requests', 'req/s', 'Answers', 'p50 ms', 'p99 ms', 'max ms', 'Failed'],
        routeRows(windowSamples, seconds),
        ['l', 'r', 'r', 'l', 'r', 'r', 'r', 'r'],
      ),
      '',
      '- Failed: anything but 2xx (or 304 to a conditional manifest poll), including no answer (connection refused ' +
        'or reset, timeout).' +
        (failures.length === 0
          ? ''
          : ` Failures in the window: ${statusesText(
              failures.reduce(
                (m, s) => m.set(s.status, (m.get(s.status) ?? 0) + 1),
                new Map<number, number>(),
              ),
            )}` +
            (FAULT === 'none' ? '' : `; before the cut: ${fmt(outsideFailures)}`) +
            '.'),
      ...(errorKinds.top(1).length > 0
        ? [
            `- What the agents logged as errors (whole run, setup included, where the agents retry after backoff; ids masked): ${errorKinds
              .top(6)
              .map(([m, n]) => `${fmt(n)}× “${m.slice(0, 160)}”`)
              .join('; ')}.`,
          ]
        : []),
      '',
      '### Where the latency comes from',
      '',
      'The API’s own measure of the device routes in the window (`wfm_http_request_duration_seconds` from its ' +
        '`GET /metrics` at the start and the end of the window; handler start → answer written, so without TLS, ' +
        'socket reads and the wait for the event loop; quantiles interpolated in the buckets 1, 2.5, 5, 10, 25, 50, ' +
        '100, 250, 500, 1000, 2500 ms):',
      '',
      serverRows.length > 0
        ? table(['Route → status', 'Requests', 'p50 ms', 'p99 ms', 'over 50 ms'], serverRows, [
            'l',
            'r',
            'r',
            'r',
            'r',
          ])
        : '(the metrics could not be read)',
      '',
      `- API event loop delay in the window (its \`wfm_nodejs_eventloop_lag_*\` gauges, 10-ms sampling subtracted): ` +
        `p50 ${apiLag('p50')} ms, p99 ${apiLag('p99')} ms, max ${apiLag('max')} ms. API garbage collection in the window ` +
        `(\`wfm_nodejs_gc_duration_seconds\`): ${gcText || 'not reported'}.`,
      `- Just before the window, one \`GET /metrics\` of the API (its \`wfm_targets\` gauge computes a status summary ` +
        `over all ${fmt(conv.placed + conv.notPlaceable)} deployment targets) took ${fmt(firstScrapeMs)} ms, and the ` +
        `API's event loop was blocked for up to ${fmt(scrapeStallMs)} ms meanwhile (no scrape happens inside the window).`,
      `- Simulator event loop delay in the window (\`monitorEventLoopDelay\`): p50 ${ms(eventLoopMs(50))} ms, ` +
        `p99 ${ms(eventLoopMs(99))} ms, max ${ms(eventLoop.max / 1e6 - EVENT_LOOP_RESOLUTION_MS)} ms; its garbage ` +
        `collection: ${simGcText}. Both are part of the latencies the agents see.`,
      '',
      ...(FAULT === 'none'
        ? []
        : [
            '### Before, during and after the cut',
            '',
            table(
              [
                'Phase',
                'Requests',
                'Answered as usual',
                '503 problem+json + Retry-After',
                'Other failures',
                'Manifest polls',
                'Poll p50 / p99 ms',
                'Status reports',
                'Capability reports',
              ],
              phaseRows,
              ['l', 'r', 'r', 'r', 'r', 'l', 'r', 'l', 'l'],
            ),
            '',
            '### Recovery',
            '',
            table(
              ['Event (times relative to the moment the proxy accepted connections again)', 'When'],
              [
                ['`GET /health/ready` answers 200 again (sampled every second)', since(readyBack)],
                [
                  '`/health/ready` samples during the cut that were not 200',
                  `${fmt(readyDown)} of ${fmt(procSamples.filter((s) => s.at >= cutAt && s.at < restoredAt).length)}`,
                ],
                ['first manifest poll answered 200 after the cut', since(firstOk('manifest', 200))],
                ['first status report answered 2xx after the cut', since(firstOk('status'))],
                ['first capability report answered 2xx after the cut', since(firstOk('capabilities'))],
                [
                  'last failed device request ended',
                  Number.isFinite(lastFailure)
                    ? signed(secondsBetween(restoredAt, lastFailure))
                    : 'none failed',
                ],
                [
                  `status reports waiting in the agents to be sent again: peak ${fmt(maxUnsent)}; back to 0`,
                  maxUnsent === 0 ? 'never above 0' : since(unsentZero),
                ],
                [
                  `recompute queue backlog (peak ${fmt(maxBacklog)}) and devices whose recomputation lags their capabilities (peak ${fmt(maxLag)}) both 0`,
                  since(backlogZero),
                ],
              ],
              ['l', 'r'],
            ),
            '',
            `- The agents back off after a failed call (the poll interval doubling per consecutive error, at most 60 s, ` +
              'never less than the Retry-After the service sent), so the last failures and the first successes after ' +
              'the cut show when they came back as much as when the service did.',
            '',
          ]),
      `### Timeline (${BUCKET_S}-s slices of the window)`,
      '',
      table(
        [
          'Window',
          'Requests',
          'Answered as usual',
          '503 problem+json',
          'Other failures',
          'Poll p99 ms',
          'CPU API / worker (% of one core)',
          'CPU simulator / everything else on the machine',
          'Unsent status reports (end)',
          'Recompute backlog / lag (end)',
          '`/health/ready` (end)',
        ],
        timelineRows,
        ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l'],
      ),
      '',
      '### Processes',
      '',
      table(
        [
          'Process',
          'CPU, mean over the window (% of one core)',
          `CPU, busiest ${BUCKET_S} s`,
          'RSS MiB at the start',
          'at the end',
          'peak (sampled)',
        ],
        procRows,
        ['l', 'r', 'r', 'r', 'r', 'r'],
      ),
      '',
      `- Sampled every second from \`/proc/<pid>/stat\` (user + system) and \`/proc/<pid>/status\` (VmRSS). ` +
        `PostgreSQL in the window: ${fmt(db.commits / seconds, 1)} transactions/s ` +
        `(${fmt(db.commits / Math.max(1, windowSamples.length), 2)} per device request; an autocommit statement counts ` +
        `as one), ${fmt(db.inserted / seconds, 1)} rows inserted/s, ${fmt(db.updated / seconds, 1)} updated/s.`,
      `- Load average after the window: ${loadAfter.map((n) => n.toFixed(2)).join(' ')}. ` +
        (slowlog
          ? `The shared Redis logged ${fmt(slowlog.count)} commands slower than ${fmt(slowlog.thresholdMs)} ms in the window ` +
            `(its SLOWLOG, last 128 entries; ${fmt(slowlog.ours)} of them this run's` +
            `${slowlog.count > 0 ? `; the slowest ${ms(slowlog.maxMs)} ms` : ''}).`
          : 'The shared Redis’ SLOWLOG could not be read.'),
      '',
      '### Zero loss: status reports acknowledged with 2xx against the stored history',
      '',
      table(
        ['Status reports (whole run: setup, window and drain)', 'Count'],
        [
          ['acknowledged with 2xx, as the agents saw it', fmt(acked)],
          ['… of them in the measured window', fmt(statusAckedInWindow)],
          ['(client, deployment) pairs with acknowledged reports', fmt(pairs)],
          ['rows in `deployment_status_report` for those pairs', fmt(storedForAcked)],
          ['rows in `deployment_status_report` in all', fmt(storedTotal)],
          ['acknowledged but not stored (**lost**)', fmt(lost)],
          ['pairs with fewer rows than acknowledged reports', fmt(lostPairs)],
          ['sent again by the agents after a failed attempt', fmt(finalStats.reportRetries)],
          ['still unsent when the agents stopped', fmt(finalStats.unsentReports)],
        ],
        ['l', 'r'],
      ),
      '',
      `- Stored rows above the acknowledged ones are reports the service stored whose answer the agent did not get ` +
        `(or did not count: an agent stopped while waiting). The service keeps 200 reports per (deployment, device); ` +
        `the busiest pair received ${fmt(maxPerPair)}, so nothing was trimmed${maxPerPair >= 200 ? ' — NO: the cap was reached, the row count is a lower bound' : ''}.`,
      `- At the end: ${fmt(finalConv.installed)} of ${fmt(finalConv.placed)} placed deployments reported installed for ` +
        `their current manifest version; the drain after the window (unsent reports, queue and recomputations at 0) ` +
        `${drainedAt === undefined ? `did NOT finish within ${DRAIN_TIMEOUT_S} s` : `took ${secondsBetween(tEnd, drainedAt).toFixed(0)} s`}.`,
      '',
      '### Setup (not measured)',
      '',
      `- Enrollment: ${fmt(DEVICES)} SVIDs minted in the bench process and accepted through \`PUT /operator/v1/clients/{id}\` ` +
        `(${ENROLL_CONCURRENCY} at a time, one kept-alive connection pool) in ${secondsBetween(enrollStart, enrolledAt).toFixed(0)} s ` +
        `(time summed over the ${ENROLL_CONCURRENCY} lanes: minting ${(mintMs / 1000).toFixed(0)} s, accepting ${(acceptMs / 1000).toFixed(0)} s). ` +
        `Then the agents started, spread at random over ${RAMP_UP_S.toFixed(0)} s (each: its TLS connection, a capability report, ` +
        'its first poll, and on a placed device the deployment’s YAML and three status reports).',
      `- The fleet ${settleText}. Until the window: ${fmt(setupSamples)} device requests, ${fmt(setupAcked)} status ` +
        `reports acknowledged, ${fmt(setupStats.errors)} agent errors.`,
      '',
      '### Machine',
      '',
      ...h
        .machineLines(COMMAND)
        .filter((line) => !line.startsWith('- Load average after'))
        .concat([`- Other benchmarks (\`pgrep -f dist-bench/bench/\`) before starting: ${quiet}.`]),
    ].join('\n');

    const name = `fleet-load-${FAULT}-${h.stamp}`;
    const file = await writeResult(
      h.resultsDir,
      `${name}.md`,
      `# Fleet load, ${h.started.toISOString()}\n\n${section}\n`,
    );
    await writeFile(
      join(h.resultsDir, `${name}.json`),
      JSON.stringify(
        {
          command: COMMAND,
          fault: FAULT,
          t0,
          tEnd,
          /** The window on the monotonic clock, in µs (the time base of the .cpuprofile files). */
          t0Mono: String(t0Mono),
          tEndMono: String(tEndMono),
          cutAt,
          restoredAt,
          acked,
          storedForAcked,
          lost,
          samples: procSamples,
          routes: routeStats(windowSamples).map((r) => ({ ...r, statuses: Object.fromEntries(r.statuses) })),
        },
        null,
        1,
      ),
    );
    if (UPDATES_README) await updateReadme(h.readmePath, section, SECTIONS[FAULT]);
    process.stdout.write(`\n${section}\n`);
    h.log(`wrote ${file}${UPDATES_README ? ' and bench/README.md' : ''}`);
    if (lost > 0) throw new Error(`${lost} status reports acknowledged with 2xx are not stored`);
  } finally {
    await stopFleet();
    await sampler.stop().catch(() => undefined);
  }
}
