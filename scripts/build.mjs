// `npm run build`: generates the Prisma client when the schema changed, builds the operator console
// (scripts/build-console.mjs), then compiles with incremental
// tsc (dist/.tsbuildinfo). When no file under src/ (nor a tsconfig or package.json) changed since the
// last successful build, it skips tsc altogether: `npm start` and the other scripts start at once.
// A directory's mtime moves when a file in it is added, removed or renamed, so those count as changes.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const STAMP = 'dist/.build-stamp';
const run = (args) => spawnSync(process.execPath, args, { stdio: 'inherit' }).status ?? 1;

if (run(['scripts/prisma-generate.mjs']) !== 0) process.exit(1);
// the operator console (console/ → dist/console): skips itself when unchanged
if (run(['scripts/build-console.mjs', ...process.argv.slice(2)]) !== 0) process.exit(1);

function newest(path) {
  const stat = statSync(path);
  let latest = stat.mtimeMs;
  if (stat.isDirectory()) {
    for (const entry of readdirSync(path)) latest = Math.max(latest, newest(join(path, entry)));
  }
  return latest;
}

const inputs = ['src', 'tsconfig.json', 'tsconfig.build.json', 'package.json', 'package-lock.json'];
const force = process.argv.includes('--force');
if (!force && existsSync(STAMP)) {
  const built = statSync(STAMP).mtimeMs;
  if (inputs.every((p) => !existsSync(p) || newest(p) < built)) process.exit(0);
}

const started = Date.now();
const status = run(['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json']);
if (status !== 0) process.exit(status);
// the stamp is written only after a successful compile (a failed build is retried next time) and dated
// when the compile started, so an edit made while tsc ran still counts as a change
writeFileSync(STAMP, `${new Date(started).toISOString()}\n`);
utimesSync(STAMP, new Date(started), new Date(started));
