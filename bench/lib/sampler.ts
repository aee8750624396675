import { readFileSync } from 'node:fs';
import https from 'node:https';
import { Redis } from 'ioredis';
import { request } from '../../src/client/transport.js';
import { procCpuMs, procMemory, sleep } from './harness.js';

/**
 * What a long bench samples once a second while it runs: CPU (user + system, /proc/<pid>/stat) and
 * resident memory (VmRSS) of its processes, the machine's busy CPU (/proc/stat), a probe of the
 * service's state (queue backlog, recomputation lag, unsent reports) and `GET /health/ready`; and,
 * after the window, the shared Redis' slow log.
 */
export interface Sample {
  /** Epoch ms. */
  at: number;
  cpuMs: Record<string, number>;
  rssMiB: Record<string, number>;
  /** Recompute jobs not finished (waiting, delayed, active); NaN when it could not be read. */
  backlog: number;
  /** Devices whose capability version is ahead of the last recomputation. */
  lag: number;
  unsent: number;
  ready: number;
}

export interface Proc {
  name: string;
  pid: number | undefined;
}

/** Samples CPU and memory of `procs`, the whole machine's CPU, a probe and `/health/ready` every second. */
export class Sampler {
  readonly samples: Sample[] = [];
  private running = true;
  private done?: Promise<void>;
  private readonly agent: https.Agent;

  constructor(
    private readonly procs: Proc[],
    private readonly probe: () => Promise<{ backlog: number; lag: number; unsent: number }>,
    private readonly readyUrl: string,
    private readonly ca: string,
  ) {
    this.agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
  }

  start(): void {
    this.done = (async () => {
      while (this.running) {
        const next = Date.now() + 1000;
        await this.take();
        await sleep(Math.max(0, next - Date.now()));
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
    this.agent.destroy();
  }

  private async take(): Promise<void> {
    const at = Date.now();
    const cpuMs: Record<string, number> = {};
    const rssMiB: Record<string, number> = {};
    for (const p of this.procs) {
      if (p.pid === undefined) continue;
      cpuMs[p.name] = procCpuMs(p.pid);
      rssMiB[p.name] = procMemory(p.pid)?.rssMiB ?? Number.NaN;
    }
    cpuMs.machine = machineBusyMs();
    const ready = request(this.readyUrl, { agent: this.agent, ca: this.ca, timeoutMs: 2_000 }).then(
      (r) => r.status,
      () => 0,
    );
    const [probe, status] = await Promise.all([
      this.probe().catch(() => ({ backlog: Number.NaN, lag: Number.NaN, unsent: Number.NaN })),
      ready,
    ]);
    this.samples.push({ at, cpuMs, rssMiB, ...probe, ready: status });
  }
}

/** CPU time all processes of the machine have spent so far (/proc/stat: all but idle and iowait), in ms. */
export function machineBusyMs(): number {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) * 10; // user nice system irq softirq steal, 100 ticks/s
  } catch {
    return Number.NaN;
  }
}

/** CPU % of one core of everything but the processes `own` (by name) between two samples. */
export function otherPercent(a: Sample, b: Sample, own: readonly string[]): number {
  return cpuPercent(a, b, 'machine') - own.reduce((n, name) => n + cpuPercent(a, b, name), 0);
}

/** The highest value of `f` over any `bucket` consecutive samples (1 s apart). */
export function busiest(samples: Sample[], bucket: number, f: (a: Sample, b: Sample) => number): number {
  let peak = 0;
  for (let i = bucket; i < samples.length; i += 1) peak = Math.max(peak, f(samples[i - bucket], samples[i]));
  return peak;
}

/** Commands of the shared Redis slower than its slowlog threshold, started in [from, to) (epoch ms). */
export async function redisSlowlog(url: string, from: number, to: number, prefix: string) {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    const threshold = Number((await redis.config('GET', 'slowlog-log-slower-than'))[1]);
    const entries = (await redis.slowlog('GET', 128)) as [number, number, number, string[]][];
    const inWindow = entries.filter(([, at]) => at * 1000 >= from && at * 1000 < to);
    return {
      thresholdMs: threshold / 1000,
      count: inWindow.length,
      ours: inWindow.filter(([, , , argv]) => argv.some((a) => String(a).startsWith(`${prefix}:`))).length,
      maxMs: Math.max(0, ...inWindow.map(([, , us]) => us / 1000)),
    };
  } catch {
    return undefined;
  } finally {
    redis.disconnect();
  }
}

/** CPU % of one core of `name` between two samples. */
export function cpuPercent(a: Sample, b: Sample, name: string): number {
  return (100 * ((b.cpuMs[name] ?? 0) - (a.cpuMs[name] ?? 0))) / Math.max(1, b.at - a.at);
}
