// `npm run lint` (first part): fails when code in src/, test/, scripts/, bench/ (and console/, cli/
// when they exist) refers to a path outside the repository: `../shared`, an absolute `/work/` path,
// or a relative path literal that climbs above the repository root from the file it is in. The
// repository must work when cloned alone; reference data lives in reference/ (see reference/margo/NOTICE).
// Usage: node scripts/check-self-contained.mjs [folders…]   (default: the folders above)
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const folders =
  process.argv.length > 2 ? process.argv.slice(2) : ['src', 'test', 'scripts', 'bench', 'console', 'cli'];
const EXTENSIONS = /\.(?:[cm]?[jt]sx?|json|sh)$/;
const SELF = resolve(import.meta.dirname, 'check-self-contained.mjs');
const SKIP = new Set(['node_modules', 'dist', 'dist-bench', 'generated', '.data', 'coverage']);

/** Patterns that always point outside a clone: the sibling shared folder, and absolute workspace paths. */
const FORBIDDEN = [
  { pattern: /(?:^|[^\w.])\.\.\/shared\b/, why: 'reads ../shared (outside the repository)' },
  { pattern: /['"`]\/work\//, why: 'uses an absolute /work/ path' },
];
/** A string literal that starts with one or more `../` segments. */
const RELATIVE = /['"`]((?:\.\.\/)+)([^'"`\s]*)['"`]/g;

function* files(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else if (EXTENSIONS.test(entry.name)) yield path;
  }
}

const problems = [];
for (const folder of folders) {
  const start = resolve(root, folder);
  if (!existsSync(start) || !statSync(start).isDirectory()) continue;
  for (const file of files(start)) {
    if (file === SELF) continue; // names the patterns it looks for
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.forEach((line, index) => {
      const where = `${relative(root, file)}:${index + 1}`;
      for (const { pattern, why } of FORBIDDEN) if (pattern.test(line)) problems.push(`${where}: ${why}`);
      for (const match of line.matchAll(RELATIVE)) {
        // Relative to the file's folder (import.meta.dirname), to its compiled copy's folder (one
        // level deeper: dist/… or dist-bench/…) and to the repository root (the cwd of npm
        // scripts): a path is a problem only when it leaves the repository every way.
        const target = match[1] + match[2];
        const candidates = [
          resolve(dirname(file), target),
          resolve(root, 'dist', relative(root, dirname(file)), target),
          resolve(root, target),
        ];
        const inside = (p) => p === root || p.startsWith(root + sep);
        if (!candidates.some(inside)) {
          problems.push(`${where}: ${JSON.stringify(target)} resolves outside the repository`);
        }
      }
    });
  }
}

if (problems.length > 0) {
  console.error(`check-self-contained: ${problems.length} reference(s) to paths outside the repository:`);
  for (const problem of problems) console.error(`  ${problem}`);
  console.error('Vendor what is needed into the repository (e.g. reference/) and point at that copy.');
  process.exit(1);
}
