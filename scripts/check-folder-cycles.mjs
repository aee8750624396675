// `npm run lint` (part): no import cycle between folders of src/. ESLint's import-x/no-cycle sees
// files; this sees the seams a newcomer reads: each feature module, each sub-folder of it
// (src/modules/deployment-spec/manifests), each folder of src/infra and src/common, and every other
// top-level folder of src/. Prints every cycle found (as a list of folders) and exits 1.
// Usage: node scripts/check-folder-cycles.mjs
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const SRC = join(root, 'src');
const SKIP = new Set(['node_modules', 'generated']);

function* files(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else if (/\.ts$/.test(entry.name) && !entry.name.endsWith('.d.ts')) yield path;
  }
}

/** The folder a file belongs to, as this check sees seams. */
function seamOf(file) {
  const parts = relative(SRC, file).split('/');
  if (parts.length === 1) return 'src';
  if (parts[0] === 'modules') {
    // a module's own files, or one of its sub-folders (dto/, auth/, … count as the module's parts)
    return parts.length > 3 ? `src/modules/${parts[1]}/${parts[2]}` : `src/modules/${parts[1]}`;
  }
  if ((parts[0] === 'infra' || parts[0] === 'common') && parts.length > 2)
    return `src/${parts[0]}/${parts[1]}`;
  return `src/${parts[0]}`;
}

const edges = new Map();
const IMPORT = /(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g;
for (const file of files(SRC)) {
  const from = seamOf(file);
  for (const match of readFileSync(file, 'utf8').matchAll(IMPORT)) {
    const to = seamOf(resolve(dirname(file), match[1]));
    if (to === from) continue;
    // a module's sub-folder and the module itself are one seam in this direction: the module
    // index (deployment-spec.module.ts) wires its parts, and its parts are reached through it
    if (to.startsWith(`${from}/`) || from.startsWith(`${to}/`)) continue;
    if (!edges.has(from)) edges.set(from, new Set());
    edges.get(from).add(to);
  }
}

// Tarjan's strongly connected components: every component with more than one folder is a cycle.
let next = 0;
const index = new Map();
const low = new Map();
const stack = [];
const onStack = new Set();
const cycles = [];
function visit(v) {
  index.set(v, next);
  low.set(v, next);
  next += 1;
  stack.push(v);
  onStack.add(v);
  for (const w of edges.get(v) ?? []) {
    if (!index.has(w)) {
      visit(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
  }
  if (low.get(v) === index.get(v)) {
    const component = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1) cycles.push(component.sort());
  }
}
for (const v of edges.keys()) if (!index.has(v)) visit(v);

if (cycles.length > 0) {
  for (const cycle of cycles) console.error(`import cycle between folders: ${cycle.join(' ↔ ')}`);
  process.exit(1);
}
