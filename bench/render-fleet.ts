/**
 * Benchmark: time to roll a new selector deployment out to a large fleet.
 *
 * Per fleet size (default 10,000 then 100,000): that many rc.3 clients with one hosting device each
 * are seeded with SQL (every device matches the selector's label and can host the package's compose
 * profile), then `POST /operator/v1/deployments` with `target.selector.matchLabels` starts the
 * fan-out. Measured from the POST to every target `placed` in deployment_target AND every affected
 * client's manifest issued (client_manifest rows; polled in the database), with the worker
 * (WFM_ROLES=worker) and the API (WFM_ROLES=api) in separate processes. Reports wall time, devices/s,
 * a progress timeline, CPU per device of the worker, the API and the Postgres backends, Postgres
 * transactions per 1,000 devices, and the peak resident memory of both processes. A fleet that does not
 * finish within its time limit is stopped there and reported with how far it got.
 *
 * Baseline, in the same run: right after each finished roll-out, a bare Node child process
 * (lib/render-fleet-baseline.ts, plain `pg`) does the roll-out's irreducible storage work on the same
 * fleet in the same database (selector scan, a YAML of the service's size and its sha256 per device, one
 * row per device and one manifest per client, 1,000 rows per transaction); the section reports the WFM's
 * time to all manifests issued beside the baseline's and the ratio.
 *
 *   npx tsc -p bench/tsconfig.json && node dist-bench/bench/render-fleet.js [--fleets 10000,100000]
 *     [--limit-10k 150] [--limit-100k 285] [--cpu-prof] [--no-readme]
 *
 * Only a run with the default fleets and without --cpu-prof rewrites the section in bench/README.md;
 * every run writes bench/results/render-fleet-<timestamp>.md. Needs PostgreSQL and Redis on loopback;
 * creates the throw-away database wfm_bench_<hex> and drops it at the end, also on errors and SIGINT.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { linePackage } from '../test/support/packages.js';
import { benchCli, count, positive } from './lib/cli.js';
import { insertDevicesSql } from './lib/devices.js';
import {
  activityBetween,
  type DatabaseActivity,
  Harness,
  postgresCpuBetween,
  procMemory,
  resetPeakMemory,
  sleep,
} from './lib/harness.js';
import type { ServerChild, WfmReady } from './lib/ipc.js';
import type { BaselineJob, BaselineMessage, BaselineResult } from './lib/render-fleet-baseline.js';
import { fmt, table } from './lib/report.js';

const { args, command: COMMAND } = benchCli('render-fleet', {
  fleets: { type: 'string', default: '10000,100000' },
  /** Worker process counts to measure, one after the other (the API stays one process). */
  workers: { type: 'string', default: '1,2' },
  /** Seconds a fleet below 50,000 devices may take before it is stopped. */
  'limit-10k': { type: 'string', default: '150' },
  /** Seconds a fleet of 50,000 devices or more may take before it is stopped. */
  'limit-100k': { type: 'string', default: '285' },
  'cpu-prof': { type: 'boolean', default: false },
  /** Write bench/results/ only, leave bench/README.md as it is. */
  'no-readme': { type: 'boolean', default: false },
});

const FLEETS = args.fleets.split(',').map((f) => count('fleets', f, 1_000_000));
const WORKERS = args.workers
  .split(',')
  .map((w) => count('workers', w, 8))
  .sort((a, b) => a - b);
const LIMIT_SMALL_S = positive('limit-10k', args['limit-10k'], 3600);
const LIMIT_LARGE_S = positive('limit-100k', args['limit-100k'], 3600);
const limitOf = (size: number) => (size < 50_000 ? LIMIT_SMALL_S : LIMIT_LARGE_S);
const UPDATES_README =
  !args['cpu-prof'] && !args['no-readme'] && args.fleets === '10000,100000' && args.workers === '1,2';
const SECTION = '## Rolling a selector deployment out to a fleet (deployment-spec)';
/**
 * A Postgres backend flushes its statistics to pg_stat_database when it goes idle, but at most once a
 * second; until then it holds them for up to 10 s (PGSTAT_IDLE_INTERVAL, PostgreSQL 15). The service's
 * backends stay connected, so the snapshot after a roll-out waits this long.
 */
const STATS_FLUSH_MS = 11_000;

// per fleet and worker count: the roll-out's limit, as much again for the baseline, the stats flush, a minute
const h = new Harness(
  'render-fleet',
  120 + WORKERS.length * FLEETS.reduce((n, f) => n + 2 * limitOf(f) + 60 + STATS_FLUSH_MS / 1000, 0),
);
/** Queries of this bench's own pool so far: each is a transaction of its own in pg_stat_database. */
let benchQueries = 0;
h.db().on('acquire', () => {
  benchQueries += 1;
});

interface Progress {
  s: number;
  targets: number;
  placed: number;
  inManifest: number;
  manifests: number;
  workerRssMiB: number;
  apiRssMiB: number;
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

interface FleetResult {
  size: number;
  deploymentId: string;
  /** The fleet's label value (selector `fleet: <label>`) and the external-id prefix of its clients. */
  label: string;
  prefix: string;
  /** Worker processes that consumed the recompute queue. */
  workers: number;
  seedSeconds: number;
  postMs: number;
  finished: boolean;
  limitS: number;
  /** Seconds from the POST until all targets were placed / all manifests issued (undefined: not reached). */
  placedS?: number;
  manifestsS?: number;
  wallS: number;
  last: Progress;
  timeline: Progress[];
  verified?: { listed: number; manifests: number };
  cpuMs: { worker: number; api: number; postgres: number };
  /** pg_stat_database from the POST to the end, without this bench's own queries (finished fleets only). */
  db?: DatabaseActivity;
  peakMiB: { worker: number; api: number };
  peakReset: boolean;
  backlogAtEnd: number;
  deploymentGet?: { ms: number; bytes: number; targets: number };
  /** Samples of the service's active Postgres statements (one per poll), by statement and by wait event. */
  pgSamples: number;
  pgStatements: Map<string, number>;
  pgWaits: Map<string, number>;
  baseline?: BaselineRun;
}

interface BaselineRun extends BaselineResult {
  /** Average size of the WFM's rendered YAML and client manifest body for this fleet, in bytes. */
  wfmYamlBytes: number;
  wfmManifestBytes: number;
}

/**
 * Seeds on a connection of its own that is closed at the end: a backend flushes its statistics when it
 * exits, so none of the seeding's rows and transactions reach pg_stat_database inside the measurement.
 */
async function seedFleet(size: number, tag: string): Promise<number> {
  const t0 = performance.now();
  const db = new pg.Client({ connectionString: h.databaseUrl, application_name: 'wfm-bench-seed' });
  await db.connect();
  try {
    await seed(db, size, tag);
  } finally {
    await db.end();
  }
  return (performance.now() - t0) / 1000;
}

async function seed(db: pg.Client, size: number, tag: string): Promise<void> {
  const prefix = `rf${size}${tag}-`;
  await db.query(
    `INSERT INTO client (id, profile, external_id, state, updated_at)
     SELECT gen_random_uuid(), 'rc3', $1 || lpad(g::text, 6, '0'), 'active', now() FROM generate_series(0, $2::int - 1) g`,
    [prefix, size],
  );
  const source = `
    SELECT c.id AS client_id, c.external_id AS client_external_id, 'edge-1' AS device_id,
           NULL::text AS parent_device_id, 0 AS depth, true AS hosting, 'Acme Industrial' AS vendor,
           'EDGE-4' AS model_number, 'SN-' || c.external_id AS serial_number,
           (ARRAY['amd64', 'amd64', 'arm64'])[1 + c.n % 3] AS arch, (ARRAY[2, 4, 8])[1 + c.n % 3] AS cores,
           (ARRAY[4, 8, 16])[1 + c.n % 3] AS mem_gi, (ARRAY[32, 64, 128])[1 + c.n % 3] AS storage_gi,
           '{}'::text[] AS peripheral_types, '{ethernet}'::text[] AS interface_types, '{oci}'::text[] AS runtimes,
           '{compose}'::text[] AS deployment_types,
           jsonb_build_object('fleet', 'fleet-${size}${tag}', 'site', 'plant-' || (c.n % 50)) AS labels,
           now() AS reported_at
      FROM (SELECT id, external_id, substr(external_id, ${prefix.length + 1})::int AS n
              FROM client WHERE external_id LIKE '${prefix}%') c`;
  await db.query(insertDevicesSql(source));
  await db.query('ANALYZE device');
  await db.query('ANALYZE client');
}

async function rollOut(
  size: number,
  ready: WfmReady,
  tls: Awaited<ReturnType<Harness['tlsFiles']>>,
  applicationId: string,
  api: ServerChild,
  workers: ServerChild[],
): Promise<FleetResult> {
  const tag = `w${workers.length}`;
  const label = `fleet-${size}${tag}`;
  h.log(`fleet of ${fmt(size)}, ${workers.length} worker process(es): seeding clients and devices with SQL`);
  const seedSeconds = await seedFleet(size, tag);
  h.log(`  seeded in ${seedSeconds.toFixed(1)} s`);
  const prefix = `rf${size}${tag}-`;
  const limitS = limitOf(size);
  const pollMs = size >= 50_000 ? 1000 : 500;

  const peakReset = [api, ...workers].every((c) => resetPeakMemory(c.pid));
  await Promise.all([api, ...workers].map((c) => c.stats())); // start the CPU windows
  const pgBefore = await h.postgresCpu();
  const dbBefore = await h.databaseActivity();
  const queriesBefore = benchQueries;

  const t0 = performance.now();
  const res = await h.operator(ready, tls, 'POST', '/operator/v1/deployments', {
    json: {
      applicationId,
      parameters: { siteId: 'DE-001' },
      target: { selector: { matchLabels: { fleet: label } } },
    },
  });
  const postMs = performance.now() - t0;
  if (res.status !== 201) throw new Error(`POST deployment: HTTP ${res.status} ${res.text()}`);
  const deploymentId = res.json<{ id: string }>().id;
  h.log(
    `  POST answered in ${postMs.toFixed(0)} ms (deployment ${deploymentId}); polling every ${pollMs} ms`,
  );

  const timeline: Progress[] = [];
  const pgStatements = new Map<string, number>();
  const pgWaits = new Map<string, number>();
  let pgSamples = 0;
  let placedS: number | undefined;
  let manifestsS: number | undefined;
  let last: Progress | undefined;
  let lastLog = 0;
  for (;;) {
    const [targets, manifests] = await Promise.all([
      h.db().query<{ targets: string; placed: string; in_manifest: string }>(
        `SELECT count(*) AS targets, count(*) FILTER (WHERE placement = 'placed') AS placed,
                count(*) FILTER (WHERE in_manifest) AS in_manifest
           FROM deployment_target WHERE deployment_id = $1::uuid`,
        [deploymentId],
      ),
      h
        .db()
        .query<{ n: string }>(
          `SELECT count(*) AS n FROM client_manifest WHERE client_external_id LIKE $1 AND version >= 1`,
          [`${prefix}%`],
        ),
    ]);
    const s = (performance.now() - t0) / 1000;
    const p: Progress = {
      s,
      targets: Number(targets.rows[0]?.targets ?? 0),
      placed: Number(targets.rows[0]?.placed ?? 0),
      inManifest: Number(targets.rows[0]?.in_manifest ?? 0),
      manifests: Number(manifests.rows[0]?.n ?? 0),
      workerRssMiB: sum(workers.map((w) => procMemory(w.pid)?.rssMiB ?? NaN)),
      apiRssMiB: procMemory(api.pid)?.rssMiB ?? NaN,
    };
    timeline.push(p);
    pgSamples += 1;
    for (const a of await h.postgresActivity()) {
      pgStatements.set(a.query, (pgStatements.get(a.query) ?? 0) + 1);
      pgWaits.set(a.wait, (pgWaits.get(a.wait) ?? 0) + 1);
    }
    last = p;
    if (placedS === undefined && p.placed >= size) placedS = s;
    if (manifestsS === undefined && p.manifests >= size) manifestsS = s;
    if (s - lastLog >= 10) {
      lastLog = s;
      h.log(
        `  ${s.toFixed(0)} s: ${fmt(p.targets)} targets, ${fmt(p.placed)} placed, ${fmt(p.inManifest)} in a manifest, ` +
          `${fmt(p.manifests)} manifests issued; worker RSS ${p.workerRssMiB.toFixed(0)} MiB`,
      );
    }
    if (placedS !== undefined && manifestsS !== undefined) break;
    if (s >= limitS) break;
    await sleep(pollMs);
  }
  const wallS = (performance.now() - t0) / 1000;
  const finished = placedS !== undefined && manifestsS !== undefined;
  const [apiStats, ...workerStats] = await Promise.all([api, ...workers].map((c) => c.stats()));
  const pgAfter = await h.postgresCpu();
  let db: DatabaseActivity | undefined;
  if (finished) {
    await sleep(STATS_FLUSH_MS);
    // +1: the read of dbBefore is a transaction that committed after its own snapshot
    const ownTransactions = benchQueries - queriesBefore + 1;
    db = activityBetween(dbBefore, await h.databaseActivity(), ownTransactions);
  }
  const peak = {
    worker: sum(workers.map((w) => procMemory(w.pid)?.peakMiB ?? NaN)),
    api: procMemory(api.pid)?.peakMiB ?? NaN,
  };
  h.log(`  ${finished ? 'done' : `stopped at the ${limitS} s limit`} after ${wallS.toFixed(1)} s`);

  let verified: FleetResult['verified'];
  let deploymentGet: FleetResult['deploymentGet'];
  let backlogAtEnd = 0;
  if (finished) {
    // every manifest of the fleet lists its target (the content key holds targetId@digest)
    const check = await h.db().query<{ listed: string; manifests: string }>(
      `SELECT count(*) FILTER (WHERE position(t.id::text || '@' || t.digest IN m.content_key) > 0) AS listed,
              count(m.client_id) AS manifests
         FROM deployment_target t LEFT JOIN client_manifest m ON m.client_id = t.client_id
        WHERE t.deployment_id = $1::uuid`,
      [deploymentId],
    );
    verified = {
      listed: Number(check.rows[0]?.listed ?? 0),
      manifests: Number(check.rows[0]?.manifests ?? 0),
    };
    if (size <= 20_000) {
      const g0 = performance.now();
      const got = await h.operator(
        ready,
        tls,
        'GET',
        `/operator/v1/deployments/${deploymentId}`,
        undefined,
        120_000,
      );
      const ms = performance.now() - g0;
      if (got.status !== 200) throw new Error(`GET deployment: HTTP ${got.status}`);
      deploymentGet = {
        ms,
        bytes: got.body.length,
        targets: got.json<{ targets: unknown[] }>().targets.length,
      };
    }
    const idle = await h.waitQueueIdle(30_000);
    if (idle === undefined) backlogAtEnd = await h.recomputeBacklog();
  } else {
    backlogAtEnd = await h.recomputeBacklog();
  }
  return {
    size,
    deploymentId,
    label,
    prefix,
    workers: workers.length,
    seedSeconds,
    postMs,
    finished,
    limitS,
    placedS,
    manifestsS,
    wallS,
    last,
    timeline,
    verified,
    cpuMs: {
      worker: sum(workerStats.map((w) => w.cpuMs)),
      api: apiStats.cpuMs,
      postgres: postgresCpuBetween(pgBefore, pgAfter),
    },
    db,
    peakMiB: peak,
    peakReset,
    backlogAtEnd,
    deploymentGet,
    pgSamples,
    pgStatements,
    pgWaits,
  };
}

/** Runs the baseline child on `job`; it is killed when it has not answered within `limitS`. */
function runBaseline(job: BaselineJob, limitS: number): Promise<BaselineResult> {
  const child = fork(fileURLToPath(new URL('./lib/render-fleet-baseline.js', import.meta.url)), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const kill = () => child.kill('SIGKILL');
  const timer = setTimeout(kill, limitS * 1000);
  process.once('exit', kill);
  return new Promise<BaselineResult>((resolve, reject) => {
    child.once('message', (message: BaselineMessage) => {
      if (message.type === 'done') resolve(message);
      else reject(new Error(`baseline: ${message.message}`));
    });
    // 'close' comes after the IPC channel closed, so after any answer
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      process.off('exit', kill);
      reject(new Error(`baseline ended (${signal ?? code}) without an answer (limit ${limitS} s)`));
    });
    child.send(job);
  });
}

/**
 * The baseline on a finished fleet: the same selector over the same devices, with one of the service's
 * own renderings of this roll-out as its YAML template (target id and device id filled in per device).
 */
async function measureBaseline(r: FleetResult): Promise<BaselineRun> {
  const sample = await h.db().query<{ id: string; device_id: string; yaml: string }>(
    `SELECT t.id, t.device_id, convert_from(d.bytes, 'UTF8') AS yaml
       FROM deployment_target t JOIN rendered_document d ON d.client_id = t.client_id AND d.digest = t.digest
      WHERE t.deployment_id = $1::uuid LIMIT 1`,
    [r.deploymentId],
  );
  const rendering = sample.rows[0];
  if (!rendering) throw new Error(`baseline: no rendering of deployment ${r.deploymentId} found`);
  const yamlTemplate = rendering.yaml
    .replaceAll(rendering.id, '{{id}}')
    .replace(`deviceId: ${rendering.device_id}\n`, 'deviceId: {{deviceId}}\n');
  if (!yamlTemplate.includes('{{id}}') || !yamlTemplate.includes('{{deviceId}}')) {
    throw new Error(`baseline: the rendering does not show its target id and device id:\n${rendering.yaml}`);
  }
  const sizes = await h.db().query<{ yaml: number; manifest: number }>(
    `SELECT (SELECT avg(size_bytes) FROM deployment_target WHERE deployment_id = $1::uuid)::float8 AS yaml,
            (SELECT avg(octet_length(body)) FROM client_manifest WHERE client_external_id LIKE $2)::float8 AS manifest`,
    [r.deploymentId, `${r.prefix}%`],
  );
  const result = await runBaseline(
    { type: 'run', databaseUrl: h.databaseUrl, matchLabels: { fleet: r.label }, yamlTemplate },
    r.limitS,
  );
  if (result.devices !== r.size) {
    throw new Error(`baseline: the selector matched ${result.devices} devices, not ${r.size}`);
  }
  return {
    ...result,
    wfmYamlBytes: sizes.rows[0]?.yaml ?? NaN,
    wfmManifestBytes: sizes.rows[0]?.manifest ?? NaN,
  };
}

/** The most frequent active statements, with the wait events seen overall. */
function activityTable(r: FleetResult): string {
  const top = [...r.pgStatements.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8);
  const waits = [...r.pgWaits.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([w, n]) => `${w} ${fmt((100 * n) / Math.max(1, r.pgSamples))} %`)
    .join(', ');
  return [
    table(
      ['Statement (start)', 'Active in % of samples'],
      top.map(([q, n]) => [
        `\`${q.replace(/\|/g, '\\|').replace(/`/g, "'")}\``,
        `${fmt((100 * n) / Math.max(1, r.pgSamples))} %`,
      ]),
      ['l', 'r'],
    ),
    '',
    `Wait events of the active connections (CPU = none), per sample: ${waits || 'none'}.`,
  ].join('\n');
}

/** Progress rows at about every tenth of the run (and the last one). */
function timelineTable(r: FleetResult): string {
  const step = Math.max(1, Math.floor(r.timeline.length / 10));
  const rows = r.timeline.filter((_, i) => i % step === 0 || i === r.timeline.length - 1);
  return table(
    [
      's after POST',
      'targets',
      'placed',
      'listed in an issued manifest',
      'client manifests issued',
      'workers RSS MiB (sum)',
    ],
    rows.map((p) => [
      p.s.toFixed(1),
      fmt(p.targets),
      fmt(p.placed),
      fmt(p.inManifest),
      fmt(p.manifests),
      fmt(p.workerRssMiB),
    ]),
    ['r', 'r', 'r', 'r', 'r', 'r'],
  );
}

/**
 * Throughput while a counter was moving: from the last sample before it first rose to the first sample
 * at its final value, per second (the fan-out's start-up and the other stage's tail left out).
 */
function activeRate(r: FleetResult, pick: (p: Progress) => number): number {
  const t = r.timeline;
  const final = pick(t[t.length - 1]);
  const startIndex = Math.max(0, t.findIndex((p) => pick(p) > 0) - 1);
  const end = t.find((p) => pick(p) >= final) ?? t[t.length - 1];
  const start = t[startIndex];
  return end.s > start.s ? (pick(end) - pick(start)) / (end.s - start.s) : NaN;
}

/** The verdict on the 100,000-device target for one worker count. */
function targetLine(large: FleetResult | undefined, skipped: boolean, workers: number): string {
  const head = `Target 100,000 devices within 120 s with ${workers} worker process${workers > 1 ? 'es' : ''}:`;
  if (!large) {
    return skipped ? `${head} not measured (the smaller fleet did not finish within its limit).` : '';
  }
  if (large.finished) {
    return (
      `${head} ${large.wallS <= 120 ? 'met' : 'missed'} (${large.wallS.toFixed(0)} s, ` +
      `${fmt(large.wallS / 120, 1)}× the target).`
    );
  }
  const rate = Math.max(
    1e-9,
    activeRate(large, (p) => p.manifests),
  );
  return (
    `${head} **missed**. The run was stopped at its ${large.limitS} s limit with ` +
    `${fmt(large.last.placed)} targets placed and ${fmt(large.last.manifests)} client manifests issued; at the rate ` +
    `at which manifests were being issued (${fmt(rate, 0)} manifests/s) the rest would take another ` +
    `${fmt((large.size - large.last.manifests) / rate, 0)} s.`
  );
}

await h.run(async () => {
  h.log(`starting the API and the first worker as two processes (database ${h.dbName})`);
  const { child: api, ready } = await h.startService({
    name: 'api',
    roles: 'api',
    cpuProfile: args['cpu-prof'],
  });
  const workers: ServerChild[] = [];
  const startWorker = async () => {
    const { child } = await h.startService({
      name: `worker-${workers.length + 1}`,
      roles: 'worker',
      cpuProfile: args['cpu-prof'],
    });
    workers.push(child);
  };
  const wfm = ready!;
  const tls = await h.tlsFiles(wfm);
  const pkg = await h.operator(wfm, tls, 'POST', '/operator/v1/applications', { yaml: linePackage() });
  if (pkg.status !== 201) throw new Error(`package: HTTP ${pkg.status} ${pkg.text()}`);
  const applicationId = pkg.json<{ applicationId: string }>().applicationId;

  const results: FleetResult[] = [];
  const skipped: { size: number; workers: number }[] = [];
  for (const count of WORKERS) {
    while (workers.length < count) await startWorker();
    let stop = false;
    for (const size of FLEETS) {
      if (stop) {
        skipped.push({ size, workers: count });
        continue;
      }
      const r = await rollOut(size, wfm, tls, applicationId, api, workers);
      results.push(r);
      if (!r.finished) {
        h.log('the fleet did not finish in time: larger fleets are skipped');
        stop = true;
        continue;
      }
      h.log('  baseline on the same fleet: bare Node with pg, same selector scan and writes');
      r.baseline = await measureBaseline(r);
      h.log(
        `  baseline done in ${r.baseline.seconds.toFixed(1)} s ` +
          `(WFM ${fmt(r.manifestsS! / r.baseline.seconds, 1)}× that)`,
      );
    }
  }

  const summary = table(
    [
      'Fleet (devices)',
      'Worker processes',
      'Finished',
      'All placed after s',
      'All manifests issued after s',
      'Devices/s (end to end)',
      'Placed/s (while placing)',
      'Manifests/s (while issuing)',
      'Peak RSS workers (sum) / API MiB',
    ],
    results.map((r) => [
      fmt(r.size),
      String(r.workers),
      r.finished ? 'yes' : `**no**, stopped at ${r.limitS} s`,
      r.placedS === undefined ? `– (${fmt(r.last.placed)} placed)` : r.placedS.toFixed(1),
      r.manifestsS === undefined ? `– (${fmt(r.last.manifests)} issued)` : r.manifestsS.toFixed(1),
      r.finished ? fmt(r.size / r.wallS) : `${fmt(r.last.manifests / r.wallS)} so far`,
      fmt(activeRate(r, (p) => p.placed)),
      fmt(activeRate(r, (p) => p.manifests)),
      `${fmt(r.peakMiB.worker)} / ${fmt(r.peakMiB.api)}`,
    ]),
    ['r', 'r', 'l', 'r', 'r', 'r', 'r', 'r', 'r'],
  );
  const costs = table(
    [
      'Fleet',
      'Worker processes',
      'CPU workers / API / Postgres (% of one core over the run)',
      'CPU ms per device workers / Postgres',
      'Postgres transactions per 1,000 devices',
      'Rows inserted / updated per device',
    ],
    results.map((r) => {
      const pct = (cpuMs: number) => `${fmt((100 * cpuMs) / (r.wallS * 1000))} %`;
      return [
        fmt(r.size),
        String(r.workers),
        `${pct(r.cpuMs.worker)} / ${pct(r.cpuMs.api)} / ${pct(r.cpuMs.postgres)}`,
        r.finished
          ? `${fmt(r.cpuMs.worker / r.size, 2)} / ${fmt(r.cpuMs.postgres / r.size, 2)}`
          : '– (unfinished)',
        r.db ? fmt((1000 * r.db.commits) / r.size, 1) : '–',
        r.db ? `${fmt(r.db.inserted / r.size, 1)} / ${fmt(r.db.updated / r.size, 1)}` : '–',
      ];
    }),
    ['r', 'r', 'r', 'r', 'r', 'r'],
  );
  const baselines = table(
    [
      'Fleet',
      'Worker processes',
      'WFM: all manifests issued after s',
      'Baseline s',
      'Ratio WFM / baseline',
      'CPU ms per device WFM (workers + API) / baseline',
      'Postgres CPU ms per device WFM / baseline',
      'Postgres transactions per 1,000 devices WFM / baseline',
      'Bytes per YAML WFM / baseline; per manifest WFM / baseline',
    ],
    results.map((r) => {
      const b = r.baseline;
      if (!b || r.manifestsS === undefined) {
        return [fmt(r.size), String(r.workers), '– (unfinished)', '–', '–', '–', '–', '–', '–'];
      }
      const perDevice = (wfm: number, baseline: number) =>
        `${fmt(wfm / r.size, 2)} / ${fmt(baseline / r.size, 2)}`;
      return [
        fmt(r.size),
        String(r.workers),
        r.manifestsS.toFixed(1),
        b.seconds.toFixed(1),
        `${fmt(r.manifestsS / b.seconds, 1)}×`,
        perDevice(r.cpuMs.worker + r.cpuMs.api, b.cpuMs),
        perDevice(r.cpuMs.postgres, b.postgresCpuMs),
        `${r.db ? fmt((1000 * r.db.commits) / r.size, 1) : '–'} / ${fmt((1000 * b.transactions) / r.size, 1)}`,
        `${fmt(b.wfmYamlBytes)} / ${fmt(b.yamlBytes)}; ${fmt(b.wfmManifestBytes)} / ${fmt(b.manifestBytes)}`,
      ];
    }),
    ['r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
  );
  const targetLines = WORKERS.map((count) =>
    targetLine(
      results.find((r) => r.size === 100_000 && r.workers === count),
      skipped.some((k) => k.size === 100_000 && k.workers === count),
      count,
    ),
  ).filter((line) => line !== '');

  const lines = [
    h.measuredWith(COMMAND),
    '',
    'What it measures: per fleet, that many rc.3 clients with one hosting device each are seeded with SQL (all ' +
      'labelled `fleet: fleet-<size>`, 2–8 cores amd64/arm64, 4–16Gi memory, deployment type compose, so the ' +
      "package's compose profile fits every one and its helm profile none), then `POST /operator/v1/deployments` with " +
      '`target.selector.matchLabels: {fleet: fleet-<size>}` of `linePackage()`. Time runs from the POST until every ' +
      'target is `placed` in deployment_target and every client has an issued manifest (client_manifest, version ≥ 1), ' +
      'polled in the database; then each manifest is checked to list its target at its digest. The API ' +
      '(WFM_ROLES=api) and the workers (WFM_ROLES=worker, the recompute queue; first one worker process, then a ' +
      'second one is started beside it and fresh fleets are rolled out, labelled per worker count) run as separate ' +
      'processes with the default worker concurrency and database pool; rate limit off, log level warn. Peak RSS: ' +
      'VmHWM of each process, reset before each fleet.',
    '',
    summary,
    '',
    ...targetLines.flatMap((line) => [line, '']),
    'Baseline, measured in the same run right after each finished roll-out, on the same fleet in the same ' +
      "database: a bare Node child process with plain `pg` (no NestJS, Prisma or BullMQ) doing the roll-out's " +
      'irreducible storage work on one connection. It reads the devices matching the same selector in pages of ' +
      "5,000 (the service's scan query), fills one of the service's own renderings of this roll-out as a template " +
      'with a fresh UUID and the device id and takes its sha256, inserts one row per device (id, client, device, ' +
      'digest, YAML bytes) and then one manifest per client (JSON of the same shape and size, sha256 ETag) into ' +
      'scratch tables, 1,000 rows per unnest insert and transaction; timed from its first read to its last ' +
      'commit. It does no placement, builds no bundle, writes no events and uses no queue. Ratio = WFM time to ' +
      'all manifests issued (the poll that saw them, so up to one poll interval late: 0.5 s, 1 s from 50,000 ' +
      "devices) / baseline time. CPU from /proc (the baseline's process and its Postgres backend); the " +
      "baseline's transactions counted by itself:",
    '',
    baselines,
    '',
    "Cost (from the POST to the end of the measurement; CPU of the service processes and of the service's Postgres " +
      'backends from /proc; transactions and rows from pg_stat_database, read 11 s after the end so that the ' +
      "service's backends have flushed their statistics, without this bench's own queries; per device only for " +
      'finished fleets):',
    '',
    costs,
    '',
  ];
  for (const r of results) {
    lines.push(
      `### ${fmt(r.size)} devices, ${r.workers} worker process${r.workers > 1 ? 'es' : ''}`,
      '',
      `Seeded in ${r.seedSeconds.toFixed(1)} s; POST answered in ${r.postMs.toFixed(0)} ms.` +
        (r.verified
          ? ` Check: ${fmt(r.verified.listed)} of ${fmt(r.size)} targets are listed at their digest in their client's manifest.`
          : '') +
        (r.deploymentGet
          ? ` \`GET /operator/v1/deployments/{id}\` afterwards: ${fmt(r.deploymentGet.targets)} targets, ` +
            `${fmt(r.deploymentGet.bytes / 2 ** 20, 1)} MiB of JSON in ${fmt(r.deploymentGet.ms)} ms.`
          : '') +
        (r.backlogAtEnd > 0 ? ` Recompute jobs still queued at the end: ${fmt(r.backlogAtEnd)}.` : ''),
      '',
      timelineTable(r),
      '',
      `What the service's Postgres connections were doing (${fmt(r.pgSamples)} samples of pg_stat_activity, one per ` +
        'poll; an active connection counts once per sample):',
      '',
      activityTable(r),
      '',
    );
  }
  if (skipped.length > 0) {
    lines.push(
      `Not run: ${skipped.map((k) => `${fmt(k.size)} devices with ${k.workers} worker process(es)`).join(', ')}.`,
      '',
    );
  }
  lines.push('### Machine', '', ...h.machineLines(COMMAND));
  const section = lines.join('\n');
  await h.publish({
    name: 'render-fleet',
    heading: 'Fleet rendering benchmark',
    section,
    readmeSection: UPDATES_README ? SECTION : undefined,
  });
});
