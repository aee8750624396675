import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as prettier from 'prettier';
import type { ServerStats } from './ipc.js';
import type { LoadResult } from './load.js';

export interface Measured {
  load: LoadResult;
  server: ServerStats;
  /** CPU of the load generator (this process) during the measured window, in ms. */
  clientCpuMs: number;
}

export interface CaseResult {
  title: string;
  concurrency: number;
  wfm: Measured;
  baseline: Measured;
  /** WFM / baseline requests/s of each alternating round. */
  roundRatios: number[];
}

export const fmt = (n: number, digits = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : '–';

export const ms = (n: number) => (Number.isFinite(n) ? (n < 10 ? n.toFixed(2) : n.toFixed(1)) : '–');

export function errors(r: LoadResult): string {
  if (r.errors === 0) return '0';
  const kinds = Object.entries(r.errorKinds)
    .map(([k, v]) => `${v}× ${k}`)
    .join(', ');
  return `${r.errors} (${kinds})`;
}

export function mainTable(cases: CaseResult[]): string {
  const lines = [
    '| Case | WFM req/s | Baseline req/s | Ratio | WFM p50 / p99 ms | Baseline p50 / p99 ms | Errors WFM / baseline |',
    '| --- | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const c of cases) {
    const w = c.wfm.load;
    const b = c.baseline.load;
    lines.push(
      `| ${c.title} (C=${c.concurrency}) | ${fmt(w.rps)} | ${fmt(b.rps)} | ${fmt(w.rps / b.rps, 2)} ` +
        `(${fmt(Math.min(...c.roundRatios), 2)}–${fmt(Math.max(...c.roundRatios), 2)}) | ` +
        `${ms(w.p50Ms)} / ${ms(w.p99Ms)} | ${ms(b.p50Ms)} / ${ms(b.p99Ms)} | ${errors(w)} / ${errors(b)} |`,
    );
  }
  return lines.join('\n');
}

export function detailTable(cases: CaseResult[]): string {
  const lines = [
    '| Case | Server | Server CPU µs/request | vs baseline | Server CPU (% of one core) | Load generator CPU | New TLS connections, client view (resumed) | Server handshakes (resumed) |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  const perRequest = (m: Measured) => (m.server.cpuMs * 1000) / Math.max(1, m.load.ok);
  for (const c of cases) {
    for (const [name, m] of [
      ['WFM', c.wfm],
      ['baseline', c.baseline],
    ] as const) {
      const wallMs = m.load.seconds * 1000;
      const relative = name === 'WFM' ? `${fmt(perRequest(m) / perRequest(c.baseline), 1)}×` : '1×';
      lines.push(
        `| ${c.title} | ${name} | ${fmt(perRequest(m))} | ${relative} | ` +
          `${fmt((100 * m.server.cpuMs) / m.server.wallMs)} % | ${fmt((100 * m.clientCpuMs) / wallMs)} % | ` +
          `${fmt(m.load.newConnections ?? Number.NaN)} (${fmt(m.load.resumedConnections ?? Number.NaN)}) | ` +
          `${fmt(m.server.handshakes)} (${fmt(m.server.resumed)}) |`,
      );
    }
  }
  return lines.join('\n');
}

export const SECTION_TITLE = '## rc.3 guard over mutual TLS (enrollment)';

const INTRO = `# Benchmarks

Each bench starts what it measures in child processes on loopback (so the load generator does not
share their event loop), runs a closed-loop load generator against it for a bounded time, and measures
a baseline in the same run, under the same load generator and TLS settings: a bare Node server that
does none of the service's work. This machine has 2 shared, noisy cores that the server, the baseline
and the load generator all compete for, so absolute numbers mean little and move from run to run:
the ratio to the baseline is the figure. Raw reports go to \`bench/results/\` (git-ignored).

The benches that measure a pipeline rather than one request have a baseline of their own kind: the
fleet roll-out beside a bare Node process that does its irreducible storage work (read the matching
devices, write one rendering per device and one manifest per client with plain \`pg\`, batches of
1,000), change latency beside a bare Node HTTPS server that plays the device contract with no work
(the floor the harness itself sets). Their figures are also wall times and rates on this machine,
with the CPU each process spent, so read them with the load average their section lists. The
10,000-agent fleet-load run (\`npm run bench:fleet-load\`) measures the service under a simulated
fleet and has no baseline. Every bench creates a throw-away database
(\`wfm_bench_<hex>\`) and Redis prefix (\`bench_<hex>:\`) and removes both at the end, also on errors
and Ctrl-C. Build once with \`npx tsc -p bench/tsconfig.json\`, then:

| Bench                                           | Command                                        | Bound     |
| ----------------------------------------------- | ---------------------------------------------- | --------- |
| rc.3 guard over mutual TLS                      | \`node dist-bench/bench/mtls-guard.js\`          | ~2 min    |
| capability reports, device list (100k devices)  | \`node dist-bench/bench/capabilities.js\`        | ~1–2 min  |
| manifest polls (304, 200, YAML)                 | \`node dist-bench/bench/manifest-poll.js\`       | ~1.5 min  |
| selector rollout to 10k and 100k devices        | \`node dist-bench/bench/render-fleet.js\`        | ≤ ~12 min |
| capability change → served manifest             | \`node dist-bench/bench/change-latency.js\`      | ~4 min    |

\`--cpu-prof\` on any of them writes V8 profiles of the service processes to \`bench/results/\`;
\`node dist-bench/bench/profile-summary.js <file>.cpuprofile\` summarises one (time by package, hottest
functions, the repository's functions by inclusive time).

Each bench file (\`bench/<name>.ts\`) says what it measures and runs its phases; what they share is in
\`bench/lib/\`: \`harness.ts\` (throw-away database and Redis prefix, the service and the baseline in
child processes, enrollment, operator calls, CPU/memory/Postgres statistics, the report, cleanup),
\`cli.ts\`, \`rounds.ts\` (the same-run baseline in alternating windows), \`load.ts\` (load generators),
\`sampler.ts\`, \`report.ts\`; a long report lives beside its bench as \`lib/<name>-report.ts\`.
`;

/** Writes Markdown formatted as the repository's Prettier settings want it (`npm run format` stays green). */
async function writeMarkdown(path: string, text: string): Promise<void> {
  const options = (await prettier.resolveConfig(path)) ?? {};
  await writeFile(path, await prettier.format(text, { ...options, filepath: path }));
}

/** A Markdown table; `align` per column: 'l' or 'r' (default 'l'). */
export function table(header: string[], rows: (string | number)[][], align: ('l' | 'r')[] = []): string {
  const rule = header.map((_, i) => (align[i] === 'r' ? '---:' : '---'));
  return [header, rule, ...rows.map((r) => r.map(String))]
    .map((cells) => `| ${cells.join(' | ')} |`)
    .join('\n');
}

/**
 * Creates or replaces a section (`## <title>`) in bench/README.md (creating the file, with its intro,
 * when missing). Each bench owns one section; the others stay as they are.
 */
export async function updateReadme(
  readmePath: string,
  section: string,
  title: string = SECTION_TITLE,
): Promise<void> {
  const body = `${title}\n\n${section.trim()}\n`;
  if (!existsSync(readmePath)) {
    await writeMarkdown(readmePath, `${INTRO}\n${body}`);
    return;
  }
  const text = await readFile(readmePath, 'utf8');
  const start = text.indexOf(`${title}\n`);
  if (start === -1) {
    await writeMarkdown(readmePath, `${text.trimEnd()}\n\n${body}`);
    return;
  }
  const nextHeading = text.indexOf('\n## ', start + title.length);
  const rest = nextHeading === -1 ? '' : `\n${text.slice(nextHeading + 1)}`;
  await writeMarkdown(readmePath, `${text.slice(0, start)}${body}${rest}`);
}

export async function writeResult(dir: string, name: string, content: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, name);
  await writeMarkdown(path, content);
  return path;
}
