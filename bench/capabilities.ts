/**
 * Benchmark: the device-capability module under load.
 *
 * (a) Capability reports/s over kept-alive mutual-TLS connections: C connections of `--clients`
 *     accepted rc.3 clients PUT /api/v1/capabilities/{deviceId} for `--devices` devices; every PUT
 *     flips the device's reported content (memory 8Gi ↔ 16Gi, a label, and a sequence number), so
 *     every report is a change that writes history and enqueues a recomputation. Beside a bare Node
 *     HTTPS server (same TLS options, same client certificates) that reads the body and answers 200,
 *     in alternating windows. The worker runs as its own process and drains the queue between windows.
 *     Afterwards every device's stored report is compared with the last one the load generator saw
 *     answered.
 * (b) Device list latency over HTTPS with 100,000 devices seeded by SQL (1,000 clients, gateways and
 *     their children, varied capabilities and labels): filtered, keyset-paginated
 *     GET /operator/v1/devices requests of several kinds, one at a time; p50/p95/p99 per kind, and
 *     EXPLAIN ANALYZE of the SQL that DeviceRepository.list() issues for the slowest kind.
 *
 *   npx tsc -p bench/tsconfig.json && node dist-bench/bench/capabilities.js [--duration 10] [--warmup 2]
 *     [--rounds 2] [--concurrency 50] [--clients 20] [--devices 1000] [--inventory 100000]
 *     [--list-requests 300] [--parts reports,inventory] [--cpu-prof] [--no-readme]
 *
 * Only a run of both parts without --cpu-prof rewrites the section in bench/README.md; every run writes
 * bench/results/capabilities-<timestamp>.md. Needs PostgreSQL and Redis on loopback; creates the
 * throw-away database wfm_bench_<hex> and drops it at the end, also on errors and SIGINT.
 */
import { writeFile } from 'node:fs/promises';
import https from 'node:https';
import { join } from 'node:path';
import type { ClientSvid } from '../src/client/identities.js';
import { request } from '../src/client/transport.js';
import { benchCli, count, positive } from './lib/cli.js';
import {
  displayQuery,
  exampleOf,
  INVENTORY_CLIENTS,
  inventoryPart,
  queryString,
} from './lib/capabilities-inventory.js';
import { capabilityBody } from './lib/devices.js';
import {
  activityBetween,
  activitySum,
  type DatabaseActivity,
  forEachLimit,
  Harness,
  postgresCpuBetween,
  procMemory,
} from './lib/harness.js';
import type { ServerChild, ServerStats, WfmReady } from './lib/ipc.js';
import { type ConnectionGroup, type RequestContext, runConnectionGroups } from './lib/load.js';
import { type CaseResult, fmt, mainTable, type Measured, ms, table } from './lib/report.js';
import { alternate, caseResult, sumStats, windowSummary } from './lib/rounds.js';

const { args, command: COMMAND } = benchCli('capabilities', {
  duration: { type: 'string', default: '10' },
  warmup: { type: 'string', default: '2' },
  rounds: { type: 'string', default: '2' },
  concurrency: { type: 'string', default: '50' },
  clients: { type: 'string', default: '20' },
  devices: { type: 'string', default: '1000' },
  inventory: { type: 'string', default: '100000' },
  'list-requests': { type: 'string', default: '300' },
  parts: { type: 'string', default: 'reports,inventory' },
  'cpu-prof': { type: 'boolean', default: false },
  /** Write bench/results/ only, leave bench/README.md as it is. */
  'no-readme': { type: 'boolean', default: false },
});

const PLAN = {
  durationS: positive('duration', args.duration, 60),
  warmupS: positive('warmup', args.warmup, 30),
  rounds: count('rounds', args.rounds, 10),
};
const CONCURRENCY = count('concurrency', args.concurrency, 500);
const CLIENTS = count('clients', args.clients, 500);
const DEVICES = count('devices', args.devices, 100_000);
const INVENTORY = count('inventory', args.inventory, 1_000_000);
const LIST_REQUESTS = count('list-requests', args['list-requests'], 10_000);
const PARTS = args.parts.split(',');
const DRAIN_TIMEOUT_MS = 60_000;
const UPDATES_README =
  !args['cpu-prof'] && !args['no-readme'] && PARTS.includes('reports') && PARTS.includes('inventory');
const SECTION = '## Capability reports and the device inventory (device-capability)';

const h = new Harness('capabilities', 180 + 2 * (PLAN.warmupS + PLAN.durationS) + DRAIN_TIMEOUT_MS / 250);

// ---------------------------------------------------------------------------------------------------
// (a) capability reports

interface Device {
  clientId: string;
  deviceId: string;
  /** Sequence number of the last report sent / answered 2xx (WFM side only). */
  sent: number;
  acked: number;
}

/** The per-client request source: each connection takes a device nobody reports for right now. */
class ClientLoad {
  private readonly free: Device[];
  overlaps = 0;

  constructor(
    readonly devices: Device[],
    private readonly track: boolean,
  ) {
    this.free = [...devices];
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
    let device = this.free.shift();
    if (!device) {
      // every device of this client is in flight (a request was lost to a timeout): reuse one
      this.overlaps += 1;
      device = this.devices[this.overlaps % this.devices.length];
    }
    const seq = device.sent + 1;
    if (this.track) device.sent = seq;
    context.device = device;
    context.seq = seq;
    return {
      method: 'PUT',
      path: `/api/v1/capabilities/${device.deviceId}`,
      headers: { 'content-type': 'application/json' },
      body: reportBody(device.deviceId, seq),
    };
  }

  private answered(status: number, context: RequestContext): void {
    const device = context.device as Device | undefined;
    const seq = context.seq as number | undefined;
    if (!device || seq === undefined) return;
    if (this.track && status >= 200 && status < 300 && seq > device.acked) device.acked = seq;
    this.free.push(device);
  }
}

/** Report `seq` of a device: odd and even sequence numbers differ in memory and a label. */
function reportBody(deviceId: string, seq: number): string {
  const odd = seq % 2 === 1;
  return capabilityBody(deviceId, {
    memory: odd ? '16Gi' : '8Gi',
    labels: { site: 'plant-1', variant: odd ? 'b' : 'a', 'bench-seq': seq },
  });
}

interface SideStats {
  api: ServerStats;
  worker: ServerStats;
  postgresCpuMs: number;
  /** pg_stat_database of the bench database over the window. */
  db: DatabaseActivity;
}

interface ReportsResult {
  caseResult: CaseResult;
  wfmDetail: SideStats;
  baselineDetail: SideStats;
  drainSeconds: (number | undefined)[];
  verification: string[];
  statusCounts: Record<string, number>;
}

async function measureWindow(
  side: 'wfm' | 'baseline',
  port: number,
  groups: ConnectionGroup[],
  children: { api: ServerChild; worker: ServerChild; baseline: ServerChild },
  warmupS: number,
  durationS: number,
  caPem: string,
): Promise<{ measured: Measured; detail: SideStats }> {
  const server = side === 'wfm' ? children.api : children.baseline;
  let clientCpu = process.cpuUsage();
  let atStart: Promise<unknown> | undefined;
  let pgAtStart = new Map<number, number>();
  let dbAtStart: DatabaseActivity | undefined;
  const load = await runConnectionGroups({ host: '127.0.0.1', port, ca: caPem }, groups, {
    warmupMs: warmupS * 1000,
    durationMs: durationS * 1000,
    onMeasureStart: () => {
      clientCpu = process.cpuUsage();
      atStart = Promise.all([
        server.stats(),
        children.worker.stats(),
        h.postgresCpu().then((v) => (pgAtStart = v)),
        h.databaseActivity().then((v) => (dbAtStart = v)),
      ]);
      return atStart;
    },
  });
  const cpu = process.cpuUsage(clientCpu);
  await atStart;
  const [serverStats, workerStats, pgNow, dbNow] = await Promise.all([
    server.stats(),
    children.worker.stats(),
    h.postgresCpu(),
    h.databaseActivity(),
  ]);
  return {
    measured: { load, server: serverStats, clientCpuMs: (cpu.user + cpu.system) / 1000 },
    detail: {
      api: serverStats,
      worker: workerStats,
      postgresCpuMs: postgresCpuBetween(pgAtStart, pgNow),
      db: dbAtStart ? activityBetween(dbAtStart, dbNow) : dbNow,
    },
  };
}

function mergeDetail(parts: SideStats[]): SideStats {
  return {
    api: sumStats(parts.map((p) => p.api)),
    worker: sumStats(parts.map((p) => p.worker)),
    postgresCpuMs: parts.reduce((n, p) => n + p.postgresCpuMs, 0),
    db: parts.map((p) => p.db).reduce((a, b) => activitySum(a, b)),
  };
}

async function reportsPart(
  ready: WfmReady,
  tls: Awaited<ReturnType<Harness['tlsFiles']>>,
  api: ServerChild,
  worker: ServerChild,
): Promise<ReportsResult> {
  const clientIds = Array.from({ length: CLIENTS }, (_, i) => `cap-${String(i).padStart(3, '0')}`);
  h.log(`accepting ${CLIENTS} clients and minting their SVIDs`);
  const svids = await h.enrol(ready, tls, clientIds);

  const devices: Device[] = Array.from({ length: DEVICES }, (_, i) => ({
    clientId: clientIds[i % CLIENTS],
    deviceId: `edge-${String(i).padStart(5, '0')}`,
    sent: 0,
    acked: 0,
  }));
  h.log(`reporting ${DEVICES} devices once (created; report 0)`);
  const agents = new Map(
    clientIds.map((id) => [id, new https.Agent({ keepAlive: true, maxSockets: 4 })] as const),
  );
  try {
    await forEachLimit(devices, 16, async (d) => {
      const svid = svids.get(d.clientId)!;
      const res = await request(new URL(`/api/v1/capabilities/${d.deviceId}`, ready.url), {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: reportBody(d.deviceId, 0),
        ca: tls.caPem,
        cert: svid.certChainPem,
        key: svid.keyPem,
        agent: agents.get(d.clientId),
        timeoutMs: 20_000,
      });
      if (res.status !== 201) throw new Error(`creating ${d.deviceId}: HTTP ${res.status} ${res.text()}`);
    });
  } finally {
    for (const a of agents.values()) a.destroy();
  }
  const firstDrain = await h.waitQueueIdle(DRAIN_TIMEOUT_MS);
  h.log(`created; the worker drained the first recomputations in ${firstDrain?.toFixed(1) ?? '> 60'} s`);

  const baseline = await h.startBaseline(tls, ready.sessionLifetimeSeconds, {
    body: '',
    contentType: 'text/plain',
    readBody: true,
  });
  const children = { api, worker, baseline: baseline.child };

  // connections per client: as even as C allows (C=50 over 20 clients: 10 × 3 and 10 × 2)
  const connectionsOf = (i: number) =>
    Math.floor(CONCURRENCY / CLIENTS) + (i < CONCURRENCY % CLIENTS ? 1 : 0);
  const byClient = new Map(clientIds.map((id) => [id, devices.filter((d) => d.clientId === id)]));
  const wfmLoads = clientIds.map((id) => new ClientLoad(byClient.get(id)!, true));
  const baselineDevices = devices.map((d) => ({ ...d }));
  const baselineLoads = clientIds.map(
    (id) =>
      new ClientLoad(
        baselineDevices.filter((d) => d.clientId === id),
        false,
      ),
  );
  const groupsOf = (loads: ClientLoad[]) =>
    loads.map((l, i) => l.group(svids.get(clientIds[i])!, connectionsOf(i)));

  const details: Record<'wfm' | 'baseline', SideStats[]> = { wfm: [], baseline: [] };
  const drainSeconds: (number | undefined)[] = [];
  h.log(
    `${PLAN.rounds} × ${(PLAN.durationS / PLAN.rounds).toFixed(1)} s per side after ${PLAN.warmupS} s warm-up, ` +
      `C=${CONCURRENCY}`,
  );
  let wfmWindows = 0;
  const parts = await alternate(PLAN, async (side, warmupS, sliceS) => {
    // the worker works off the previous WFM window first, so it does not run during a baseline window
    const drained = await h.waitQueueIdle(DRAIN_TIMEOUT_MS);
    if (side === 'baseline' || wfmWindows > 0) drainSeconds.push(drained);
    if (side === 'wfm') wfmWindows += 1;
    const port = side === 'wfm' ? ready.port : baseline.port;
    const { measured, detail } = await measureWindow(
      side,
      port,
      groupsOf(side === 'wfm' ? wfmLoads : baselineLoads),
      children,
      warmupS,
      sliceS,
      tls.caPem,
    );
    details[side].push(detail);
    h.log(windowSummary(side, measured));
    return measured;
  });
  const drainedAtEnd = await h.waitQueueIdle(DRAIN_TIMEOUT_MS);
  drainSeconds.push(drainedAtEnd);

  // Verification: what each device's row holds against what the load generator saw answered.
  const { rows } = await h.db().query<{
    client: string;
    device_id: string;
    seq: string | null;
    variant: string | null;
    memory_text: string | null;
    capability_version: number;
    recomputed_version: number;
  }>(
    `SELECT d.client_external_id AS client, d.device_id, d.labels->>'bench-seq' AS seq, d.labels->>'variant' AS variant,
            d.memory_text, d.capability_version, d.recomputed_version
       FROM device d WHERE d.client_external_id LIKE 'cap-%' AND d.deleted_at IS NULL`,
  );
  const stored = new Map(rows.map((r) => [`${r.client}|${r.device_id}`, r]));
  let lastAcked = 0;
  let laterUnanswered = 0;
  let stale = 0;
  let missing = 0;
  let inconsistent = 0;
  for (const d of devices) {
    const row = stored.get(`${d.clientId}|${d.deviceId}`);
    if (!row || row.seq === null) {
      missing += 1;
      continue;
    }
    const seq = Number(row.seq);
    const odd = seq % 2 === 1;
    if (row.variant !== (odd ? 'b' : 'a') || row.memory_text !== (odd ? '16Gi' : '8Gi')) inconsistent += 1;
    if (seq === d.acked) lastAcked += 1;
    else if (seq > d.acked && seq <= d.sent) laterUnanswered += 1;
    else stale += 1;
  }
  const recomputed = rows.filter((r) => r.recomputed_version >= r.capability_version).length;
  const reportsSent = devices.reduce((n, d) => n + d.sent, 0);
  const verification = [
    `- Rows: ${fmt(rows.length)} of ${fmt(DEVICES)} devices (${missing} missing); ${fmt(reportsSent)} reports sent to the WFM in the windows.`,
    `- Stored report = the last one answered 2xx: ${fmt(lastAcked)}; a later one whose answer the load generator ` +
      `dropped when a window ended (the service still stored it): ${fmt(laterUnanswered)}; older than the last ` +
      `answered one (a lost update): ${fmt(stale)}; columns not matching the stored document: ${fmt(inconsistent)}.`,
    `- Recomputed up to the stored capability version after the drain: ${fmt(recomputed)} of ${fmt(rows.length)}.`,
  ];
  const overlaps = wfmLoads.reduce((n, l) => n + l.overlaps, 0);
  if (overlaps > 0) verification.push(`- Requests that had to reuse a device still in flight: ${overlaps}.`);

  const result = caseResult(
    `PUT /api/v1/capabilities/{deviceId}, kept-alive mTLS, ${CLIENTS} clients, ${DEVICES} devices`,
    CONCURRENCY,
    parts,
  );
  return {
    caseResult: result,
    wfmDetail: mergeDetail(details.wfm),
    baselineDetail: mergeDetail(details.baseline),
    drainSeconds,
    verification,
    statusCounts: result.wfm.load.errorKinds,
  };
}

function reportsDetailTable(r: ReportsResult): string {
  const c = r.caseResult;
  const perReq = (cpuMs: number, ok: number) => fmt((cpuMs * 1000) / Math.max(1, ok));
  const pct = (cpuMs: number, wallMs: number) => `${fmt((100 * cpuMs) / Math.max(1, wallMs))} %`;
  const wall = (m: Measured) => m.load.seconds * 1000;
  const w = c.wfm;
  const b = c.baseline;
  return table(
    ['Side', 'Process', 'CPU µs/request', 'CPU (% of one core)'],
    [
      [
        'WFM',
        'API (HTTPS, guard, parse, transaction, enqueue)',
        perReq(w.server.cpuMs, w.load.ok),
        pct(w.server.cpuMs, w.server.wallMs),
      ],
      [
        'WFM',
        'worker (recompute jobs, while the window ran)',
        perReq(r.wfmDetail.worker.cpuMs, w.load.ok),
        pct(r.wfmDetail.worker.cpuMs, r.wfmDetail.worker.wallMs),
      ],
      [
        'WFM',
        'PostgreSQL backends of the bench database',
        perReq(r.wfmDetail.postgresCpuMs, w.load.ok),
        pct(r.wfmDetail.postgresCpuMs, wall(w)),
      ],
      ['WFM', 'load generator', perReq(w.clientCpuMs, w.load.ok), pct(w.clientCpuMs, wall(w))],
      [
        'baseline',
        'bare Node https (reads the body, 200)',
        perReq(b.server.cpuMs, b.load.ok),
        pct(b.server.cpuMs, b.server.wallMs),
      ],
      ['baseline', 'load generator', perReq(b.clientCpuMs, b.load.ok), pct(b.clientCpuMs, wall(b))],
    ],
    ['l', 'l', 'r', 'r'],
  );
}

// ---------------------------------------------------------------------------------------------------

await h.run(async () => {
  h.log(`starting the API and the worker (database ${h.dbName})`);
  const { child: api, ready } = await h.startService({
    name: 'api',
    roles: 'api',
    cpuProfile: args['cpu-prof'],
  });
  const { child: worker } = await h.startService({
    name: 'worker',
    roles: 'worker',
    cpuProfile: args['cpu-prof'],
  });
  const wfm = ready!;
  const tls = await h.tlsFiles(wfm);

  const reports = PARTS.includes('reports') ? await reportsPart(wfm, tls, api, worker) : undefined;
  const inventory = PARTS.includes('inventory')
    ? await inventoryPart(h, wfm, tls, INVENTORY, LIST_REQUESTS)
    : undefined;
  const memory = [
    ['API', procMemoryLine(api.pid)],
    ['worker', procMemoryLine(worker.pid)],
  ];

  const lines: string[] = [h.measuredWith(COMMAND), ''];
  if (reports) {
    const r = reports;
    lines.push(
      '### (a) Capability reports over kept-alive mutual TLS',
      '',
      `What it compares: \`PUT /api/v1/capabilities/{deviceId}\` of the real service (API and worker in two ` +
        `processes; rate limit off, log level warn, recompute debounce ${process.env.WFM_RECOMPUTE_DEBOUNCE_MS ?? '1000'} ms) from ` +
        `${CLIENTS} accepted rc.3 clients (each its own X.509-SVID) over ${CONCURRENCY} kept-alive connections, for ` +
        `${fmt(DEVICES)} devices (${DEVICES / CLIENTS} per client). Each PUT sends the device's next report, which ` +
        'differs from its previous one (memory 8Gi ↔ 16Gi, a label, a sequence number), so every report is a change: ' +
        'validation, a transaction (lock, update, history entry, history trim) and a recompute job. No device is ' +
        'reported on two connections at once. Baseline: a bare Node `https.createServer` with the same certificate ' +
        'and TLS options, the same client certificates and bodies, that reads the body and answers 200. Ratio = WFM / ' +
        `baseline requests/s (in brackets: lowest–highest of the ${PLAN.rounds} alternating rounds).`,
      '',
      mainTable([r.caseResult]),
      '',
      'Where the CPU goes during the WFM windows (per answered request) and for the baseline:',
      '',
      reportsDetailTable(r),
      '',
      dbLine(r),
      `- The worker drained the recompute queue before each window so that it did not run during baseline ` +
        `windows: ${r.drainSeconds.map((s) => (s === undefined ? '> 60 s' : `${s.toFixed(1)} s`)).join(', ')} ` +
        '(after the WFM windows; the recomputations of the changes a WFM window accepted).',
      ...r.verification,
      '',
    );
  }
  if (inventory) {
    const inv = inventory;
    lines.push(
      `### (b) Device list with ${fmt(INVENTORY)} devices`,
      '',
      `Seeded with SQL in ${inv.seedSeconds.toFixed(1)} s (then ANALYZE): ${fmt(INVENTORY_CLIENTS)} clients × ` +
        `${Math.ceil(INVENTORY / INVENTORY_CLIENTS)} devices (10 gateways without workloads, 30 devices behind them, ` +
        '60 top-level), architectures amd64/arm64/arm (50/30/20 %), 1–16 cores, 1–32Gi memory, 16–512Gi storage, ' +
        'gpu on 1 in 7, camera on 1 in 11, display on 1 in 13, deployment types helm/compose/both, labels ' +
        `{"site": "plant-<n mod 50>", "line": <one of 10>}, a capability document per device; the device table with ` +
        `its indexes is ${inv.tableMiB.toFixed(0)} MiB. Requests: \`GET /operator/v1/devices?…\` over HTTPS with the ` +
        `admin token, default page size 50, one at a time on a kept-alive connection, ${inv.overall.n} measured after ` +
        '12 warm-up requests, kinds interleaved at random (same seed every run). "SQL ms": Execution Time of ' +
        "EXPLAIN ANALYZE of that kind's slowest request, re-issued with the SQL that `DeviceRepository.list()` builds.",
      '',
      table(
        [
          'Query kind',
          'Example',
          'Requests',
          'p50 ms',
          'p95 ms',
          'p99 ms',
          'max ms',
          'Items/page',
          'SQL ms (slowest)',
        ],
        [
          ...inv.perKind.map((k) => [
            k.kind,
            `\`${exampleOf(inv, k.kind)}\``,
            k.n,
            ms(k.p50),
            ms(k.p95),
            ms(k.p99),
            ms(k.max),
            fmt(k.items, 1),
            ms(k.sqlMs),
          ]),
          [
            '**all**',
            '',
            inv.overall.n,
            ms(inv.overall.p50),
            ms(inv.overall.p95),
            ms(inv.overall.p99),
            ms(inv.overall.max),
            '',
            '',
          ],
        ],
        ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
      ),
      '',
      `Target p95 ≤ 100 ms overall: ${inv.overall.p95 <= 100 ? 'met' : `missed (${ms(inv.overall.p95)} ms, ${fmt(inv.overall.p95 / 100, 1)}× the target)`}; ` +
        `slowest kind by p95: **${inv.slowest.kind}** (its slowest request: \`${displayQuery(inv.slowest.query)}\`).`,
      '',
      `EXPLAIN (ANALYZE, BUFFERS) of the SQL \`DeviceRepository.list()\` issues for that request ` +
        `(parameters ${JSON.stringify(inv.slowest.values)}):`,
      '',
      '```text',
      inv.slowest.plan,
      '```',
      '',
      `The same request with the filter applied first (\`WITH m AS MATERIALIZED (SELECT … WHERE …) SELECT * FROM m ` +
        `ORDER BY "deviceId", id LIMIT …\`: bitmap scans of the GIN indexes, then a top-N sort of the matches): ` +
        `Execution Time ${ms(inv.slowest.filterFirst.executionMs)} ms instead of ${ms(inv.perKind.find((k) => k.kind === inv.slowest.kind)?.sqlMs ?? NaN)} ms ` +
        '(plan in the results file).',
      '',
    );
  }
  lines.push(
    '### Machine',
    '',
    ...h.machineLines(COMMAND),
    `- Peak resident memory (VmHWM): ${memory.map(([n, m]) => `${n} ${m}`).join(', ')}`,
  );
  const section = lines.join('\n');
  const plansText = inventory
    ? `\n\n## Filter first, slowest kind\n\n\`\`\`text\n${inventory.slowest.filterFirst.plan}\n\`\`\`\n\n## All plans\n\n${inventory.plans.map((p) => `### ${p.kind}: ${queryString(p.query)}\n\n\`\`\`text\n${p.plan}\n\`\`\``).join('\n\n')}\n`
    : '';
  await h.publish({
    name: 'capabilities',
    heading: 'Capabilities benchmark',
    section,
    readmeSection: UPDATES_README ? SECTION : undefined,
    appendix: plansText.replace(/^\n/, ''),
  });
  if (inventory) {
    await writeFile(
      join(h.resultsDir, `capabilities-${h.stamp}-samples.json`),
      JSON.stringify(
        inventory.samples.map((s) => ({
          kind: s.kind,
          query: queryString(s.query),
          ms: s.ms,
          items: s.items,
        })),
      ),
    );
  }
});

/** PostgreSQL work per answered report in the WFM windows (API and worker together). */
function dbLine(r: ReportsResult): string {
  const ok = Math.max(1, r.caseResult.wfm.load.ok);
  const db = r.wfmDetail.db;
  const per = (n: number) => fmt(n / ok, 1);
  return (
    `- PostgreSQL per answered report during the WFM windows (API and worker, from pg_stat_database): ` +
    `${per(db.commits)} transactions (an autocommit statement counts as one), ${per(db.returned)} rows read by scans, ` +
    `${per(db.fetched)} fetched by index, ${per(db.inserted)} inserted, ${per(db.updated)} updated, ` +
    `${per(db.deleted)} deleted.`
  );
}

function procMemoryLine(pid: number | undefined): string {
  const m = procMemory(pid);
  return m ? `${m.peakMiB.toFixed(0)} MiB` : '–';
}
