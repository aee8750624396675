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
import { capabilityBody, insertDevicesSql } from './lib/devices.js';
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
import { type ConnectionGroup, percentile, type RequestContext, runConnectionGroups } from './lib/load.js';
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
const INVENTORY_CLIENTS = 1000;
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
// (b) device inventory

type Kind =
  'label' | 'two labels' | 'architecture+minCores' | 'peripheral' | 'client' | 'parent' | 'next page (after)';
const KINDS: Kind[] = [
  'label',
  'two labels',
  'architecture+minCores',
  'peripheral',
  'client',
  'parent',
  'next page (after)',
];
const LINES = ['press', 'paint', 'assembly', 'weld', 'mold', 'pack', 'test', 'stamp', 'cast', 'qa'];

/** A small deterministic PRNG (mulberry32), so every run asks the same questions. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The query parameters of GET /operator/v1/devices. */
type ListQuery = Record<string, string | string[]>;

interface ListSample {
  kind: Kind;
  query: ListQuery;
  ms: number;
  items: number;
}

async function seedInventory(): Promise<{ seconds: number; tableMiB: number }> {
  const t0 = performance.now();
  const db = h.db();
  await db.query(
    `INSERT INTO client (id, profile, external_id, state, updated_at)
     SELECT gen_random_uuid(), 'rc3', 'inv-' || lpad(g::text, 4, '0'), 'active', now()
       FROM generate_series(0, $1::int - 1) g`,
    [INVENTORY_CLIENTS],
  );
  // 100 devices per client: 10 gateways (no workloads), 30 devices behind them, 60 top-level edge devices
  const perClient = Math.ceil(INVENTORY / INVENTORY_CLIENTS);
  const source = `
    SELECT c.id AS client_id, c.external_id AS client_external_id,
           CASE WHEN s.j < 10 THEN 'gw-' || lpad(s.n::text, 6, '0')
                WHEN s.j < 40 THEN 'gw-' || lpad((s.n - s.j + s.j % 10)::text, 6, '0') || '/sensor-' || lpad(s.n::text, 6, '0')
                ELSE 'edge-' || lpad(s.n::text, 6, '0') END AS device_id,
           CASE WHEN s.j >= 10 AND s.j < 40 THEN 'gw-' || lpad((s.n - s.j + s.j % 10)::text, 6, '0') END AS parent_device_id,
           CASE WHEN s.j >= 10 AND s.j < 40 THEN 1 ELSE 0 END AS depth,
           s.j >= 10 AS hosting,
           (ARRAY['Acme Industrial', 'Siemens', 'Beckhoff', 'Advantech', 'Moxa'])[1 + s.n % 5] AS vendor,
           CASE WHEN s.j < 10 THEN 'GW-1' ELSE 'EDGE-' || (s.n * 13) % 7 END AS model_number,
           'SN-' || s.n AS serial_number,
           CASE WHEN s.j < 10 THEN NULL
                ELSE (ARRAY['amd64', 'amd64', 'amd64', 'amd64', 'amd64', 'arm64', 'arm64', 'arm64', 'arm', 'arm'])[1 + (s.n * 7) % 10] END AS arch,
           CASE WHEN s.j < 10 THEN 0 ELSE (ARRAY[1, 2, 4, 4, 8, 8, 16])[1 + (s.n * 13) % 7] END AS cores,
           CASE WHEN s.j < 10 THEN NULL ELSE (ARRAY[1, 2, 4, 8, 8, 16, 32])[1 + (s.n * 17) % 7] END AS mem_gi,
           CASE WHEN s.j < 10 THEN NULL ELSE (ARRAY[16, 32, 64, 128, 256, 512])[1 + (s.n * 19) % 6] END AS storage_gi,
           CASE WHEN s.j < 10 THEN '{}'::text[]
                WHEN s.n % 7 = 0 THEN '{gpu}'::text[] WHEN s.n % 11 = 0 THEN '{camera}'::text[]
                WHEN s.n % 13 = 0 THEN '{display,speaker}'::text[] ELSE '{}'::text[] END AS peripheral_types,
           CASE WHEN s.j < 10 THEN '{ethernet,canbus}'::text[] WHEN s.n % 3 = 0 THEN '{ethernet,wifi}'::text[]
                WHEN s.n % 5 = 0 THEN '{ethernet,rs232}'::text[] ELSE '{ethernet}'::text[] END AS interface_types,
           CASE WHEN s.j < 10 THEN '{}'::text[] ELSE '{oci}'::text[] END AS runtimes,
           CASE WHEN s.j < 10 THEN '{}'::text[] WHEN s.n % 3 = 0 THEN '{compose}'::text[]
                WHEN s.n % 3 = 1 THEN '{helm}'::text[] ELSE '{helm,compose}'::text[] END AS deployment_types,
           jsonb_build_object('site', 'plant-' || (s.n % 50),
                              'line', (ARRAY['${LINES.join("', '")}'])[1 + (s.n / 50) % 10]) AS labels,
           now() - ((s.n * 37) % 86400) * interval '1 second' AS reported_at
      FROM (SELECT n, n / ${perClient} AS k, n % ${perClient} AS j FROM generate_series(0, ${INVENTORY - 1}) n) s
      JOIN (SELECT id, external_id, (row_number() OVER (ORDER BY external_id))::int - 1 AS k
              FROM client WHERE external_id LIKE 'inv-%') c ON c.k = s.k`;
  await db.query(insertDevicesSql(source));
  await db.query('ANALYZE device');
  await db.query('ANALYZE client');
  const size = await db.query<{ bytes: string }>(`SELECT pg_total_relation_size('device') AS bytes`);
  return { seconds: (performance.now() - t0) / 1000, tableMiB: Number(size.rows[0]?.bytes ?? 0) / 2 ** 20 };
}

function queryString(q: ListQuery): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    for (const value of Array.isArray(v) ? v : [v]) params.append(k, value);
  }
  return params.toString();
}

/** The SQL DeviceRepository.list() builds for these query parameters (same clauses, same order). */
function listSql(q: ListQuery): { text: string; values: unknown[] } {
  const values: unknown[] = [];
  const p = (v: unknown) => {
    values.push(v);
    return `$${values.length}`;
  };
  const where = ['deleted_at IS NULL'];
  if (typeof q.clientId === 'string') where.push(`client_external_id = ${p(q.clientId)}`);
  const labels = (Array.isArray(q.label) ? q.label : q.label ? [q.label] : []).map((l) => [
    l.slice(0, l.indexOf('=')),
    l.slice(l.indexOf('=') + 1),
  ]);
  if (labels.length > 0) where.push(`labels @> ${p(JSON.stringify(Object.fromEntries(labels)))}::jsonb`);
  if (typeof q.architecture === 'string') where.push(`architectures @> ARRAY[${p(q.architecture)}]::text[]`);
  if (typeof q.minCores === 'string') where.push(`max_cores >= ${p(Number(q.minCores))}`);
  if (typeof q.peripheral === 'string') where.push(`peripheral_types @> ARRAY[${p(q.peripheral)}]::text[]`);
  if (typeof q.parent === 'string') where.push(`parent_device_id = ${p(q.parent)}`);
  if (typeof q.after === 'string') {
    const [deviceId, id] = JSON.parse(Buffer.from(q.after, 'base64url').toString('utf8')) as [string, string];
    where.push(`(device_id, id) > (${p(deviceId)}, ${p(id)}::uuid)`);
  }
  const limit = p(Number(q.limit ?? 50) + 1);
  const text = `SELECT id, client_id AS "clientId", client_external_id AS "clientExternalId", client_profile AS "clientProfile",
       device_id AS "deviceId", parent_device_id AS "parentDeviceId", depth, hosting, vendor,
       model_number AS "modelNumber", serial_number AS "serialNumber", architectures, max_cores AS "maxCores",
       cpus, memory_bytes AS "memoryBytes", memory_text AS "memoryText", storage_bytes AS "storageBytes",
       storage_text AS "storageText", peripheral_types AS "peripheralTypes", interface_types AS "interfaceTypes",
       runtimes, deployment_types AS "deploymentTypes", otel_collector AS "otelCollector", labels, extensions,
       capability_version AS "capabilityVersion", recomputed_version AS "recomputedVersion",
       first_reported_at AS "firstReportedAt", last_reported_at AS "lastReportedAt", changed_at AS "changedAt"
  FROM device
 WHERE ${where.join(' AND ')}
 ORDER BY device_id, id
 LIMIT ${limit}`;
  return { text, values };
}

async function explain(
  q: ListQuery,
): Promise<{ plan: string; executionMs: number; sql: string; values: unknown[] }> {
  const { text, values } = listSql(q);
  const { rows } = await h.db().query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${text}`, values);
  const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
  const executionMs = Number(/Execution Time: ([\d.]+) ms/.exec(plan)?.[1] ?? NaN);
  return { plan, executionMs, sql: text, values };
}

/**
 * The same filter evaluated first and sorted afterwards (a MATERIALIZED CTE: the GIN/bitmap indexes find
 * the matches, a top-N sort orders them), to show what a list() that does so for selective filters costs.
 */
async function explainFilterFirst(q: ListQuery): Promise<{ plan: string; executionMs: number }> {
  const { text, values } = listSql(q);
  const [select, rest] = text.split('\n ORDER BY ');
  const limit = rest.slice(rest.indexOf('LIMIT'));
  const sql = `WITH m AS MATERIALIZED (${select}) SELECT * FROM m ORDER BY "deviceId", id ${limit}`;
  const { rows } = await h.db().query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, values);
  const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
  return { plan, executionMs: Number(/Execution Time: ([\d.]+) ms/.exec(plan)?.[1] ?? NaN) };
}

interface InventoryResult {
  seedSeconds: number;
  tableMiB: number;
  samples: ListSample[];
  perKind: {
    kind: Kind;
    n: number;
    p50: number;
    p95: number;
    p99: number;
    max: number;
    items: number;
    sqlMs: number;
  }[];
  overall: { n: number; p50: number; p95: number; p99: number; max: number };
  slowest: {
    kind: Kind;
    query: ListQuery;
    plan: string;
    sql: string;
    values: unknown[];
    filterFirst: { plan: string; executionMs: number };
  };
  plans: { kind: Kind; query: ListQuery; plan: string }[];
}

async function inventoryPart(
  ready: WfmReady,
  tls: Awaited<ReturnType<Harness['tlsFiles']>>,
): Promise<InventoryResult> {
  h.log(`seeding ${fmt(INVENTORY)} devices of ${INVENTORY_CLIENTS} clients with SQL`);
  const seeded = await seedInventory();
  h.log(
    `seeded in ${seeded.seconds.toFixed(1)} s (device table with indexes: ${seeded.tableMiB.toFixed(0)} MiB)`,
  );

  const random = prng(42);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const perClient = Math.ceil(INVENTORY / INVENTORY_CLIENTS);
  const firstPage = (kind: Kind): ListQuery => {
    switch (kind) {
      case 'label':
        return { label: [`site=plant-${Math.floor(random() * 50)}`] };
      case 'two labels':
        return { label: [`site=plant-${Math.floor(random() * 50)}`, `line=${pick(LINES)}`] };
      case 'architecture+minCores':
        return { architecture: pick(['amd64', 'arm64', 'arm']), minCores: String(pick([2, 4, 8, 16])) };
      case 'peripheral':
        return { peripheral: pick(['gpu', 'camera', 'display']) };
      case 'client':
        return { clientId: `inv-${String(Math.floor(random() * INVENTORY_CLIENTS)).padStart(4, '0')}` };
      case 'parent': {
        const block = Math.floor(random() * INVENTORY_CLIENTS) * perClient;
        return { parent: `gw-${String(block + Math.floor(random() * 10)).padStart(6, '0')}` };
      }
      case 'next page (after)':
        throw new Error('a next page continues another query');
    }
  };
  // next pages continue the label, architecture and peripheral lists (and the unfiltered list) page by page
  const chains: { query: ListQuery; next: string | null }[] = [];
  const samples: ListSample[] = [];
  const ask = async (kind: Kind, query: ListQuery, record: boolean) => {
    const t0 = performance.now();
    const res = await h.operator(ready, tls, 'GET', `/operator/v1/devices?${queryString(query)}`);
    const elapsed = performance.now() - t0;
    if (res.status !== 200) {
      throw new Error(`GET devices ${queryString(query)}: HTTP ${res.status} ${res.text()}`);
    }
    const page = res.json<{ items: unknown[]; next: string | null }>();
    if (record) samples.push({ kind, query, ms: elapsed, items: page.items.length });
    return page;
  };
  const one = async (kind: Kind, record: boolean) => {
    if (kind === 'next page (after)') {
      let chain =
        chains.find((c) => c.next !== null && random() < 0.5) ?? chains.find((c) => c.next !== null);
      if (!chain) {
        chain = { query: {}, next: null };
        chain.next = (await ask('label', {}, false)).next;
        chains.push(chain);
      }
      const query = { ...chain.query, after: chain.next! };
      chain.next = (await ask(kind, query, record)).next;
      return;
    }
    const query = firstPage(kind);
    const page = await ask(kind, query, record);
    if (page.next !== null && kind !== 'client' && kind !== 'parent') chains.push({ query, next: page.next });
  };
  h.log('warming up the list path (12 requests)');
  for (let i = 0; i < 12; i++) await one(KINDS[i % KINDS.length], false);
  h.log(`${LIST_REQUESTS} list requests, one at a time, kinds interleaved`);
  const plan = Array.from({ length: LIST_REQUESTS }, (_, i) => KINDS[i % KINDS.length]);
  for (let i = plan.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [plan[i], plan[j]] = [plan[j], plan[i]];
  }
  for (const kind of plan) await one(kind, true);

  const stats = (list: ListSample[]) => {
    const sorted = list.map((s) => s.ms).sort((a, b) => a - b);
    return {
      n: list.length,
      p50: percentile(sorted, 50),
      p95: percentile(sorted, 95),
      p99: percentile(sorted, 99),
      max: sorted[sorted.length - 1] ?? NaN,
    };
  };
  const plans: InventoryResult['plans'] = [];
  const perKind: InventoryResult['perKind'] = [];
  for (const kind of KINDS) {
    const list = samples.filter((s) => s.kind === kind);
    const worst = list.reduce((a, b) => (b.ms > a.ms ? b : a));
    const explained = await explain(worst.query);
    plans.push({ kind, query: worst.query, plan: explained.plan });
    perKind.push({
      kind,
      ...stats(list),
      items: list.reduce((n, s) => n + s.items, 0) / Math.max(1, list.length),
      sqlMs: explained.executionMs,
    });
  }
  const slowestKind = perKind.reduce((a, b) => (b.p95 > a.p95 ? b : a)).kind;
  const slowestPlan = plans.find((p) => p.kind === slowestKind)!;
  const slowestSql = listSql(slowestPlan.query);
  return {
    seedSeconds: seeded.seconds,
    tableMiB: seeded.tableMiB,
    samples,
    perKind,
    overall: stats(samples),
    slowest: {
      kind: slowestKind,
      query: slowestPlan.query,
      plan: slowestPlan.plan,
      sql: slowestSql.text,
      values: slowestSql.values,
      filterFirst: await explainFilterFirst(slowestPlan.query),
    },
    plans,
  };
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
  const inventory = PARTS.includes('inventory') ? await inventoryPart(wfm, tls) : undefined;
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

function exampleOf(inv: InventoryResult, kind: Kind): string {
  const s = inv.samples.find((x) => x.kind === kind);
  return s ? displayQuery(s.query) : '';
}

/** A query string for people: `=` unescaped, the cursor elided. */
function displayQuery(query: ListQuery): string {
  const q = { ...query };
  if (typeof q.after === 'string') q.after = '<cursor>';
  return queryString(q).replace(/%3D/g, '=').replace(/%3C/g, '<').replace(/%3E/g, '>');
}
