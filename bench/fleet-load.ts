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
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { type ClientSvid, issueClientSvid, type SvidIssuer } from '../src/client/identities.js';
import { Rc3Client } from '../src/client/margo-client.js';
import { readExample } from '../src/simulator/demo.js';
import { Fleet } from '../src/simulator/fleet.js';
import { CallRecorder, routeStats } from '../src/simulator/recorder.js';
import { benchCli, count, positive } from './lib/cli.js';
import {
  type Convergence,
  type Enrollment,
  ErrorKinds,
  EVENT_LOOP_RESOLUTION_MS,
  type Fault,
  fleetLoadSection,
  type FleetLoadShape,
  SERVICE_EVENT_LOOP_RESOLUTION_S,
  type Setup,
  type Window,
  type ZeroLoss,
} from './lib/fleet-load-report.js';
import {
  activityBetween,
  forEachLimit,
  Harness,
  postgresCpuBetween,
  sleep,
  type TlsFiles,
} from './lib/harness.js';
import type { WfmReady } from './lib/ipc.js';
import { gauge, parseMetrics, type PromSample } from './lib/prom.js';
import { waitForQuietMachine } from './lib/quiet.js';
import { type Proc, redisSlowlog, Sampler } from './lib/sampler.js';
import { hostPort, ProxyProcess, viaProxy } from './lib/tcp-proxy.js';

const { args, command: COMMAND } = benchCli('fleet-load', {
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
});

const FAULT = args.fault as Fault;
if (!['none', 'postgres', 'redis'].includes(FAULT)) throw new Error('--fault must be postgres or redis');
const DEVICES = count('devices', args.devices, 50_000);
const SHAPE: FleetLoadShape = {
  fault: FAULT,
  devices: DEVICES,
  durationS: positive('duration', args.duration, 3600),
  pollS: positive('poll', args.poll, 600),
  churn: Number(args.churn),
  cutAtS: positive('cut-at', args['cut-at'], 3600),
  cutForS: positive('cut-for', args['cut-for'], 600),
  installDelayMs: Number(args['install-delay']),
  settleTimeoutS: positive('settle-timeout', args['settle-timeout'], 3600),
  /** Agents start spread over this (default: 25 per second, what the API absorbs here without queueing much). */
  rampUpS: args['ramp-up'] === undefined ? DEVICES / 25 : positive('ramp-up', args['ramp-up'], 3600),
  drainTimeoutS: 150,
  enrollConcurrency: 16,
};
if (!Number.isFinite(SHAPE.churn) || SHAPE.churn < 0 || SHAPE.churn > 1) {
  throw new Error('--churn must be in [0, 1]');
}
if (FAULT !== 'none' && SHAPE.cutAtS + SHAPE.cutForS >= SHAPE.durationS) {
  throw new Error('--cut-at + --cut-for must end inside --duration');
}
const OTHER_BENCH_WAIT_MS = args['no-wait'] ? 0 : 600_000;
const SELECTOR = { site: 'plant-1' };
const APPLICATION_ID = 'com-example-line-monitor';

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
    SHAPE.rampUpS +
    SHAPE.settleTimeoutS +
    SHAPE.durationS +
    SHAPE.drainTimeoutS +
    120,
);

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

/** The whole run: service, enrollment, agents, convergence, the window, drain, zero loss, report. */
async function main(proxy: ProxyProcess | undefined, env: Record<string, string>, quiet: string) {
  const service = await startService(env);
  const { ready, tls, deploymentId } = service;
  const recorder = new CallRecorder();
  const errorKinds = new ErrorKinds();
  const { issuer, identities, enrollment } = await enrol(ready, tls);
  const fleet = agents({ ...ready, issuer }, tls, identities, recorder, errorKinds);
  const procs: Proc[] = [
    { name: 'api', pid: service.api.pid },
    { name: 'worker', pid: service.worker.pid },
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
  let stopping: Promise<void> | undefined;
  const stopFleet = () => (stopping ??= fleet.stop());
  try {
    const setup = await converge(fleet, recorder, errorKinds, deploymentId);
    const window = await measureWindow(fleet, sampler, proxy, ready, tls);
    const drainedAt = await drain(sampler, window.tEnd);
    await stopFleet();
    await sampler.stop();
    await sleep(2_000); // answers the agents did not wait for have finished on the server
    const loss = await zeroLoss(recorder);
    const run = {
      shape: SHAPE,
      measuredWith: h.measuredWith(COMMAND),
      machine: h.machineLines(COMMAND),
      quiet,
      recorder,
      errorKinds,
      procs,
      procSamples: sampler.samples,
      enrollment,
      setup,
      window,
      drainedAt,
      loss,
      finalConv: await convergence(deploymentId),
      finalStats: fleet.stats(),
    };
    const name = `fleet-load-${FAULT}`;
    await h.publish({
      name,
      heading: 'Fleet load',
      section: fleetLoadSection(run),
      readmeSection: UPDATES_README ? SECTIONS[FAULT] : undefined,
    });
    await writeFile(
      join(h.resultsDir, `${name}-${h.stamp}.json`),
      JSON.stringify(
        {
          command: COMMAND,
          fault: FAULT,
          t0: window.t0,
          tEnd: window.tEnd,
          /** The window on the monotonic clock, in µs (the time base of the .cpuprofile files). */
          t0Mono: String(window.t0Mono),
          tEndMono: String(window.tEndMono),
          cutAt: window.cutAt,
          restoredAt: window.restoredAt,
          acked: loss.acked,
          storedForAcked: loss.storedForAcked,
          lost: loss.lost,
          samples: sampler.samples,
          routes: routeStats([...recorder.between(window.t0, window.tEnd)]).map((r) => ({
            ...r,
            statuses: Object.fromEntries(r.statuses),
          })),
        },
        null,
        1,
      ),
    );
    if (loss.lost > 0) throw new Error(`${loss.lost} status reports acknowledged with 2xx are not stored`);
  } finally {
    await stopFleet();
    await sampler.stop().catch(() => undefined);
  }
}

/** The API and the worker as two processes; the example package deployed to the fleet's selector. */
async function startService(env: Record<string, string>) {
  h.log(`starting the API and the worker (database ${h.dbName}, Redis prefix ${h.queuePrefix})`);
  const cpuProfile = args['cpu-prof'];
  const { child: api, ready: r } = await h.startService({ name: 'api', roles: 'api', env, cpuProfile });
  const { child: worker } = await h.startService({ name: 'worker', roles: 'worker', env, cpuProfile });
  const ready = r!;
  const tls = await h.tlsFiles(ready);
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
  return { api, worker, ready, tls, deploymentId: created.json<{ id: string }>().id };
}

/** Enrollment first (not measured): an SVID per agent, accepted through the operator API. */
async function enrol(ready: WfmReady, tls: TlsFiles) {
  const issuer = await h.issuer(ready, tls);
  const startedAt = Date.now();
  h.log(`enrolling ${DEVICES} rc.3 clients (${SHAPE.enrollConcurrency} at a time)`);
  let mintMs = 0;
  let acceptMs = 0;
  const names = Array.from({ length: DEVICES }, (_, i) => `load-${i + 1}`);
  const identities = new Map<string, ClientSvid>();
  await forEachLimit(names, SHAPE.enrollConcurrency, async (name) => {
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
  const enrollment: Enrollment = { startedAt, endedAt: Date.now(), mintMs, acceptMs };
  h.log(`enrolled in ${((enrollment.endedAt - startedAt) / 1000).toFixed(0)} s`);
  return { issuer, identities, enrollment };
}

/** The simulated agents, one per enrolled identity (not started yet). */
function agents(
  ready: WfmReady & { issuer: SvidIssuer },
  tls: TlsFiles,
  identities: Map<string, ClientSvid>,
  recorder: CallRecorder,
  errorKinds: ErrorKinds,
): Fleet {
  return new Fleet({
    access: {
      url: ready.url,
      ca: tls.caPem,
      adminToken: ready.adminToken,
      issuer: ready.issuer,
      wfmSpiffeId: ready.spiffeId,
    },
    devices: DEVICES,
    profile: 'rc3',
    pollIntervalMs: SHAPE.pollS * 1000,
    installDelayMs: SHAPE.installDelayMs,
    prefix: 'load',
    enrollConcurrency: 64,
    rampUpMs: SHAPE.rampUpS * 1000,
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
}

/** Starts the agents over the ramp-up and waits until the fleet has converged (not measured). */
async function converge(
  fleet: Fleet,
  recorder: CallRecorder,
  errorKinds: ErrorKinds,
  deploymentId: string,
): Promise<Setup> {
  const setupStart = Date.now();
  h.log(`starting ${DEVICES} rc.3 agents spread over ${SHAPE.rampUpS.toFixed(0)} s`);
  const progress = setInterval(() => {
    const s = fleet.stats();
    h.log(
      `  enrolled ${s.enrolled}/${DEVICES}, polled ${s.polled}, installed ${s.installed}, ` +
        `status reports ${s.statusReports}, errors ${s.errors}`,
    );
  }, 15_000);
  await fleet.start();
  const startedAll = setupStart + SHAPE.rampUpS * 1000;
  if (fleet.stats().enrollFailures > 0) {
    clearInterval(progress);
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
  while (Date.now() - startedAll < SHAPE.settleTimeoutS * 1000) {
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
  if (settledAt === undefined) {
    h.log(`the fleet did NOT converge within ${SHAPE.settleTimeoutS} s; measuring anyway`);
  } else {
    h.log(`converged ${((settledAt - startedAll) / 1000).toFixed(0)} s after the last agent started`);
  }
  return {
    startedAll,
    settledAt,
    conv,
    stats: fleet.stats(),
    acked: recorder.ackedTotal,
    samples: recorder.samples.length,
  };
}

/**
 * The measured window: churn on, the fault (a cut of the proxy) in the middle of a fault run; the
 * simulator's event loop and GC, the API's metrics, Postgres and Redis around it.
 */
async function measureWindow(
  fleet: Fleet,
  sampler: Sampler,
  proxy: ProxyProcess | undefined,
  ready: WfmReady,
  tls: TlsFiles,
): Promise<Window & { t0Mono: bigint; tEndMono: bigint }> {
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
  fleet.setChurn(SHAPE.churn);
  const churnBefore = fleet.stats().capabilityChanges;
  h.log(
    `measuring ${SHAPE.durationS} s: ${DEVICES} devices polling every ${SHAPE.pollS} s, churn ${SHAPE.churn}/min` +
      (FAULT === 'none' ? '' : `, ${FAULT} cut at +${SHAPE.cutAtS} s for ${SHAPE.cutForS} s`),
  );
  let cutAt = Number.NaN;
  let restoredAt = Number.NaN;
  let cutInfo = { accepted: 0, dropped: 0 };
  if (proxy) {
    await sleep(t0 + SHAPE.cutAtS * 1000 - Date.now());
    cutAt = Date.now();
    cutInfo = await proxy.cut();
    h.log(`  ${FAULT} cut (${cutInfo.dropped} open connections dropped)`);
    await sleep(cutAt + SHAPE.cutForS * 1000 - Date.now());
    await proxy.restore();
    restoredAt = Date.now();
    h.log(`  ${FAULT} reachable again`);
  }
  const windowProgress = setInterval(() => {
    const s = fleet.stats();
    h.log(`  +${((Date.now() - t0) / 1000).toFixed(0)} s: errors ${s.errors}, unsent ${s.unsentReports}`);
  }, 30_000);
  await sleep(t0 + SHAPE.durationS * 1000 - Date.now());
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
  return {
    t0,
    tEnd,
    t0Mono,
    tEndMono,
    cutAt,
    restoredAt,
    cutInfo,
    metricsBefore,
    metricsAfter,
    firstScrapeMs,
    scrapeStallMs,
    eventLoop,
    gcPauses,
    pgCpuMs: postgresCpuBetween(pgBefore, pgAfter),
    db: activityBetween(dbBefore, dbAfter),
    loadAfter: os.loadavg(),
    slowlog,
    churned: fleet.stats().capabilityChanges - churnBefore,
  };
}

/** After the window: until no report is unsent, the queue is empty and no recomputation lags. */
async function drain(sampler: Sampler, tEnd: number): Promise<number | undefined> {
  h.log('window over; waiting for unsent reports, the queue and the recomputations to drain');
  while (Date.now() - tEnd < SHAPE.drainTimeoutS * 1000) {
    const last = sampler.samples.at(-1);
    if (last && last.at > tEnd && last.unsent === 0 && last.backlog === 0 && last.lag === 0) return last.at;
    await sleep(1_000);
  }
  return undefined;
}

/** Per (client, deployment): the status reports the agents saw acknowledged against the stored rows. */
async function zeroLoss(recorder: CallRecorder): Promise<ZeroLoss> {
  const { rows: stored } = await h.db().query<{ client: string; deployment: string; n: string }>(
    `SELECT c.external_id AS client, r.deployment_id AS deployment, count(*) AS n
       FROM deployment_status_report r JOIN client c ON c.id = r.client_id
      GROUP BY 1, 2`,
  );
  const storedOf = new Map(stored.map((row) => [`${row.client} ${row.deployment}`, Number(row.n)]));
  const loss: ZeroLoss = {
    acked: 0,
    storedForAcked: 0,
    lost: 0,
    lostPairs: 0,
    pairs: 0,
    maxPerPair: 0,
    storedTotal: stored.reduce((s, row) => s + Number(row.n), 0),
  };
  for (const [client, perDeployment] of recorder.ackedReports) {
    for (const [deployment, n] of perDeployment) {
      loss.pairs += 1;
      loss.acked += n;
      loss.maxPerPair = Math.max(loss.maxPerPair, n);
      const have = storedOf.get(`${client} ${deployment}`) ?? 0;
      loss.storedForAcked += have;
      if (have < n) {
        loss.lost += n - have;
        loss.lostPairs += 1;
      }
    }
  }
  return loss;
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
