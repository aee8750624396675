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
import https from 'node:https';
import os from 'node:os';
import type { ClientSvid } from '../src/client/identities.js';
import { request } from '../src/client/transport.js';
import { linePackage } from '../test/support/packages.js';
import { benchCli, count, positive } from './lib/cli.js';
import { capabilityBody } from './lib/devices.js';
import { forEachLimit, Harness, sleep, type TlsFiles } from './lib/harness.js';
import type { ServerChild, WfmReady } from './lib/ipc.js';
import { type ConnectionGroup, type RequestContext, runConnectionGroups } from './lib/load.js';
import {
  type Histogram,
  histogramDelta,
  histogramQuantile,
  histogramsOf,
  histogramSum,
  parseMetrics,
} from './lib/prom.js';
import { waitForQuietMachine } from './lib/quiet.js';
import { detailTable, fmt, mainTable, type Measured, ms, table } from './lib/report.js';
import { alternate, caseResult, planLine, windowSummary } from './lib/rounds.js';

const { args, command: COMMAND } = benchCli('status', {
  duration: { type: 'string', default: '10' },
  warmup: { type: 'string', default: '2' },
  rounds: { type: 'string', default: '2' },
  concurrency: { type: 'string', default: '50' },
  clients: { type: 'string', default: '20' },
  devices: { type: 'string', default: '200' },
  'no-wait': { type: 'boolean', default: false },
});

const PLAN = {
  durationS: positive('duration', args.duration, 60),
  warmupS: positive('warmup', args.warmup, 30),
  rounds: count('rounds', args.rounds, 10),
};
const CONCURRENCY = count('concurrency', args.concurrency, 500);
const CLIENTS = count('clients', args.clients, 500);
const DEVICES = count('devices', args.devices, 10_000);
if (DEVICES < CLIENTS) {
  throw new Error('--devices must be at least --clients (one device per client or more)');
}
const OTHER_BENCH_WAIT_MS = 600_000;
const SETUP_TIMEOUT_MS = 180_000;
const HISTORY_LIMIT = 200;
const COMPONENT = 'line-monitor-compose';
const APPLICATION_ID = 'com-example-line-monitor';
const MANIFEST_TYPE = 'application/vnd.margo.manifest.v1+json';
const UPDATES_README = process.argv.slice(2).every((a) => a === '--no-wait');
const SECTION = '## Status reports (status)';

const h = new Harness(
  'status',
  OTHER_BENCH_WAIT_MS / 1000 +
    SETUP_TIMEOUT_MS / 1000 +
    2 * (PLAN.warmupS + PLAN.durationS + PLAN.rounds * 2),
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

const METRIC = 'wfm_status_ingest_seconds';

async function scrape(ready: WfmReady, tls: TlsFiles): Promise<Histogram> {
  const res = await h.operator(ready, tls, 'GET', '/metrics');
  if (res.status !== 200) throw new Error(`GET /metrics: HTTP ${res.status}`);
  const hist = histogramsOf(parseMetrics(res.text()), METRIC, () => 'all').get('all');
  if (!hist || hist.buckets.size === 0) throw new Error(`GET /metrics has no ${METRIC} histogram`);
  return hist;
}

// ---------------------------------------------------------------------------------------------------
// windows

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

  const quiet = args['no-wait']
    ? 'not checked (--no-wait)'
    : await waitForQuietMachine(OTHER_BENCH_WAIT_MS, (l) => h.log(l));
  h.log(`other benchmarks: ${quiet}`);
  const ingest: Histogram[] = [];
  h.log(
    `${PLAN.rounds} × ${(PLAN.durationS / PLAN.rounds).toFixed(1)} s per side after ${PLAN.warmupS} s warm-up, ` +
      `C=${CONCURRENCY}`,
  );
  const parts = await alternate(PLAN, async (side, warmupS, sliceS) => {
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
    if (delta) ingest.push(delta);
    h.log(windowSummary(side, measured));
    return measured;
  });
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

  const result = caseResult(
    `POST /api/v1/deployments/{id}/status, kept-alive mTLS, ${CLIENTS} clients, ` +
      `${DEVICES} devices and deployments`,
    CONCURRENCY,
    parts,
  );
  const hist = histogramSum(ingest);
  const w = result.wfm.load;
  const statusKinds = Object.entries(w.errorKinds)
    .map(([k, v]) => `${fmt(v)}× ${k}`)
    .join(', ');

  const section = [
    h.measuredWith(COMMAND),
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
      `baseline requests/s (in brackets: lowest–highest of the ${PLAN.rounds} alternating rounds).`,
    '',
    mainTable([result]),
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
          ms(1000 * histogramQuantile(hist, 0.5)),
          ms(1000 * histogramQuantile(hist, 0.99)),
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
    detailTable([result]),
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
    `${planLine(PLAN)}; closed loop (autocannon, one instance per client with its SVID), from the parent process; the service ` +
      'and the baseline each run in a child process.',
  ].join('\n');
  await h.publish({
    name: 'status',
    heading: 'Status report benchmark',
    section,
    readmeSection: UPDATES_README ? SECTION : undefined,
  });
  if (lost > 0) throw new Error(`${lost} reports answered 2xx are not stored`);
});
