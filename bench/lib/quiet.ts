import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * Other benchmarks on the machine (the same rule as bench/status.ts): pids of `pgrep -f dist-bench/bench/`
 * that are neither this process, its ancestors nor its descendants.
 */
export function otherBenchmarks(): number[] {
  let out: string;
  try {
    out = execFileSync('pgrep', ['-f', 'dist-bench/bench/'], { encoding: 'utf8' });
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
  const parentOf = (pid: number): number => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      return 0;
    }
  };
  const ancestors = new Set<number>();
  for (let p = process.pid; p > 1; p = parentOf(p)) ancestors.add(p);
  return out
    .split('\n')
    .filter(Boolean)
    .map(Number)
    .filter((pid) => {
      if (ancestors.has(pid)) return false;
      for (let p = pid; p > 1; p = parentOf(p)) if (p === process.pid) return false;
      return true;
    });
}

/** Waits (up to `maxWaitMs`, checking every 10 s) until no other benchmark runs; says what happened. */
export async function waitForQuietMachine(maxWaitMs: number, log: (line: string) => void): Promise<string> {
  const t0 = performance.now();
  let others = otherBenchmarks();
  if (others.length === 0) return 'none was running';
  while (others.length > 0 && performance.now() - t0 < maxWaitMs) {
    log(`another benchmark is running (pids ${others.join(', ')}); waiting`);
    await new Promise((r) => setTimeout(r, 10_000));
    others = otherBenchmarks();
  }
  const waited = ((performance.now() - t0) / 1000).toFixed(0);
  return others.length === 0
    ? `waited ${waited} s until another one had finished`
    : `another one was STILL running after ${waited} s (pids ${others.join(', ')}): the figures are distorted`;
}
