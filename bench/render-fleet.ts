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
import {
  type BaselineRun,
  type FleetResult,
  type Progress,
  renderFleetSection,
  sum,
} from './lib/render-fleet-report.js';
import { fmt } from './lib/report.js';

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

  const lines = renderFleetSection(h.measuredWith(COMMAND), results, skipped, WORKERS);
  lines.push('### Machine', '', ...h.machineLines(COMMAND));
  const section = lines.join('\n');
  await h.publish({
    name: 'render-fleet',
    heading: 'Fleet rendering benchmark',
    section,
    readmeSection: UPDATES_README ? SECTION : undefined,
  });
});
