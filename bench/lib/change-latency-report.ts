import type https from 'node:https';
import type { ClientSvid } from '../../src/client/identities.js';
import type { DatabaseActivity } from './harness.js';
import { percentile } from './load.js';
import { fmt, ms, table } from './report.js';

/**
 * bench/change-latency.ts: what it collects per side (the clients, their devices and changes, one run
 * per rate) and its report (change → served beside the baseline, the baseline's own figures, the cost
 * per change, the worker's jobs).
 */
export type Variant = 'compose' | 'helm';
export const other = (v: Variant): Variant => (v === 'compose' ? 'helm' : 'compose');

export interface Change {
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

export interface Device {
  client: Client;
  deviceId: string;
  targetId?: string;
  /** The variant last sent (and, when nothing is pending, the one its manifest shows). */
  variant: Variant;
  pending?: Change;
  /** A change of it was missed: its manifest state is unknown, so it gets no more changes. */
  retired: boolean;
}

export interface Client {
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
export interface Fleet {
  clients: Client[];
  devices: Device[];
}

/** digest → the profile type its YAML renders (learned once per digest). */
export interface Run {
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

export interface WfmRun extends Run {
  cpu: { api: number; worker: number; postgres: number };
  db: DatabaseActivity;
  issuedLatencies: number[];
  backlogAtEnd: number;
  /** recompute-device jobs of the phase: start after they were enqueued (debounce included), run time (ms). */
  jobs: { pickup: number[]; run: number[]; retried: number; failed: number };
}

export interface BaselineRun extends Run {
  serverCpuMs: number;
}

/** Sends changes open-loop at `rate` for `durationS` and waits until each was seen or given up. */
export function sorted(values: number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

/** Change → served of the changes seen within 10 s, sorted (ms). */
export function latencies(run: Run): number[] {
  return sorted(run.changes.filter((c) => c.seenAt !== undefined).map((c) => c.seenAt! - c.answeredAt!));
}

/** WFM / baseline at percentile `p` of two sorted latency lists. */
export function ratio(wfm: number[], baseline: number[], p: number): string {
  const r = percentile(wfm, p) / percentile(baseline, p);
  return `${fmt(r, r < 10 ? 1 : 0)}×`;
}

/** The section's text. */
export function changeLatencySection(
  o: {
    measuredWith: string;
    /** The Machine list (the harness's lines plus the bench's own). */
    machine: string[];
    clients: number;
    devices: number;
    pollMs: number;
    debounceMs: number;
  },
  results: { wfm: WfmRun; baseline: BaselineRun }[],
): string {
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
      ` with the recompute debounce at ${o.debounceMs} ms.`;
  }
  return [
    o.measuredWith,
    '',
    `What it measures: ${o.clients} accepted rc.3 clients with ${o.devices} devices in all (${o.devices / o.clients} per client), one ` +
      'selector deployment of `linePackage()` on all of them. A change flips one device between ' +
      "supportedDeploymentTypes [compose] and [helm, compose]: placement then picks the package's other profile, so " +
      "the device's ApplicationDeployment renders to new YAML and its client's manifest gets a new version. Changes " +
      'go out open-loop at the given rate (`PUT /api/v1/capabilities/{deviceId}` over kept-alive mTLS); a device gets ' +
      'its next change only after its previous one was seen, even late (else the change is counted as skipped). After the PUT ' +
      `is answered, the client polls \`GET /api/v1/deployments\` (If-None-Match) every ${o.pollMs} ms (once a change has ` +
      'waited longer, every tenth of its wait, at most 250 ms) until the manifest ' +
      "lists the device's deployment at a digest whose YAML has the new profile. **Latency = PUT answered → end of " +
      `that poll** (resolution about ${o.pollMs} ms, or 10 %, plus a poll round trip). Not seen within 10 s = missed ` +
      '(it is still watched, and the device gets no next change until it shows up). API and worker ' +
      `run as two processes; WFM_RECOMPUTE_DEBOUNCE_MS=${o.debounceMs} (the default is 100 ms); worker concurrency ` +
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
        `Started after being enqueued (${o.debounceMs} ms debounce included) p50 / p99 / max ms`,
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
    ...o.machine,
  ].join('\n');
}
