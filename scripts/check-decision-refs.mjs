// `npm run lint` (part): every specification decision a source file cites ("D12", "D7–D11") is
// defined in docs/spec-decisions.md, and every design decision cited by name
// (docs/decisions.md, "Input limits") is found in docs/decisions.md.
// Usage: node scripts/check-decision-refs.mjs [folders…]   (default: src)
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const folders = process.argv.length > 2 ? process.argv.slice(2) : ['src'];
const SKIP = new Set(['node_modules', 'generated']);

const specDecisions = readFileSync(join(root, 'docs/spec-decisions.md'), 'utf8');
const defined = new Set([...specDecisions.matchAll(/^\|\s*(D\d+)\s*\|/gm)].map((m) => m[1]));
/** decisions.md with its line breaks and Markdown emphasis flattened, for finding a cited name. */
const designDecisions = readFileSync(join(root, 'docs/decisions.md'), 'utf8')
  .replace(/[*_`]/g, '')
  .replace(/\s+/g, ' ')
  .toLowerCase();

function* files(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else if (/\.[cm]?[jt]s$/.test(entry.name)) yield path;
  }
}

const problems = [];
for (const folder of folders) {
  for (const file of files(resolve(root, folder))) {
    const text = readFileSync(file, 'utf8');
    const where = (index) => `${relative(root, file)}:${text.slice(0, index).split('\n').length}`;
    // D7–D11 cites D7 … D11; a range's ends and everything between must be defined
    for (const m of text.matchAll(/\bD(\d+)(?:\s*[–-]\s*D(\d+))?\b/g)) {
      const from = Number(m[1]);
      const to = m[2] === undefined ? from : Number(m[2]);
      for (let n = from; n <= to; n += 1) {
        if (!defined.has(`D${n}`)) {
          problems.push(`${where(m.index)}: cites D${n}, which docs/spec-decisions.md does not define`);
        }
      }
    }
    // a comment's continuation lines (` * ` or `// `) joined, so a name may wrap
    const flat = text.replace(/\n\s*(?:\*(?!\/)|\/\/)\s?/g, ' ');
    for (const m of flat.matchAll(/decisions\.md,?\s*(?:section\s*)?"([^"]+)"/g)) {
      const name = m[1].replace(/\s+/g, ' ').toLowerCase();
      if (!designDecisions.includes(name)) {
        problems.push(
          `${relative(root, file)}: cites docs/decisions.md "${m[1]}", which it does not contain`,
        );
      }
    }
  }
}

if (problems.length > 0) {
  console.error(`Decision references that the repository does not define:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
