import type { ServerChild, ServerStats } from './ipc.js';
import { type LoadOptions, type LoadTarget, mergeLoads, runLoad } from './load.js';
import type { CaseResult, Measured } from './report.js';

/**
 * The same-run baseline: each side (the WFM and the bare baseline server) gets `durationS` measured
 * seconds per case, cut into `rounds` windows that alternate between the two (and which goes first),
 * so a burst of other work on this shared machine hits both sides instead of one. The first window of
 * each side is preceded by the full warm-up, later ones by a short one (re-opening kept-alive
 * connections, re-filling the session cache).
 */
export type Side = 'wfm' | 'baseline';

export interface RoundPlan {
  rounds: number;
  warmupS: number;
  /** Measured seconds per side, over all rounds. */
  durationS: number;
  /** Warm-up before each later window (default 0.5 s). */
  interRoundWarmupS?: number;
}

export const INTER_ROUND_WARMUP_S = 0.5;

/** Runs `measure` for every window of the plan, in alternating order; the windows per side, in order. */
export async function alternate<M>(
  plan: RoundPlan,
  measure: (side: Side, warmupS: number, sliceS: number) => Promise<M>,
): Promise<Record<Side, M[]>> {
  const sliceS = plan.durationS / plan.rounds;
  const parts: Record<Side, M[]> = { wfm: [], baseline: [] };
  for (let round = 0; round < plan.rounds; round++) {
    const order: readonly Side[] = round % 2 === 0 ? ['wfm', 'baseline'] : ['baseline', 'wfm'];
    for (const side of order) {
      const warmupS = round === 0 ? plan.warmupS : (plan.interRoundWarmupS ?? INTER_ROUND_WARMUP_S);
      parts[side].push(await measure(side, warmupS, sliceS));
    }
  }
  return parts;
}

/** What the plan's figures mean, for the Machine list of a report. */
export function planLine(plan: RoundPlan): string {
  return (
    `- Each figure: ${plan.warmupS} s warm-up, then ${plan.durationS} s measured per side, in ${plan.rounds} windows ` +
    'that alternate between the WFM and the baseline ' +
    `(${plan.interRoundWarmupS ?? INTER_ROUND_WARMUP_S} s warm-up before each later window)`
  );
}

/** One measured window of closed-loop load against one server child (its CPU and TLS counters included). */
export async function measureLoad(
  server: ServerChild,
  target: LoadTarget,
  options: Omit<LoadOptions, 'onMeasureStart'>,
): Promise<Measured> {
  let clientCpu = process.cpuUsage();
  let atStart: Promise<ServerStats> | undefined;
  const load = await runLoad(target, {
    ...options,
    onMeasureStart: () => {
      clientCpu = process.cpuUsage();
      atStart = server.stats(); // restarts the server's window
      return atStart;
    },
  });
  const cpu = process.cpuUsage(clientCpu);
  await atStart;
  return { load, server: await server.stats(), clientCpuMs: (cpu.user + cpu.system) / 1000 };
}

export function sumStats(parts: ServerStats[]): ServerStats {
  return parts.reduce(
    (a, b) => ({
      handshakes: a.handshakes + b.handshakes,
      resumed: a.resumed + b.resumed,
      cpuMs: a.cpuMs + b.cpuMs,
      wallMs: a.wallMs + b.wallMs,
    }),
    { handshakes: 0, resumed: 0, cpuMs: 0, wallMs: 0 },
  );
}

/** One figure from several windows of the same side. */
export function mergeMeasured(parts: Measured[]): Measured {
  return {
    load: mergeLoads(parts.map((m) => m.load)),
    server: sumStats(parts.map((m) => m.server)),
    clientCpuMs: parts.reduce((n, m) => n + m.clientCpuMs, 0),
  };
}

/** A case of the main table from the windows of both sides (the ratio of each round kept for the noise). */
export function caseResult(title: string, concurrency: number, parts: Record<Side, Measured[]>): CaseResult {
  return {
    title,
    concurrency,
    wfm: mergeMeasured(parts.wfm),
    baseline: mergeMeasured(parts.baseline),
    roundRatios: parts.wfm.map((w, i) => w.load.rps / parts.baseline[i].load.rps),
  };
}

/** Log lines of one case: requests/s, p50, p99 and errors per side. */
export function caseSummary(result: CaseResult, digits = 2): string[] {
  return (['wfm', 'baseline'] as const).map((side) => {
    const l = result[side].load;
    return (
      `  ${side}: ${l.rps.toFixed(0)} req/s, p50 ${l.p50Ms.toFixed(digits)} ms, ` +
      `p99 ${l.p99Ms.toFixed(digits)} ms, ${l.errors} errors`
    );
  });
}

/** Log line of one window. */
export function windowSummary(side: Side, m: Measured): string {
  return (
    `  ${side}: ${m.load.rps.toFixed(0)} req/s, p50 ${m.load.p50Ms.toFixed(1)} ms, ` +
    `p99 ${m.load.p99Ms.toFixed(1)} ms, ${m.load.errors} errors`
  );
}
