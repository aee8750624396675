// Builds the operator console (console/, issue 19) with Vite into dist/console, then reports the
// gzipped size of the JavaScript the initial route loads (the entry chunk and its static imports;
// pages loaded on demand are not counted) and fails above the budget of 300 kB.
// Skipped when nothing under console/ (nor the API client types or the lockfile) changed since the
// last successful build; `--force` builds anyway.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const OUT = 'dist/console';
const STAMP = 'dist/.console-stamp';
const BUDGET_BYTES = 300 * 1000;
const inputs = ['console', 'src/api-client', 'package-lock.json'];

function newest(path) {
  const stat = statSync(path);
  let latest = stat.mtimeMs;
  if (stat.isDirectory()) {
    for (const entry of readdirSync(path)) latest = Math.max(latest, newest(join(path, entry)));
  }
  return latest;
}

const kB = (bytes) => `${(bytes / 1000).toFixed(1)} kB`;

/** The chunks the entry loads before it runs: itself and its static imports, transitively. */
export function initialChunks(manifest) {
  const entry = Object.entries(manifest).find(([, chunk]) => chunk.isEntry);
  if (!entry) throw new Error('the console build has no entry chunk');
  const seen = new Set();
  const visit = (key) => {
    if (seen.has(key)) return;
    seen.add(key);
    for (const next of manifest[key].imports ?? []) visit(next);
  };
  visit(entry[0]);
  return [...seen].map((key) => manifest[key]);
}

export function reportInitialSize(out = OUT) {
  const manifest = JSON.parse(readFileSync(join(out, '.vite/manifest.json'), 'utf8'));
  const chunks = initialChunks(manifest);
  const js = chunks.map((c) => gzipSync(readFileSync(join(out, c.file))).length).reduce((a, b) => a + b, 0);
  const css = chunks
    .flatMap((c) => c.css ?? [])
    .map((file) => gzipSync(readFileSync(join(out, file))).length)
    .reduce((a, b) => a + b, 0);
  return { js, css, files: chunks.map((c) => c.file) };
}

const force = process.argv.includes('--force');
if (!force && existsSync(STAMP) && existsSync(join(OUT, '.vite/manifest.json'))) {
  const built = statSync(STAMP).mtimeMs;
  if (inputs.every((p) => !existsSync(p) || newest(p) < built)) process.exit(0);
}

const started = Date.now();
const status =
  spawnSync(
    process.execPath,
    ['node_modules/vite/bin/vite.js', 'build', '--config', 'console/vite.config.ts', '--logLevel', 'warn'],
    {
      stdio: 'inherit',
    },
  ).status ?? 1;
if (status !== 0) process.exit(status);
const size = reportInitialSize();
console.log(
  `console: initial route ${kB(size.js)} of JavaScript gzipped (budget ${kB(BUDGET_BYTES)}), ${kB(size.css)} of CSS, in ${((Date.now() - started) / 1000).toFixed(1)} s`,
);
if (size.js > BUDGET_BYTES) {
  console.error(`console: the initial route's JavaScript is over its budget of ${kB(BUDGET_BYTES)} gzipped`);
  process.exit(1);
}
writeFileSync(STAMP, `${new Date(started).toISOString()}\n`);
utimesSync(STAMP, new Date(started), new Date(started));
