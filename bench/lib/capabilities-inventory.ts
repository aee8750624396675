import { fmt } from './report.js';
import { insertDevicesSql } from './devices.js';
import { type Harness, type TlsFiles } from './harness.js';
import type { WfmReady } from './ipc.js';
import { percentile } from './load.js';

/**
 * Part (b) of bench/capabilities.ts: the device inventory. Seeds `inventory` devices of 1,000 clients
 * with SQL, sends filtered, keyset-paginated `GET /operator/v1/devices` requests of several kinds one
 * at a time, and EXPLAINs the SQL that DeviceRepository.list() issues for the slowest kind.
 */
export const INVENTORY_CLIENTS = 1000;

export type Kind =
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
export type ListQuery = Record<string, string | string[]>;

export interface ListSample {
  kind: Kind;
  query: ListQuery;
  ms: number;
  items: number;
}

export async function seedInventory(
  h: Harness,
  inventory: number,
): Promise<{ seconds: number; tableMiB: number }> {
  const t0 = performance.now();
  const db = h.db();
  await db.query(
    `INSERT INTO client (id, profile, external_id, state, updated_at)
     SELECT gen_random_uuid(), 'rc3', 'inv-' || lpad(g::text, 4, '0'), 'active', now()
       FROM generate_series(0, $1::int - 1) g`,
    [INVENTORY_CLIENTS],
  );
  // 100 devices per client: 10 gateways (no workloads), 30 devices behind them, 60 top-level edge devices
  const perClient = Math.ceil(inventory / INVENTORY_CLIENTS);
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
      FROM (SELECT n, n / ${perClient} AS k, n % ${perClient} AS j FROM generate_series(0, ${inventory - 1}) n) s
      JOIN (SELECT id, external_id, (row_number() OVER (ORDER BY external_id))::int - 1 AS k
              FROM client WHERE external_id LIKE 'inv-%') c ON c.k = s.k`;
  await db.query(insertDevicesSql(source));
  await db.query('ANALYZE device');
  await db.query('ANALYZE client');
  const size = await db.query<{ bytes: string }>(`SELECT pg_total_relation_size('device') AS bytes`);
  return { seconds: (performance.now() - t0) / 1000, tableMiB: Number(size.rows[0]?.bytes ?? 0) / 2 ** 20 };
}

export function queryString(q: ListQuery): string {
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
  if (labels.length > 0) {
    where.push(`effective_labels @> ${p(JSON.stringify(Object.fromEntries(labels)))}::jsonb`);
  }
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
       runtimes, deployment_types AS "deploymentTypes", otel_collector AS "otelCollector", labels,
       effective_labels AS "effectiveLabels", extensions,
       capability_version AS "capabilityVersion", recomputed_version AS "recomputedVersion",
       first_reported_at AS "firstReportedAt", last_reported_at AS "lastReportedAt", changed_at AS "changedAt",
       ARRAY(SELECT o.key FROM device_operator_label o
              WHERE o.client_id = device.client_id AND o.device_id = device.device_id) AS "operatorKeys"
  FROM device
 WHERE ${where.join(' AND ')}
 ORDER BY device_id, id
 LIMIT ${limit}`;
  return { text, values };
}

async function explain(
  h: Harness,
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
async function explainFilterFirst(h: Harness, q: ListQuery): Promise<{ plan: string; executionMs: number }> {
  const { text, values } = listSql(q);
  const [select, rest] = text.split('\n ORDER BY ');
  const limit = rest.slice(rest.indexOf('LIMIT'));
  const sql = `WITH m AS MATERIALIZED (${select}) SELECT * FROM m ORDER BY "deviceId", id ${limit}`;
  const { rows } = await h.db().query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, values);
  const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
  return { plan, executionMs: Number(/Execution Time: ([\d.]+) ms/.exec(plan)?.[1] ?? NaN) };
}

export interface InventoryResult {
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

export async function inventoryPart(
  h: Harness,
  ready: WfmReady,
  tls: TlsFiles,
  inventory: number,
  listRequests: number,
): Promise<InventoryResult> {
  h.log(`seeding ${fmt(inventory)} devices of ${INVENTORY_CLIENTS} clients with SQL`);
  const seeded = await seedInventory(h, inventory);
  h.log(
    `seeded in ${seeded.seconds.toFixed(1)} s (device table with indexes: ${seeded.tableMiB.toFixed(0)} MiB)`,
  );

  const random = prng(42);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const perClient = Math.ceil(inventory / INVENTORY_CLIENTS);
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
  h.log(`${listRequests} list requests, one at a time, kinds interleaved`);
  const plan = Array.from({ length: listRequests }, (_, i) => KINDS[i % KINDS.length]);
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
    const explained = await explain(h, worst.query);
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
      filterFirst: await explainFilterFirst(h, slowestPlan.query),
    },
    plans,
  };
}

export function exampleOf(inv: InventoryResult, kind: Kind): string {
  const s = inv.samples.find((x) => x.kind === kind);
  return s ? displayQuery(s.query) : '';
}

/** A query string for people: `=` unescaped, the cursor elided. */
export function displayQuery(query: ListQuery): string {
  const q = { ...query };
  if (typeof q.after === 'string') q.after = '<cursor>';
  return queryString(q).replace(/%3D/g, '=').replace(/%3C/g, '<').replace(/%3E/g, '>');
}
