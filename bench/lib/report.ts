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

const fmt = (n: number, digits = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : '–';

const ms = (n: number) => (Number.isFinite(n) ? (n < 10 ? n.toFixed(2) : n.toFixed(1)) : '–');

function errors(r: LoadResult): string {
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
`;

/** Writes Markdown formatted as the repository's Prettier settings want it (`npm run format` stays green). */
async function writeMarkdown(path: string, text: string): Promise<void> {
  const options = (await prettier.resolveConfig(path)) ?? {};
  await writeFile(path, await prettier.format(text, { ...options, filepath: path }));
}

/** Creates or replaces the section in bench/README.md (creating the file, with its intro, when missing). */
export async function updateReadme(readmePath: string, section: string): Promise<void> {
  const body = `${SECTION_TITLE}\n\n${section.trim()}\n`;
  if (!existsSync(readmePath)) {
    await writeMarkdown(readmePath, `${INTRO}\n${body}`);
    return;
  }
  const text = await readFile(readmePath, 'utf8');
  const start = text.indexOf(`${SECTION_TITLE}\n`);
  if (start === -1) {
    await writeMarkdown(readmePath, `${text.trimEnd()}\n\n${body}`);
    return;
  }
  const nextHeading = text.indexOf('\n## ', start + SECTION_TITLE.length);
  const rest = nextHeading === -1 ? '' : `\n${text.slice(nextHeading + 1)}`;
  await writeMarkdown(readmePath, `${text.slice(0, start)}${body}${rest}`);
}

export async function writeResult(dir: string, name: string, content: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, name);
  await writeMarkdown(path, content);
  return path;
}
