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
import { forEachLimit, Harness, postgresCpuBetween, procMemory, sleep } from './lib/harness.js';
import type { ServerChild } from './lib/ipc.js';
import { percentile } from './lib/load.js';
import {
  type BaselineRun,
  changeLatencySection,
  type Client,
  type Device,
  type Fleet,
  latencies,
  other,
  type Run,
  type Variant,
  type WfmRun,
  type Change,
} from './lib/change-latency-report.js';
import { fmt, ms } from './lib/report.js';

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

    const section = changeLatencySection(
      {
        measuredWith: h.measuredWith(COMMAND),
        machine: [
          ...h.machineLines(COMMAND),
          `- Peak resident memory (VmHWM): API ${fmt(procMemory(api.pid)?.peakMiB ?? NaN)} MiB, worker ${fmt(procMemory(worker.pid)?.peakMiB ?? NaN)} MiB`,
        ],
        clients: CLIENTS,
        devices: DEVICES,
        pollMs: POLL_MS,
        debounceMs: DEBOUNCE_MS,
      },
      results,
    );
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
