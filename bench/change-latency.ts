/**
 * Benchmark: how long a capability change takes to reach the device's manifest.
 *
 * `--clients` accepted rc.3 clients with `--devices` devices in all report their capabilities; one
 * selector deployment of `linePackage()` targets every device. A change flips a device between
 * supportedDeploymentTypes [compose] and [helm, compose]: placement then picks the package's other
 * profile, so the device's ApplicationDeployment renders to different YAML (a new digest) and its
 * client's manifest gets a new version. Changes are sent open-loop at a fixed rate (a device gets its
 * next change only when its previous one was seen or given up); after each PUT's 2xx answer the
 * client polls `GET /api/v1/deployments` (If-None-Match, every `--poll-ms`) until its manifest lists
 * the device's deployment at a digest whose YAML has the new profile. Latency = from the PUT's answer
 * to the end of that poll. A change not seen within 10 s counts as missed. The server side is split
 * out with manifest_issue.issued_at (when the rebuild that issued the seen version started).
 *
 * Baseline, in the same run: the same load generator, poller, client SVIDs, rates and warm-up against
 * a bare Node HTTPS server (bench/lib/change-latency-baseline-server.ts) that updates the caller's
 * manifest in memory before it answers the PUT: the floor the harness itself sets. Per rate, the WFM
 * phase runs first, then the baseline's.
 *
 *   npx tsc -p bench/tsconfig.json && node dist-bench/bench/change-latency.js [--rates 50,500]
 *     [--duration 20] [--clients 50] [--devices 500] [--poll-ms 25] [--debounce-ms 100] [--cpu-prof] [--no-readme]
 *
 * Only a run with the default rates and without --cpu-prof rewrites the section in bench/README.md;
 * every run writes bench/results/change-latency-<timestamp>.md. Needs PostgreSQL and Redis on
 * loopback; creates the throw-away database wfm_bench_<hex> and drops it at the end, also on errors
 * and SIGINT.
 */
import { writeFile } from 'node:fs/promises';
import https from 'node:https';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { ClientSvid } from '../src/client/identities.js';
import { request } from '../src/client/transport.js';
import { linePackage } from '../test/support/packages.js';
import { baselineDeploymentId, startChangeLatencyBaseline } from './lib/change-latency-baseline.js';
import { benchCli, count, positive } from './lib/cli.js';
import { capabilityBody } from './lib/devices.js';
import {
  type DatabaseActivity,
  forEachLimit,
  Harness,
  postgresCpuBetween,
  procMemory,
  sleep,
} from './lib/harness.js';
import type { ServerChild } from './lib/ipc.js';
import { percentile } from './lib/load.js';
import { fmt, ms, table } from './lib/report.js';

const { args, command: COMMAND } = benchCli('change-latency', {
  rates: { type: 'string', default: '50,500' },
  duration: { type: 'string', default: '20' },
  clients: { type: 'string', default: '50' },
  devices: { type: 'string', default: '500' },
  'poll-ms': { type: 'string', default: '25' },
  'debounce-ms': { type: 'string', default: '100' },
  'cpu-prof': { type: 'boolean', default: false },
  /** Write bench/results/ only, leave bench/README.md as it is. */
  'no-readme': { type: 'boolean', default: false },
});

const RATES = args.rates.split(',').map((r) => positive('rates', r, 10_000));
const DURATION_S = positive('duration', args.duration, 120);
const CLIENTS = count('clients', args.clients, 1000);
const DEVICES = count('devices', args.devices, 100_000);
const POLL_MS = positive('poll-ms', args['poll-ms'], 10_000);
const DEBOUNCE_MS = Math.round(Number(args['debounce-ms']));
if (!Number.isFinite(DEBOUNCE_MS) || DEBOUNCE_MS < 0 || DEBOUNCE_MS > 60_000) {
  throw new Error('--debounce-ms must be a number in [0, 60000]');
}
const GIVE_UP_MS = 10_000;
const MANIFEST_TYPE = 'application/vnd.margo.manifest.v1+json';
const UPDATES_README = !args['cpu-prof'] && !args['no-readme'] && args.rates === '50,500';
const SECTION = '## From a capability change to the served manifest (device-capability → deployment-spec)';

const h = new Harness('change-latency', 180 + RATES.length * (2 * DURATION_S + 80));

type Variant = 'compose' | 'helm';
const other = (v: Variant): Variant => (v === 'compose' ? 'helm' : 'compose');

interface Change {
  device: Device;
  variant: Variant;
  sentAt: number;
  /** performance.now() and Date.now() at the PUT's 2xx answer. */
  answeredAt?: number;
  answeredEpoch?: number;
  seenAt?: number;
  seenVersion?: number;
  /** Not seen within 10 s (it may still show up later: lateSeenAt). */
  missed?: boolean;
  lateSeenAt?: number;
}

interface Device {
  client: Client;
  deviceId: string;
  targetId?: string;
  /** The variant last sent (and, when nothing is pending, the one its manifest shows). */
  variant: Variant;
  pending?: Change;
  /** A change of it was missed: its manifest state is unknown, so it gets no more changes. */
  retired: boolean;
}

interface Client {
  id: string;
  /** The server it talks to: the WFM's API or the baseline. */
  server: URL;
  internalId?: string;
  svid: ClientSvid;
  agent: https.Agent;
  devices: Device[];
  etag?: string;
  /** targetId → digest of the last manifest seen. */
  entries: Map<string, string>;
  polling: boolean;
  polls: number;
  notModified: number;
}

/** The clients and devices of one side (the WFM's or the baseline's: the same ids, each its own state). */
interface Fleet {
  clients: Client[];
  devices: Device[];
}

/** digest → the profile type its YAML renders (learned once per digest). */
const digestVariant = new Map<string, Variant>();

let tls: Awaited<ReturnType<Harness['tlsFiles']>>;

function mtls(client: Client) {
  return {
    ca: tls.caPem,
    cert: client.svid.certChainPem,
    key: client.svid.keyPem,
    agent: client.agent,
    timeoutMs: 15_000,
  };
}

function body(device: Device, variant: Variant): string {
  return capabilityBody(device.deviceId, {
    deploymentTypes: variant === 'helm' ? ['helm', 'compose'] : ['compose'],
    labels: { 'bench-cl': 'on', site: 'plant-1' },
  });
}

async function put(device: Device, variant: Variant): Promise<number> {
  const res = await request(new URL(`/api/v1/capabilities/${device.deviceId}`, device.client.server), {
    ...mtls(device.client),
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: body(device, variant),
  });
  return res.status;
}

async function classify(client: Client, targetId: string, digest: string): Promise<Variant | undefined> {
  const known = digestVariant.get(digest);
  if (known) return known;
  const res = await request(
    new URL(`/api/v1/deployments/${targetId}/${digest}`, client.server),
    mtls(client),
  );
  if (res.status !== 200) return undefined;
  const doc = parseYaml(res.text()) as { spec?: { deploymentProfile?: { type?: string } } };
  const type = doc.spec?.deploymentProfile?.type;
  const variant = type === 'helm' ? 'helm' : type === 'compose' ? 'compose' : undefined;
  if (variant) digestVariant.set(digest, variant);
  return variant;
}

/** Polls one client's manifest while it has answered, unresolved changes. */
async function pollClient(client: Client): Promise<void> {
  if (client.polling) return;
  client.polling = true;
  try {
    for (;;) {
      const waiting = client.devices.filter((d) => d.pending?.answeredAt !== undefined);
      if (waiting.length === 0) return;
      const res = await request(new URL('/api/v1/deployments', client.server), {
        ...mtls(client),
        headers: { accept: MANIFEST_TYPE, ...(client.etag ? { 'if-none-match': client.etag } : {}) },
      }).catch(() => undefined);
      const polledAt = performance.now();
      client.polls += 1;
      if (res?.status === 304) client.notModified += 1;
      if (res?.status === 200) {
        const manifest = res.json<{
          manifestVersion: number;
          deployments: { deploymentId: string; digest: string }[];
        }>();
        client.etag = String(res.headers.etag);
        client.entries = new Map(manifest.deployments.map((d) => [d.deploymentId, d.digest]));
        for (const d of waiting) {
          const change = d.pending!;
          const digest = d.targetId ? client.entries.get(d.targetId) : undefined;
          if (!digest || !d.targetId) continue;
          if ((await classify(client, d.targetId, digest)) === change.variant) {
            if (change.missed) change.lateSeenAt = polledAt;
            else {
              change.seenAt = polledAt;
              change.seenVersion = manifest.manifestVersion;
            }
            d.pending = undefined; // free for its next change
          }
        }
      }
      // not seen within 10 s: missed; the device stays busy (still watched) until its change shows up
      let oldest = 0;
      for (const d of client.devices) {
        const change = d.pending;
        if (change?.answeredAt === undefined) continue;
        const age = polledAt - change.answeredAt;
        if (age > GIVE_UP_MS) change.missed = true;
        oldest = Math.max(oldest, age);
      }
      // resolution about a tenth of the wait so far: a backlog does not turn into a poll storm
      await sleep(Math.max(POLL_MS, Math.min(250, oldest / 10)));
    }
  } finally {
    client.polling = false;
  }
}

/** What the load generator and poller saw in one phase: the same for the WFM and the baseline. */
interface Run {
  rate: number;
  durationS: number;
  changes: Change[];
  skipped: number;
  putErrors: Record<string, number>;
  putLatencies: number[];
  polls: number;
  notModified: number;
  retiredBefore: number;
  /** CPU of this process (load generator and poller), ms. */
  generatorCpuMs: number;
  /** From the first change until the last one was seen or given up, ms. */
  wallMs: number;
}

interface WfmRun extends Run {
  cpu: { api: number; worker: number; postgres: number };
  db: DatabaseActivity;
  issuedLatencies: number[];
  backlogAtEnd: number;
  /** recompute-device jobs of the phase: start after they were enqueued (debounce included), run time (ms). */
  jobs: { pickup: number[]; run: number[]; retried: number; failed: number };
}

interface BaselineRun extends Run {
  serverCpuMs: number;
}

/** Sends changes open-loop at `rate` for `durationS` and waits until each was seen or given up. */
async function drive(rate: number, durationS: number, fleet: Fleet): Promise<Run> {
  const { clients, devices } = fleet;
  const changes: Change[] = [];
  const putErrors: Record<string, number> = {};
  const putLatencies: number[] = [];
  let skipped = 0;
  let cursor = 0;
  const retiredBefore = devices.filter((d) => d.retired).length;
  const pollsBefore = clients.reduce((n, c) => n + c.polls, 0);
  const notModifiedBefore = clients.reduce((n, c) => n + c.notModified, 0);
  const inflight = new Set<Promise<void>>();

  const send = (device: Device) => {
    const change: Change = { device, variant: other(device.variant), sentAt: performance.now() };
    device.variant = change.variant;
    device.pending = change;
    changes.push(change);
    const p = put(device, change.variant).then(
      (status) => {
        if (status === 200 || status === 201) {
          change.answeredAt = performance.now();
          change.answeredEpoch = Date.now();
          putLatencies.push(change.answeredAt - change.sentAt);
          void pollClient(device.client);
        } else {
          // refused (e.g. 500 when no database connection was free in time): nothing was stored, the
          // device keeps its previous variant and gets a next change later
          putErrors[`HTTP ${status}`] = (putErrors[`HTTP ${status}`] ?? 0) + 1;
          device.variant = other(change.variant);
          device.pending = undefined;
        }
      },
      (error: Error) => {
        // no answer: whether the change was stored is unknown, so the device gets no more changes
        putErrors[error.message] = (putErrors[error.message] ?? 0) + 1;
        device.pending = undefined;
        device.retired = true;
      },
    );
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  };

  const t0 = performance.now();
  const generatorCpu = process.cpuUsage();
  let issued = 0;
  while (performance.now() - t0 < durationS * 1000) {
    const due = Math.floor(((performance.now() - t0) / 1000) * rate) - issued;
    for (let i = 0; i < due; i++) {
      issued += 1;
      let picked: Device | undefined;
      for (let tries = 0; tries < devices.length && !picked; tries++) {
        const d = devices[cursor];
        cursor = (cursor + 1) % devices.length;
        if (!d.pending && !d.retired && d.targetId) picked = d;
      }
      if (picked) send(picked);
      else skipped += 1;
    }
    await sleep(5);
  }
  const sendMs = performance.now() - t0;
  // let the last changes resolve (seen or given up after 10 s)
  await Promise.all([...inflight]);
  for (let t = performance.now(); performance.now() - t < GIVE_UP_MS + 2_000; await sleep(100)) {
    if (devices.every((d) => d.pending === undefined)) break;
  }
  const generator = process.cpuUsage(generatorCpu);
  return {
    rate,
    durationS: sendMs / 1000,
    changes,
    skipped,
    putErrors,
    putLatencies,
    polls: clients.reduce((n, c) => n + c.polls, 0) - pollsBefore,
    notModified: clients.reduce((n, c) => n + c.notModified, 0) - notModifiedBefore,
    retiredBefore,
    generatorCpuMs: (generator.user + generator.system) / 1000,
    wallMs: performance.now() - t0,
  };
}

/** A phase against the WFM, with the CPU, database and queue activity it caused. */
async function wfmPhase(
  rate: number,
  durationS: number,
  fleet: Fleet,
  api: ServerChild,
  worker: ServerChild,
): Promise<WfmRun> {
  await Promise.all([api.stats(), worker.stats()]);
  const pgBefore = await h.postgresCpu();
  const dbBefore = await h.databaseActivity();
  const failedBefore = await h.failedJobs();
  const epochStart = Date.now();
  const run = await drive(rate, durationS, fleet);
  const [apiStats, workerStats] = await Promise.all([api.stats(), worker.stats()]);
  const pgAfter = await h.postgresCpu();
  const dbAfter = await h.databaseActivity();
  const backlogAtEnd = await h.recomputeBacklog();
  const completed = (await h.completedJobs()).filter(
    (j) => j.name === 'recompute-device' && j.processedOn >= epochStart,
  );
  const jobs = {
    pickup: completed.map((j) => Math.max(0, j.processedOn - j.createdAt)),
    run: completed.map((j) => j.finishedOn - j.processedOn),
    retried: completed.filter((j) => j.attempts > 1).length,
    failed: (await h.failedJobs()) - failedBefore,
  };

  // server side: when the rebuild that issued the seen version started
  const seen = run.changes.filter((c) => c.seenVersion !== undefined && c.answeredEpoch !== undefined);
  const issuedLatencies: number[] = [];
  if (seen.length > 0) {
    const { rows } = await h.db().query<{ client_id: string; version: string; at: string }>(
      `SELECT client_id, version::text, (extract(epoch FROM issued_at) * 1000)::text AS at
         FROM manifest_issue WHERE (client_id, version) IN (SELECT * FROM unnest($1::uuid[], $2::bigint[]))`,
      [seen.map((c) => c.device.client.internalId), seen.map((c) => c.seenVersion)],
    );
    const at = new Map(rows.map((r) => [`${r.client_id}|${r.version}`, Number(r.at)]));
    for (const c of seen) {
      const issuedAt = at.get(`${c.device.client.internalId}|${c.seenVersion}`);
      if (issuedAt !== undefined) issuedLatencies.push(Math.max(0, issuedAt - c.answeredEpoch!));
    }
  }
  return {
    ...run,
    cpu: {
      api: apiStats.cpuMs,
      worker: workerStats.cpuMs,
      postgres: postgresCpuBetween(pgBefore, pgAfter),
    },
    db: {
      commits: dbAfter.commits - dbBefore.commits,
      returned: dbAfter.returned - dbBefore.returned,
      fetched: dbAfter.fetched - dbBefore.fetched,
      inserted: dbAfter.inserted - dbBefore.inserted,
      updated: dbAfter.updated - dbBefore.updated,
      deleted: dbAfter.deleted - dbBefore.deleted,
    },
    issuedLatencies,
    backlogAtEnd,
    jobs,
  };
}

/** A phase against the baseline, with the CPU its server spent. */
async function baselinePhase(
  rate: number,
  durationS: number,
  fleet: Fleet,
  baseline: ServerChild,
): Promise<BaselineRun> {
  await baseline.stats();
  const run = await drive(rate, durationS, fleet);
  return { ...run, serverCpuMs: (await baseline.stats()).cpuMs };
}

/** Between WFM phases: the recompute queue drained (bounded). */
async function drainQueue(): Promise<void> {
  const idle = await h.waitQueueIdle(25_000);
  if (idle === undefined) h.log('  the recompute queue did not drain within 25 s');
}

/** Between phases: every device's last change seen (bounded). */
async function settle(devices: Device[]): Promise<void> {
  for (const t0 = performance.now(); performance.now() - t0 < 10_000; await sleep(200)) {
    if (devices.every((d) => d.pending === undefined)) return;
  }
  h.log(
    `  ${devices.filter((d) => d.pending !== undefined).length} devices still wait for a change to show up`,
  );
}

function sorted(values: number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

/** Change → served of the changes seen within 10 s, sorted (ms). */
function latencies(run: Run): number[] {
  return sorted(run.changes.filter((c) => c.seenAt !== undefined).map((c) => c.seenAt! - c.answeredAt!));
}

/** WFM / baseline at percentile `p` of two sorted latency lists. */
function ratio(wfm: number[], baseline: number[], p: number): string {
  const r = percentile(wfm, p) / percentile(baseline, p);
  return `${fmt(r, r < 10 ? 1 : 0)}×`;
}

function logRun(side: string, run: Run): void {
  const lat = latencies(run);
  h.log(
    `  ${side}: sent ${run.changes.length} (skipped ${run.skipped}), p50 ${ms(percentile(lat, 50))} ms, ` +
      `p99 ${ms(percentile(lat, 99))} ms, missed ${run.changes.filter((c) => c.missed).length}`,
  );
}

/** The clients (one per SVID) and their devices, talking to `server`. */
function makeFleet(server: URL, clientIds: string[], svids: Map<string, ClientSvid>): Fleet {
  const clients: Client[] = clientIds.map((id) => ({
    id,
    server,
    svid: svids.get(id)!,
    agent: new https.Agent({ keepAlive: true, maxSockets: 4 }),
    devices: [],
    entries: new Map(),
    polling: false,
    polls: 0,
    notModified: 0,
  }));
  const devices: Device[] = Array.from({ length: DEVICES }, (_, i) => {
    const client = clients[i % CLIENTS];
    const device: Device = {
      client,
      deviceId: `edge-${String(i).padStart(4, '0')}`,
      variant: 'compose',
      retired: false,
    };
    client.devices.push(device);
    return device;
  });
  return { clients, devices };
}

/** The first report of every device: compose only. */
async function reportAll(fleet: Fleet): Promise<void> {
  await forEachLimit(fleet.devices, 16, async (d) => {
    const status = await put(d, 'compose');
    if (status !== 201) throw new Error(`creating ${d.deviceId}: HTTP ${status}`);
  });
}

/** First poll of every client: its ETag, and the digests of the compose renderings. */
async function firstPoll(fleet: Fleet): Promise<void> {
  await forEachLimit(fleet.clients, 8, async (c) => {
    const res = await request(new URL('/api/v1/deployments', c.server), {
      ...mtls(c),
      headers: { accept: MANIFEST_TYPE },
    });
    if (res.status !== 200) throw new Error(`manifest of ${c.id}: HTTP ${res.status}`);
    c.etag = String(res.headers.etag);
    const manifest = res.json<{ deployments: { deploymentId: string; digest: string }[] }>();
    for (const d of manifest.deployments) {
      c.entries.set(d.deploymentId, d.digest);
      if ((await classify(c, d.deploymentId, d.digest)) !== 'compose') {
        throw new Error(`${c.id}: deployment ${d.deploymentId} does not render the compose profile`);
      }
    }
  });
}

/** A first change for some devices at the lower rate (warms every path; the helm digests are learned as they show up). */
async function warmUp(side: string, fleet: Fleet): Promise<void> {
  const warmChanges = Math.min(DEVICES, 100);
  h.log(`${side} warm-up: ${warmChanges} changes at 50/s`);
  const warm = await drive(50, (warmChanges + 0.5) / 50, fleet);
  h.log(
    `  warm-up: ${warm.changes.filter((c) => c.seenAt !== undefined).length} of ${warm.changes.length} seen, ` +
      `${warm.changes.filter((c) => c.missed).length} missed`,
  );
}

await h.run(async () => {
  h.log(`starting the API and the worker (database ${h.dbName}; recompute debounce ${DEBOUNCE_MS} ms)`);
  const env = { WFM_RECOMPUTE_DEBOUNCE_MS: String(DEBOUNCE_MS) };
  const { child: api, ready: r } = await h.startService({
    name: 'api',
    roles: 'api',
    env,
    cpuProfile: args['cpu-prof'],
  });
  const { child: worker } = await h.startService({
    name: 'worker',
    roles: 'worker',
    env,
    cpuProfile: args['cpu-prof'],
  });
  const ready = r!;
  tls = await h.tlsFiles(ready);
  h.log('starting the baseline');
  const baseline = await startChangeLatencyBaseline(h, ready);

  const clientIds = Array.from({ length: CLIENTS }, (_, i) => `cl-${String(i).padStart(3, '0')}`);
  h.log(`accepting ${CLIENTS} clients and minting their SVIDs`);
  const svids = await h.enrol(ready, tls, clientIds);
  const wfm = makeFleet(new URL(ready.url), clientIds, svids);
  const base = makeFleet(baseline.url, clientIds, svids);
  try {
    h.log(`reporting ${DEVICES} devices (compose only)`);
    await reportAll(wfm);
    const pkg = await h.operator(ready, tls, 'POST', '/operator/v1/applications', { yaml: linePackage() });
    if (pkg.status !== 201) throw new Error(`package: HTTP ${pkg.status} ${pkg.text()}`);
    const dep = await h.operator(ready, tls, 'POST', '/operator/v1/deployments', {
      json: {
        applicationId: pkg.json<{ applicationId: string }>().applicationId,
        parameters: { siteId: 'DE-001' },
        target: { selector: { matchLabels: { 'bench-cl': 'on' } } },
      },
    });
    if (dep.status !== 201) throw new Error(`deployment: HTTP ${dep.status} ${dep.text()}`);
    const deploymentId = dep.json<{ id: string }>().id;

    h.log('waiting until every device is placed and listed in its manifest');
    for (const t0 = performance.now(); ; await sleep(500)) {
      const { rows } = await h
        .db()
        .query<{ n: string }>(
          `SELECT count(*) AS n FROM deployment_target WHERE deployment_id = $1::uuid AND placement = 'placed' AND in_manifest`,
          [deploymentId],
        );
      if (Number(rows[0]?.n ?? 0) >= DEVICES) break;
      if (performance.now() - t0 > 90_000) throw new Error('the initial rollout did not finish within 90 s');
    }
    const targets = await h
      .db()
      .query<{ id: string; client: string; device_id: string; client_id: string }>(
        `SELECT id, client_external_id AS client, device_id, client_id FROM deployment_target WHERE deployment_id = $1::uuid`,
        [deploymentId],
      );
    const byKey = new Map(wfm.devices.map((d) => [`${d.client.id}|${d.deviceId}`, d]));
    for (const t of targets.rows) {
      const d = byKey.get(`${t.client}|${t.device_id}`);
      if (d) {
        d.targetId = t.id;
        d.client.internalId = t.client_id;
      }
    }
    await h.waitQueueIdle(30_000);
    await firstPoll(wfm);
    // the baseline lists each device's deployment from its first report on
    for (const d of base.devices) d.targetId = baselineDeploymentId(d.client.id, d.deviceId);
    await reportAll(base);
    await firstPoll(base);

    await warmUp('WFM', wfm);
    await drainQueue();
    await settle(wfm.devices);
    await warmUp('baseline', base);
    await settle(base.devices);

    const results: { wfm: WfmRun; baseline: BaselineRun }[] = [];
    for (const rate of RATES) {
      h.log(`${rate} changes/s for ${DURATION_S} s, WFM then baseline`);
      const wfmRun = await wfmPhase(rate, DURATION_S, wfm, api, worker);
      logRun('WFM', wfmRun);
      await drainQueue();
      await settle(wfm.devices);
      const baselineRun = await baselinePhase(rate, DURATION_S, base, baseline.child);
      logRun('baseline', baselineRun);
      await settle(base.devices);
      results.push({ wfm: wfmRun, baseline: baselineRun });
    }

    const rows = results.map(({ wfm: res, baseline: base }) => {
      const answered = res.changes.filter((c) => c.answeredAt !== undefined);
      const lat = latencies(res);
      const floor = latencies(base);
      const missed = res.changes.filter((c) => c.missed).length;
      const issued = sorted(res.issuedLatencies);
      const put = sorted(res.putLatencies);
      return [
        `${fmt(res.rate)}/s`,
        `${fmt(answered.length / res.durationS, 1)}/s (${fmt(answered.length)})`,
        fmt(res.skipped),
        `${ms(percentile(put, 50))} / ${ms(percentile(put, 99))}`,
        `**${ms(percentile(lat, 50))}** / ${ms(percentile(lat, 90))} / **${ms(percentile(lat, 99))}** / ${ms(lat[lat.length - 1] ?? NaN)}`,
        `${ms(percentile(floor, 50))} / ${ms(percentile(floor, 99))}`,
        `${ratio(lat, floor, 50)} / **${ratio(lat, floor, 99)}**`,
        `${ms(percentile(issued, 50))} / ${ms(percentile(issued, 99))}`,
        `${fmt(missed)}${missed > 0 ? ` (seen later: ${fmt(res.changes.filter((c) => c.lateSeenAt !== undefined).length)})` : ''}` +
          `${Object.keys(res.putErrors).length > 0 ? `; PUT errors: ${JSON.stringify(res.putErrors)}` : ''}`,
      ];
    });
    const baselineRows = results.map(({ baseline: res }) => {
      const answered = res.changes.filter((c) => c.answeredAt !== undefined).length;
      const lat = latencies(res);
      const put = sorted(res.putLatencies);
      const missed = res.changes.filter((c) => c.missed).length;
      const pct = (cpuMs: number) => `${fmt((100 * cpuMs) / res.wallMs)} %`;
      return [
        `${fmt(res.rate)}/s`,
        `${fmt(answered / res.durationS, 1)}/s (${fmt(answered)})`,
        fmt(res.skipped),
        `${ms(percentile(put, 50))} / ${ms(percentile(put, 99))}`,
        `${ms(percentile(lat, 50))} / ${ms(percentile(lat, 90))} / ${ms(percentile(lat, 99))} / ${ms(lat[lat.length - 1] ?? NaN)}`,
        `${fmt(missed)}${Object.keys(res.putErrors).length > 0 ? `; PUT errors: ${JSON.stringify(res.putErrors)}` : ''}`,
        `${pct(res.serverCpuMs)} / ${pct(res.generatorCpuMs)}`,
        `${fmt(res.polls / res.durationS)}/s (${fmt((100 * res.notModified) / Math.max(1, res.polls))} % 304)`,
      ];
    });
    const costRows = results.map(({ wfm: res }) => {
      const answered = Math.max(1, res.changes.filter((c) => c.answeredAt !== undefined).length);
      const pct = (cpuMs: number) => `${fmt((100 * cpuMs) / res.wallMs)} %`;
      return [
        `${fmt(res.rate)}/s`,
        `${pct(res.cpu.api)} / ${pct(res.cpu.worker)} / ${pct(res.cpu.postgres)} / ${pct(res.generatorCpuMs)}`,
        `${fmt(res.cpu.api / answered, 1)} / ${fmt(res.cpu.worker / answered, 1)} / ${fmt(res.cpu.postgres / answered, 1)}`,
        fmt(res.db.commits / answered, 1),
        `${fmt(res.polls / res.durationS)}/s (${fmt((100 * res.notModified) / Math.max(1, res.polls))} % 304)`,
        fmt(res.backlogAtEnd),
      ];
    });
    const at50 = results.find((x) => x.wfm.rate === 50);
    let targetLine = '';
    if (at50) {
      const p99 = percentile(latencies(at50.wfm), 99);
      targetLine =
        `Target p99 ≤ 1 s at 50 changes/s: ${p99 <= 1000 ? 'met' : `**missed** (${ms(p99)} ms, ${fmt(p99 / 1000, 1)}× the target)`}` +
        ` with the recompute debounce at ${DEBOUNCE_MS} ms.`;
    }
    const section = [
      h.measuredWith(COMMAND),
      '',
      `What it measures: ${CLIENTS} accepted rc.3 clients with ${DEVICES} devices in all (${DEVICES / CLIENTS} per client), one ` +
        'selector deployment of `linePackage()` on all of them. A change flips one device between ' +
        "supportedDeploymentTypes [compose] and [helm, compose]: placement then picks the package's other profile, so " +
        "the device's ApplicationDeployment renders to new YAML and its client's manifest gets a new version. Changes " +
        'go out open-loop at the given rate (`PUT /api/v1/capabilities/{deviceId}` over kept-alive mTLS); a device gets ' +
        'its next change only after its previous one was seen, even late (else the change is counted as skipped). After the PUT ' +
        `is answered, the client polls \`GET /api/v1/deployments\` (If-None-Match) every ${POLL_MS} ms (once a change has ` +
        'waited longer, every tenth of its wait, at most 250 ms) until the manifest ' +
        "lists the device's deployment at a digest whose YAML has the new profile. **Latency = PUT answered → end of " +
        `that poll** (resolution about ${POLL_MS} ms, or 10 %, plus a poll round trip). Not seen within 10 s = missed ` +
        '(it is still watched, and the device gets no next change until it shows up). API and worker ' +
        `run as two processes; WFM_RECOMPUTE_DEBOUNCE_MS=${DEBOUNCE_MS} (the default is 100 ms); worker concurrency ` +
        `${process.env.WFM_WORKER_CONCURRENCY ?? 'default (8)'}; rate limit off, log level warn. After a warm-up of 100 changes at 50/s. A PUT ` +
        'answered with an error leaves the device as it was (it gets a later change); the errors are listed.',
      '',
      table(
        [
          'Offered rate',
          'Achieved (answered PUTs)',
          'Skipped (device still busy)',
          'PUT p50 / p99 ms',
          'Change → served p50 / p90 / p99 / max ms',
          'Baseline change → served p50 / p99 ms',
          'Ratio WFM / baseline p50 / p99',
          'PUT → manifest issued p50 / p99 ms',
          'Missed (not seen within 10 s)',
        ],
        rows,
        ['r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l'],
      ),
      '',
      targetLine,
      '',
      'Baseline, measured in the same run with the same load generator, poller, client SVIDs, rates, duration and ' +
        'warm-up (per rate the WFM phase runs first, then the baseline phase): a bare Node `https.createServer` in a ' +
        "child process with the service's certificate, key, CA and TLS options that plays the device side of the " +
        'contract with no database, queue, debounce or rendering. It keeps each client (named by its SVID) a manifest ' +
        "in memory; a PUT's supportedDeploymentTypes pick the device's profile (helm when listed, else compose) and, " +
        'before the 200, issue the next manifestVersion (ETag = sha256 of the manifest bytes) listing the device at the ' +
        'digest of a few-line YAML with that `spec.deploymentProfile.type`; `GET /api/v1/deployments` answers 304 or the ' +
        "manifest, the entry's URL the YAML. Its change → served is the floor the harness itself sets: as the change " +
        'is in the manifest when the PUT is answered, one poll round trip over kept-alive mTLS (plus a YAML GET for a ' +
        "digest not seen before), or up to a poll interval when the client's poller was already waiting on another " +
        'change, all on these shared cores. Ratio = WFM / baseline at the same percentile.',
      '',
      table(
        [
          'Offered rate',
          'Baseline achieved (answered PUTs)',
          'Skipped (device still busy)',
          'PUT p50 / p99 ms',
          'Change → served p50 / p90 / p99 / max ms',
          'Missed (not seen within 10 s)',
          'CPU baseline server / this load generator and poller (% of one core)',
          'Manifest polls',
        ],
        baselineRows,
        ['r', 'r', 'r', 'r', 'r', 'l', 'r', 'r'],
      ),
      '',
      'Cost while each phase ran (from its first change until its last one was seen or given up):',
      '',
      table(
        [
          'Offered rate',
          'CPU API / worker / Postgres / this load generator and poller (% of one core)',
          'CPU ms per change API / worker / Postgres',
          'Postgres transactions per change',
          'Manifest polls',
          'Recompute jobs queued at the end',
        ],
        costRows,
        ['r', 'r', 'r', 'r', 'r', 'r'],
      ),
      '',
      "The worker's side (recompute-device jobs of each phase, from BullMQ's record of its last 1,000 completed jobs):",
      '',
      table(
        [
          'Offered rate',
          'Jobs',
          `Started after being enqueued (${DEBOUNCE_MS} ms debounce included) p50 / p99 / max ms`,
          'Run time p50 / p99 / max ms',
          'Retried / failed',
        ],
        results.map(({ wfm: res }) => {
          const pickup = sorted(res.jobs.pickup);
          const run = sorted(res.jobs.run);
          return [
            `${fmt(res.rate)}/s`,
            fmt(pickup.length),
            `${ms(percentile(pickup, 50))} / ${ms(percentile(pickup, 99))} / ${ms(pickup[pickup.length - 1] ?? NaN)}`,
            `${ms(percentile(run, 50))} / ${ms(percentile(run, 99))} / ${ms(run[run.length - 1] ?? NaN)}`,
            `${fmt(res.jobs.retried)} / ${fmt(res.jobs.failed)}`,
          ];
        }),
        ['r', 'r', 'r', 'r', 'r'],
      ),
      '',
      '- "PUT → manifest issued": from the PUT\'s answer to `manifest_issue.issued_at` of the version the device saw ' +
        '(the start of the rebuild transaction that issued it; same clock). It contains the debounce delay, the wait ' +
        'in the queue and the recomputation; the rest of "change → served" is the poll interval.',
      '',
      '### Machine',
      '',
      ...h.machineLines(COMMAND),
      `- Peak resident memory (VmHWM): API ${fmt(procMemory(api.pid)?.peakMiB ?? NaN)} MiB, worker ${fmt(procMemory(worker.pid)?.peakMiB ?? NaN)} MiB`,
    ].join('\n');
    await h.publish({
      name: 'change-latency',
      heading: 'Change latency benchmark',
      section,
      readmeSection: UPDATES_README ? SECTION : undefined,
    });
    const samples = (run: Run) =>
      run.changes.map((c) => ({
        device: `${c.device.client.id}/${c.device.deviceId}`,
        variant: c.variant,
        putMs: c.answeredAt === undefined ? null : c.answeredAt - c.sentAt,
        latencyMs: c.seenAt === undefined || c.answeredAt === undefined ? null : c.seenAt - c.answeredAt,
        missed: c.missed === true,
      }));
    await writeFile(
      join(h.resultsDir, `change-latency-${h.stamp}-samples.json`),
      JSON.stringify(
        results.map((res) => ({
          rate: res.wfm.rate,
          changes: samples(res.wfm),
          baselineChanges: samples(res.baseline),
          jobPickupMs: res.wfm.jobs.pickup,
          jobRunMs: res.wfm.jobs.run,
        })),
      ),
    );
  } finally {
    for (const c of [...wfm.clients, ...base.clients]) c.agent.destroy();
  }
});
