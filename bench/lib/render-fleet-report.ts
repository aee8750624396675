import type { DatabaseActivity } from './harness.js';
import type { BaselineResult } from './render-fleet-baseline.js';
import { fmt, table } from './report.js';

/**
 * The report of bench/render-fleet.ts: per fleet and worker count, the time to all targets placed and
 * all manifests issued, the same-run baseline, the cost (CPU, Postgres transactions and rows), the
 * progress timeline and what the service's Postgres connections were doing.
 */
export interface Progress {
  s: number;
  targets: number;
  placed: number;
  inManifest: number;
  manifests: number;
  workerRssMiB: number;
  apiRssMiB: number;
}

export const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

export interface FleetResult {
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

export interface BaselineRun extends BaselineResult {
  /** Average size of the WFM's rendered YAML and client manifest body for this fleet, in bytes. */
  wfmYamlBytes: number;
  wfmManifestBytes: number;
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
export function activeRate(r: FleetResult, pick: (p: Progress) => number): number {
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

/** The section's tables and text (without the Machine list): `measuredWith` first. */
export function renderFleetSection(
  measuredWith: string,
  results: FleetResult[],
  skipped: { size: number; workers: number }[],
  workerCounts: number[],
): string[] {
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
  const targetLines = workerCounts
    .map((count) =>
      targetLine(
        results.find((r) => r.size === 100_000 && r.workers === count),
        skipped.some((k) => k.size === 100_000 && k.workers === count),
        count,
      ),
    )
    .filter((line) => line !== '');

  const lines = [
    measuredWith,
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
  return lines;
}
