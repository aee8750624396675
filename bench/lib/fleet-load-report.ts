import type { IntervalHistogram } from 'node:perf_hooks';
import type { Fleet } from '../../src/simulator/fleet.js';
import {
  type CallRecorder,
  type CallSample,
  isSuccess,
  percentile,
  type RouteStats,
  routeStats,
} from '../../src/simulator/recorder.js';
import type { DatabaseActivity } from './harness.js';
import { countAbove, gauge, histogramQuantile, histogramsBetween, type PromSample } from './prom.js';
import { fmt, ms, table } from './report.js';
import { busiest, cpuPercent, otherPercent, type Proc, type Sample } from './sampler.js';

/**
 * The report of bench/fleet-load.ts: what the agents saw (per route, per phase of a fault, per 10-s
 * slice), what the API measured itself, the processes' CPU and memory, PostgreSQL and Redis, the
 * recovery after a cut, the zero-loss check and the setup. The bench collects a `FleetLoadRun`;
 * `fleetLoadSection` turns it into the Markdown section.
 */
export const BUCKET_S = 10;
export const EVENT_LOOP_RESOLUTION_MS = 2;
/** prom-client's event-loop monitor in the service samples every 10 ms (its default). */
export const SERVICE_EVENT_LOOP_RESOLUTION_S = 0.01;

export type Fault = 'none' | 'postgres' | 'redis';

/** The run's command-line shape. */
export interface FleetLoadShape {
  fault: Fault;
  devices: number;
  durationS: number;
  pollS: number;
  churn: number;
  cutAtS: number;
  cutForS: number;
  installDelayMs: number;
  rampUpS: number;
  settleTimeoutS: number;
  drainTimeoutS: number;
  enrollConcurrency: number;
}

export interface Convergence {
  devices: number;
  placed: number;
  notPlaceable: number;
  installed: number;
}

export type FleetStats = ReturnType<Fleet['stats']>;

/** Enrollment: SVIDs minted and accepted before the agents start (not measured). */
export interface Enrollment {
  startedAt: number;
  endedAt: number;
  /** Time summed over the lanes. */
  mintMs: number;
  acceptMs: number;
}

/** From the agents' start until the fleet converged. */
export interface Setup {
  /** Epoch ms when the last agent was due to start. */
  startedAll: number;
  settledAt?: number;
  conv: Convergence;
  stats: FleetStats;
  /** Status reports acknowledged and device requests until the window. */
  acked: number;
  samples: number;
}

/** The measured window (epoch ms; a fault run's cut and restore inside it). */
export interface Window {
  t0: number;
  tEnd: number;
  cutAt: number;
  restoredAt: number;
  cutInfo: { accepted: number; dropped: number };
  metricsBefore: PromSample[];
  metricsAfter: PromSample[];
  firstScrapeMs: number;
  scrapeStallMs: number;
  /** The simulator's event loop and garbage collection in the window. */
  eventLoop: IntervalHistogram;
  gcPauses: number[];
  pgCpuMs: number;
  db: DatabaseActivity;
  loadAfter: number[];
  slowlog?: { thresholdMs: number; count: number; ours: number; maxMs: number };
  churned: number;
}

/** Status reports acknowledged with 2xx against the stored history. */
export interface ZeroLoss {
  acked: number;
  storedForAcked: number;
  lost: number;
  lostPairs: number;
  pairs: number;
  maxPerPair: number;
  storedTotal: number;
}

export interface FleetLoadRun {
  shape: FleetLoadShape;
  /** The section's first line and its Machine list (from the harness). */
  measuredWith: string;
  machine: string[];
  /** Other benchmarks before starting. */
  quiet: string;
  recorder: CallRecorder;
  errorKinds: ErrorKinds;
  procs: Proc[];
  procSamples: Sample[];
  enrollment: Enrollment;
  setup: Setup;
  window: Window;
  drainedAt?: number;
  loss: ZeroLoss;
  finalConv: Convergence;
  finalStats: FleetStats;
}

const secondsBetween = (a: number, b: number) => (b - a) / 1000;
const signed = (s: number) => (Number.isFinite(s) ? `${s >= 0 ? '+' : ''}${s.toFixed(1)} s` : '–');

/** A 503 as the service promises it while a dependency is down: problem+json with Retry-After. */
export const isGood503 = (s: CallSample) =>
  s.status === 503 && s.problemJson === true && s.retryAfter === true;
export const isFailure = (s: CallSample) => !isSuccess(s);

export function statusesText(statuses: Map<number, number>): string {
  return [...statuses]
    .sort(([a], [b]) => a - b)
    .map(([s, n]) => `${fmt(n)}× ${s === 0 ? 'no answer' : s}`)
    .join(', ');
}

/** Per-route rows, plus the manifest poll split by answer (304 / 200). */
export function routeRows(samples: CallSample[], seconds: number): (string | number)[][] {
  const stats = routeStats(samples);
  const polls = samples.filter((s) => s.kind === 'manifest');
  const split = (status: number) =>
    routeStats(
      polls.filter((s) => s.status === status).map((s) => ({ ...s, route: `${s.route} → ${status}` })),
    );
  const rows: RouteStats[] = [];
  for (const r of stats) {
    rows.push(r);
    if (r.kind === 'manifest') rows.push(...split(304), ...split(200));
  }
  const all = [...samples].map((s) => s.ms).sort((a, b) => a - b);
  return [
    ...rows.map((r) => [
      r.route.includes('→') ? `  ${r.route.replace(/^GET \S+ /, '… ')}` : `\`${r.route}\``,
      fmt(r.count),
      fmt(r.count / seconds, 1),
      statusesText(r.statuses),
      ms(r.p50Ms),
      ms(r.p99Ms),
      ms(r.maxMs),
      r.route.includes('→') ? '' : fmt(r.count - r.successes),
    ]),
    [
      '**all device requests**',
      fmt(samples.length),
      fmt(samples.length / seconds, 1),
      '',
      ms(percentile(all, 50)),
      ms(percentile(all, 99)),
      ms(all.at(-1) ?? Number.NaN),
      fmt(samples.filter(isFailure).length),
    ],
  ];
}

/** Error messages the agents saw, grouped with ids and numbers masked, most frequent first. */
export class ErrorKinds {
  private readonly kinds = new Map<string, number>();
  add(message: string): void {
    const key = message
      .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '<id>')
      .replace(/edge-\d+/g, 'edge-<n>')
      .replace(/:\d{2,5}\b/g, ':<port>');
    this.kinds.set(key, (this.kinds.get(key) ?? 0) + 1);
  }
  top(n: number): [string, number][] {
    return [...this.kinds].sort((a, b) => b[1] - a[1]).slice(0, n);
  }
}

/** The Markdown section of one run. */
export function fleetLoadSection(run: FleetLoadRun): string {
  const { shape, recorder, errorKinds, procs, procSamples, drainedAt, finalConv, finalStats, quiet } = run;
  const { startedAt: enrollStart, endedAt: enrolledAt, mintMs, acceptMs } = run.enrollment;
  const {
    startedAll,
    settledAt,
    conv,
    stats: setupStats,
    acked: setupAcked,
    samples: setupSamples,
  } = run.setup;
  const { t0, tEnd, cutAt, restoredAt, cutInfo, metricsBefore, metricsAfter, firstScrapeMs } = run.window;
  const { scrapeStallMs, eventLoop, gcPauses, pgCpuMs, db, loadAfter, slowlog, churned } = run.window;
  const { acked, storedForAcked, lost, lostPairs, pairs, maxPerPair, storedTotal } = run.loss;
  const own = procs.map((p) => p.name);
  const seconds = secondsBetween(t0, tEnd);
  const windowSamples = [...recorder.between(t0, tEnd)];
  const inWindow = procSamples.filter((s) => s.at >= t0 - 1_100 && s.at <= tEnd + 999);
  const first = inWindow[0];
  const last = inWindow.at(-1)!;
  const procRows = procs.map((p) => {
    const peak = busiest(inWindow, BUCKET_S, (a, b) => cpuPercent(a, b, p.name));
    const rss = inWindow.map((s) => s.rssMiB[p.name]).filter(Number.isFinite);
    const role = {
      api: 'WFM API (`WFM_ROLES=api`): HTTPS, device and operator routes',
      worker: 'WFM worker (`WFM_ROLES=worker`): recompute, placement, manifests, sweeps',
      simulator: `simulator: ${fmt(shape.devices)} agents in one Node process (+ this bench's sampling)`,
      proxy: `TCP proxy in front of ${shape.fault === 'postgres' ? 'PostgreSQL' : 'Redis'}`,
    }[p.name];
    return [
      role ?? p.name,
      `${fmt(cpuPercent(first, last, p.name))} %`,
      `${fmt(peak)} %`,
      fmt(rss[0] ?? Number.NaN),
      fmt(rss.at(-1) ?? Number.NaN),
      fmt(Math.max(...rss)),
    ];
  });
  const pgRow = (label: string) => [label, `${fmt((100 * pgCpuMs) / (tEnd - t0))} %`, '', '', '', ''];
  procRows.push(
    [
      'everything else on the machine (PostgreSQL, Redis, the kernel, other work)',
      `${fmt(otherPercent(first, last, own))} %`,
      `${fmt(busiest(inWindow, BUCKET_S, (a, b) => otherPercent(a, b, own)))} %`,
      '',
      '',
      '',
    ],
    pgRow(
      '… of which the PostgreSQL backends of the bench database (a lower bound when connections were replaced)',
    ),
    [
      '**the whole machine** (2 cores: at most 200 %)',
      `${fmt(cpuPercent(first, last, 'machine'))} %`,
      `${fmt(busiest(inWindow, BUCKET_S, (a, b) => cpuPercent(a, b, 'machine')))} %`,
      '',
      '',
      '',
    ],
  );
  const polls = windowSamples.filter((s) => s.kind === 'manifest');
  const pollMs = polls.map((s) => s.ms).sort((a, b) => a - b);
  const pollP99 = percentile(pollMs, 99);
  const failures = windowSamples.filter(isFailure);
  const statusAckedInWindow = windowSamples.filter(
    (s) => s.kind === 'status' && s.status >= 200 && s.status < 300,
  ).length;

  // the API's own view (its Prometheus metrics between the start and the end of the window)
  const serverHttp = histogramsBetween(
    metricsBefore,
    metricsAfter,
    'wfm_http_request_duration_seconds',
    (l) => (l.route?.startsWith('/api/') ? `${l.method} ${l.route} → ${l.status}` : undefined),
  );
  const serverRows = [...serverHttp]
    .sort((a, b) => b[1].count - a[1].count)
    .map(([k, hist]) => [
      `\`${k.replace(/ → /, '` → ')}`,
      fmt(hist.count),
      ms(1000 * histogramQuantile(hist, 0.5)),
      ms(1000 * histogramQuantile(hist, 0.99)),
      fmt(countAbove(hist, 0.05)),
    ]);
  const apiGc = histogramsBetween(
    metricsBefore,
    metricsAfter,
    'wfm_nodejs_gc_duration_seconds',
    (l) => l.kind,
  );
  const gcText = [...apiGc]
    .map(
      ([kind, hist]) =>
        `${kind} ${fmt(hist.count)} (${fmt(hist.sum * 1000)} ms in all, ${fmt(countAbove(hist, 0.1))} of them ≥ 100 ms)`,
    )
    .join(', ');
  const apiLag = (name: string) =>
    ms(
      Math.max(
        0,
        gauge(metricsAfter, `wfm_nodejs_eventloop_lag_${name}_seconds`) - SERVICE_EVENT_LOOP_RESOLUTION_S,
      ) * 1000,
    );
  const simGcSorted = [...gcPauses].sort((a, b) => a - b);
  const simGcText =
    `${fmt(gcPauses.length)} pauses, ${fmt(gcPauses.reduce((a, b) => a + b, 0))} ms in all, ` +
    `${fmt(gcPauses.filter((d) => d >= 100).length)} ≥ 100 ms, the longest ${ms(simGcSorted.at(-1) ?? Number.NaN)} ms`;

  // fault phases
  const phases =
    shape.fault === 'none'
      ? [{ name: 'whole window', from: t0, to: tEnd }]
      : [
          { name: `before the cut (0–${shape.cutAtS} s)`, from: t0, to: cutAt },
          {
            name: `${shape.fault} unreachable (${shape.cutAtS}–${shape.cutAtS + shape.cutForS} s)`,
            from: cutAt,
            to: restoredAt,
          },
          {
            name: `after it is back (${shape.cutAtS + shape.cutForS}–${shape.durationS} s)`,
            from: restoredAt,
            to: tEnd,
          },
        ];
  const phaseRows = phases.map((p) => {
    const ss = windowSamples.filter((s) => s.at >= p.from && s.at < p.to);
    const pp = ss.filter((s) => s.kind === 'manifest');
    const sorted = pp.map((s) => s.ms).sort((a, b) => a - b);
    const count = (f: (s: CallSample) => boolean) => fmt(ss.filter(f).length);
    const byStatus = (list: CallSample[]) =>
      statusesText(
        list.reduce((m, s) => m.set(s.status, (m.get(s.status) ?? 0) + 1), new Map<number, number>()),
      ) || '–';
    return [
      p.name,
      fmt(ss.length),
      count(isSuccess),
      count(isGood503),
      count((s) => isFailure(s) && !isGood503(s)),
      byStatus(pp),
      `${ms(percentile(sorted, 50))} / ${ms(percentile(sorted, 99))}`,
      byStatus(ss.filter((s) => s.kind === 'status')),
      byStatus(ss.filter((s) => s.kind === 'capabilities')),
    ];
  });

  // timeline (10-s buckets of the window, then the drain)
  const timelineRows: (string | number)[][] = [];
  for (let from = t0; from < tEnd - 1000; from += BUCKET_S * 1000) {
    const to = Math.min(tEnd, from + BUCKET_S * 1000);
    const ss = windowSamples.filter((s) => s.at >= from && s.at < to);
    const pp = ss
      .filter((s) => s.kind === 'manifest')
      .map((s) => s.ms)
      .sort((a, b) => a - b);
    const a = [...procSamples].reverse().find((s) => s.at <= from + 500) ?? procSamples[0];
    const b = [...procSamples].reverse().find((s) => s.at <= to + 500) ?? a;
    const mark =
      shape.fault !== 'none' && Math.min(to, restoredAt) - Math.max(from, cutAt) > 500
        ? ` **(${shape.fault} cut)**`
        : '';
    timelineRows.push([
      `${secondsBetween(t0, from).toFixed(0)}–${secondsBetween(t0, to).toFixed(0)} s${mark}`,
      fmt(ss.length),
      fmt(ss.filter(isSuccess).length),
      fmt(ss.filter(isGood503).length),
      fmt(ss.filter((s) => isFailure(s) && !isGood503(s)).length),
      ms(percentile(pp, 99)),
      `${fmt(cpuPercent(a, b, 'api'))} / ${fmt(cpuPercent(a, b, 'worker'))}`,
      `${fmt(cpuPercent(a, b, 'simulator'))} / ${fmt(otherPercent(a, b, own))}`,
      fmt(b.unsent),
      `${fmt(b.backlog)} / ${fmt(b.lag)}`,
      b.ready === 0 ? 'no answer' : String(b.ready),
    ]);
  }

  // recovery
  const afterRestore = (pred: (s: CallSample) => boolean) =>
    recorder.samples.filter((s) => s.at >= restoredAt && pred(s)).sort((a, b) => a.at - b.at);
  const firstOk = (kind: CallSample['kind'], status?: number) =>
    afterRestore((s) => s.kind === kind && isSuccess(s) && (status === undefined || s.status === status))[0];
  const lastFailure = recorder.samples
    .filter((s) => s.at >= cutAt && isFailure(s))
    .reduce((m, s) => Math.max(m, s.at + s.ms), -Infinity);
  const firstSampleAfter = (pred: (s: Sample) => boolean) =>
    procSamples.find((s) => s.at >= restoredAt && pred(s));
  const readyBack = firstSampleAfter((s) => s.ready === 200);
  const readyDown = procSamples.filter((s) => s.at >= cutAt && s.at < restoredAt && s.ready !== 200).length;
  const unsentZero = firstSampleAfter((s) => s.unsent === 0);
  const backlogZero = firstSampleAfter((s) => s.backlog === 0 && s.lag === 0);
  const maxUnsent = Math.max(0, ...procSamples.filter((s) => s.at >= cutAt).map((s) => s.unsent));
  const maxLag = Math.max(0, ...procSamples.filter((s) => s.at >= cutAt).map((s) => s.lag));
  const maxBacklog = Math.max(
    0,
    ...procSamples.filter((s) => s.at >= cutAt && Number.isFinite(s.backlog)).map((s) => s.backlog),
  );
  const during = windowSamples.filter((s) => s.at >= cutAt && s.at < restoredAt);
  const during503 = during.filter((s) => s.status === 503);
  const since = (s: { at: number } | undefined) =>
    s ? signed(secondsBetween(restoredAt, s.at)) : 'not seen';

  // the histogram records the timer's whole interval: the delay is what exceeds the resolution
  const eventLoopMs = (q: number) => Math.max(0, eventLoop.percentile(q) / 1e6 - EVENT_LOOP_RESOLUTION_MS);
  const targetsMet = {
    errors: failures.length === 0,
    poll: pollP99 < 50,
  };
  const duringFailuresNot503 = during.filter((s) => isFailure(s) && !isGood503(s)).length;
  const outsideFailures = windowSamples.filter(
    (s) => isFailure(s) && (shape.fault === 'none' || s.at < cutAt),
  ).length;

  const summaryLine =
    shape.fault === 'none'
      ? `Targets: zero errors — **${targetsMet.errors ? 'met' : `NOT met (${fmt(failures.length)} failed requests)`}**; ` +
        `p99 of the manifest poll under 50 ms — **${targetsMet.poll ? 'met' : 'NOT met'}** (${ms(pollP99)} ms). ` +
        `Zero loss — **${lost === 0 ? 'met' : `NOT met (${fmt(lost)} reports lost)`}**.`
      : `While ${shape.fault === 'postgres' ? 'PostgreSQL' : 'Redis'} was unreachable: ${fmt(during.length)} device requests, ` +
        `${fmt(during.filter(isSuccess).length)} answered as usual (2xx, or 304 to a matching poll), ` +
        `${fmt(during503.length)} answered 503 (${fmt(during503.filter(isGood503).length)} of them problem+json with ` +
        `Retry-After), ${fmt(duringFailuresNot503)} failed otherwise. Zero loss — **${lost === 0 ? 'met' : `NOT met (${fmt(lost)} reports lost)`}**.`;

  const settleText =
    settledAt === undefined
      ? `did NOT converge within ${shape.settleTimeoutS} s (measured anyway; at the start of the window ${fmt(conv.installed)} of ${fmt(conv.placed)} placed deployments were reported installed)`
      : `converged ${secondsBetween(startedAll, settledAt).toFixed(0)} s after the last agent started`;
  return [
    run.measuredWith,
    '',
    `What it runs: ${fmt(shape.devices)} simulated rc.3 Margo agents (\`src/simulator\`, one device each, each with its own ` +
      `X.509-SVID and kept-alive mutual-TLS connection) against the service as two processes, the API ` +
      '(`WFM_ROLES=api`) and the worker (`WFM_ROLES=worker`), with the service defaults (rate limit 600/min per client, ' +
      `log level warn). Each agent polls its manifest every ${shape.pollS} s (±20 % jitter) with If-None-Match, fetches and ` +
      `verifies what changed, "installs" it in ${fmt(shape.installDelayMs / 1000, 1)} s and reports every transition; ` +
      `\`examples/line-monitor\` (Helm profile: 2 cores, 1Gi) is deployed to the selector \`site=plant-1\`, which every ` +
      `device carries, so it is placed on the devices that support Helm (${fmt(conv.placed)}; ${fmt(conv.notPlaceable)} ` +
      `not placeable). The measured window (${shape.durationS} s) starts when the fleet has converged; during it ${shape.churn} of the ` +
      `devices per minute report changed capabilities (${fmt(churned)} changes; some move in or out of placement: ` +
      'installs, removals and their status reports). ' +
      (shape.fault === 'none'
        ? ''
        : `${shape.fault === 'postgres' ? 'PostgreSQL' : 'Redis'} is unreachable for the service (API and worker) from ` +
          `+${shape.cutAtS} s to +${shape.cutAtS + shape.cutForS} s: a TCP proxy in its own process, in front of the shared ` +
          `instance, drops the open connections (${fmt(cutInfo.dropped)}) and refuses new ones, then accepts again. `) +
      'Latencies are the agents’ own (request written → answer read and checked), so they include the ' +
      'simulator’s event loop: **the simulator, the API, the worker, PostgreSQL and Redis all share the 2 cores** ' +
      'of this machine.',
    '',
    summaryLine,
    '',
    `### Device requests in the measured window (${shape.durationS} s)`,
    '',
    table(
      ['Route', 'Requests', 'req/s', 'Answers', 'p50 ms', 'p99 ms', 'max ms', 'Failed'],
      routeRows(windowSamples, seconds),
      ['l', 'r', 'r', 'l', 'r', 'r', 'r', 'r'],
    ),
    '',
    '- Failed: anything but 2xx (or 304 to a conditional manifest poll), including no answer (connection refused ' +
      'or reset, timeout).' +
      (failures.length === 0
        ? ''
        : ` Failures in the window: ${statusesText(
            failures.reduce((m, s) => m.set(s.status, (m.get(s.status) ?? 0) + 1), new Map<number, number>()),
          )}` +
          (shape.fault === 'none' ? '' : `; before the cut: ${fmt(outsideFailures)}`) +
          '.'),
    ...(errorKinds.top(1).length > 0
      ? [
          `- What the agents logged as errors (whole run, setup included, where the agents retry after backoff; ids masked): ${errorKinds
            .top(6)
            .map(([m, n]) => `${fmt(n)}× “${m.slice(0, 160)}”`)
            .join('; ')}.`,
        ]
      : []),
    '',
    '### Where the latency comes from',
    '',
    'The API’s own measure of the device routes in the window (`wfm_http_request_duration_seconds` from its ' +
      '`GET /metrics` at the start and the end of the window; handler start → answer written, so without TLS, ' +
      'socket reads and the wait for the event loop; quantiles interpolated in the buckets 1, 2.5, 5, 10, 25, 50, ' +
      '100, 250, 500, 1000, 2500 ms):',
    '',
    serverRows.length > 0
      ? table(['Route → status', 'Requests', 'p50 ms', 'p99 ms', 'over 50 ms'], serverRows, [
          'l',
          'r',
          'r',
          'r',
          'r',
        ])
      : '(the metrics could not be read)',
    '',
    `- API event loop delay in the window (its \`wfm_nodejs_eventloop_lag_*\` gauges, 10-ms sampling subtracted): ` +
      `p50 ${apiLag('p50')} ms, p99 ${apiLag('p99')} ms, max ${apiLag('max')} ms. API garbage collection in the window ` +
      `(\`wfm_nodejs_gc_duration_seconds\`): ${gcText || 'not reported'}.`,
    `- Just before the window, one \`GET /metrics\` of the API (its \`wfm_targets\` gauge computes a status summary ` +
      `over all ${fmt(conv.placed + conv.notPlaceable)} deployment targets) took ${fmt(firstScrapeMs)} ms, and the ` +
      `API's event loop was blocked for up to ${fmt(scrapeStallMs)} ms meanwhile (no scrape happens inside the window).`,
    `- Simulator event loop delay in the window (\`monitorEventLoopDelay\`): p50 ${ms(eventLoopMs(50))} ms, ` +
      `p99 ${ms(eventLoopMs(99))} ms, max ${ms(eventLoop.max / 1e6 - EVENT_LOOP_RESOLUTION_MS)} ms; its garbage ` +
      `collection: ${simGcText}. Both are part of the latencies the agents see.`,
    '',
    ...(shape.fault === 'none'
      ? []
      : [
          '### Before, during and after the cut',
          '',
          table(
            [
              'Phase',
              'Requests',
              'Answered as usual',
              '503 problem+json + Retry-After',
              'Other failures',
              'Manifest polls',
              'Poll p50 / p99 ms',
              'Status reports',
              'Capability reports',
            ],
            phaseRows,
            ['l', 'r', 'r', 'r', 'r', 'l', 'r', 'l', 'l'],
          ),
          '',
          '### Recovery',
          '',
          table(
            ['Event (times relative to the moment the proxy accepted connections again)', 'When'],
            [
              ['`GET /health/ready` answers 200 again (sampled every second)', since(readyBack)],
              [
                '`/health/ready` samples during the cut that were not 200',
                `${fmt(readyDown)} of ${fmt(procSamples.filter((s) => s.at >= cutAt && s.at < restoredAt).length)}`,
              ],
              ['first manifest poll answered 200 after the cut', since(firstOk('manifest', 200))],
              ['first status report answered 2xx after the cut', since(firstOk('status'))],
              ['first capability report answered 2xx after the cut', since(firstOk('capabilities'))],
              [
                'last failed device request ended',
                Number.isFinite(lastFailure)
                  ? signed(secondsBetween(restoredAt, lastFailure))
                  : 'none failed',
              ],
              [
                `status reports waiting in the agents to be sent again: peak ${fmt(maxUnsent)}; back to 0`,
                maxUnsent === 0 ? 'never above 0' : since(unsentZero),
              ],
              [
                `recompute queue backlog (peak ${fmt(maxBacklog)}) and devices whose recomputation lags their capabilities (peak ${fmt(maxLag)}) both 0`,
                since(backlogZero),
              ],
            ],
            ['l', 'r'],
          ),
          '',
          `- The agents back off after a failed call (the poll interval doubling per consecutive error, at most 60 s, ` +
            'never less than the Retry-After the service sent), so the last failures and the first successes after ' +
            'the cut show when they came back as much as when the service did.',
          '',
        ]),
    `### Timeline (${BUCKET_S}-s slices of the window)`,
    '',
    table(
      [
        'Window',
        'Requests',
        'Answered as usual',
        '503 problem+json',
        'Other failures',
        'Poll p99 ms',
        'CPU API / worker (% of one core)',
        'CPU simulator / everything else on the machine',
        'Unsent status reports (end)',
        'Recompute backlog / lag (end)',
        '`/health/ready` (end)',
      ],
      timelineRows,
      ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l'],
    ),
    '',
    '### Processes',
    '',
    table(
      [
        'Process',
        'CPU, mean over the window (% of one core)',
        `CPU, busiest ${BUCKET_S} s`,
        'RSS MiB at the start',
        'at the end',
        'peak (sampled)',
      ],
      procRows,
      ['l', 'r', 'r', 'r', 'r', 'r'],
    ),
    '',
    `- Sampled every second from \`/proc/<pid>/stat\` (user + system) and \`/proc/<pid>/status\` (VmRSS). ` +
      `PostgreSQL in the window: ${fmt(db.commits / seconds, 1)} transactions/s ` +
      `(${fmt(db.commits / Math.max(1, windowSamples.length), 2)} per device request; an autocommit statement counts ` +
      `as one), ${fmt(db.inserted / seconds, 1)} rows inserted/s, ${fmt(db.updated / seconds, 1)} updated/s.`,
    `- Load average after the window: ${loadAfter.map((n) => n.toFixed(2)).join(' ')}. ` +
      (slowlog
        ? `The shared Redis logged ${fmt(slowlog.count)} commands slower than ${fmt(slowlog.thresholdMs)} ms in the window ` +
          `(its SLOWLOG, last 128 entries; ${fmt(slowlog.ours)} of them this run's` +
          `${slowlog.count > 0 ? `; the slowest ${ms(slowlog.maxMs)} ms` : ''}).`
        : 'The shared Redis’ SLOWLOG could not be read.'),
    '',
    '### Zero loss: status reports acknowledged with 2xx against the stored history',
    '',
    table(
      ['Status reports (whole run: setup, window and drain)', 'Count'],
      [
        ['acknowledged with 2xx, as the agents saw it', fmt(acked)],
        ['… of them in the measured window', fmt(statusAckedInWindow)],
        ['(client, deployment) pairs with acknowledged reports', fmt(pairs)],
        ['rows in `deployment_status_report` for those pairs', fmt(storedForAcked)],
        ['rows in `deployment_status_report` in all', fmt(storedTotal)],
        ['acknowledged but not stored (**lost**)', fmt(lost)],
        ['pairs with fewer rows than acknowledged reports', fmt(lostPairs)],
        ['sent again by the agents after a failed attempt', fmt(finalStats.reportRetries)],
        ['still unsent when the agents stopped', fmt(finalStats.unsentReports)],
      ],
      ['l', 'r'],
    ),
    '',
    `- Stored rows above the acknowledged ones are reports the service stored whose answer the agent did not get ` +
      `(or did not count: an agent stopped while waiting). The service keeps 200 reports per (deployment, device); ` +
      `the busiest pair received ${fmt(maxPerPair)}, so nothing was trimmed${maxPerPair >= 200 ? ' — NO: the cap was reached, the row count is a lower bound' : ''}.`,
    `- At the end: ${fmt(finalConv.installed)} of ${fmt(finalConv.placed)} placed deployments reported installed for ` +
      `their current manifest version; the drain after the window (unsent reports, queue and recomputations at 0) ` +
      `${drainedAt === undefined ? `did NOT finish within ${shape.drainTimeoutS} s` : `took ${secondsBetween(tEnd, drainedAt).toFixed(0)} s`}.`,
    '',
    '### Setup (not measured)',
    '',
    `- Enrollment: ${fmt(shape.devices)} SVIDs minted in the bench process and accepted through \`PUT /operator/v1/clients/{id}\` ` +
      `(${shape.enrollConcurrency} at a time, one kept-alive connection pool) in ${secondsBetween(enrollStart, enrolledAt).toFixed(0)} s ` +
      `(time summed over the ${shape.enrollConcurrency} lanes: minting ${(mintMs / 1000).toFixed(0)} s, accepting ${(acceptMs / 1000).toFixed(0)} s). ` +
      `Then the agents started, spread at random over ${shape.rampUpS.toFixed(0)} s (each: its TLS connection, a capability report, ` +
      'its first poll, and on a placed device the deployment’s YAML and three status reports).',
    `- The fleet ${settleText}. Until the window: ${fmt(setupSamples)} device requests, ${fmt(setupAcked)} status ` +
      `reports acknowledged, ${fmt(setupStats.errors)} agent errors.`,
    '',
    '### Machine',
    '',
    ...run.machine
      .filter((line) => !line.startsWith('- Load average after'))
      .concat([`- Other benchmarks (\`pgrep -f dist-bench/bench/\`) before starting: ${quiet}.`]),
  ].join('\n');
}
