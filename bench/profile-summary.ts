/**
 * Summarises a V8 .cpuprofile (what `--cpu-prof` writes for the service children): CPU time by area
 * (a package under node_modules, a folder of src/, Node internals, GC, idle), the functions with the
 * most self time, and the repository's own functions by inclusive time (what they and everything they
 * call cost). Used for the "where the time goes" notes in bench/README.md.
 *
 *   node dist-bench/bench/profile-summary.js bench/results/<name>.cpuprofile [--top 25]
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '25' } },
});

function area(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  const nm = url.lastIndexOf('/node_modules/');
  if (nm !== -1) {
    const rest = url.slice(nm + 14).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const src = /\/(src|bench)\/(.*)$/.exec(url);
  if (src) {
    const parts = src[2].split('/');
    return `${src[1]}/${parts.slice(0, Math.min(2, parts.length - 1)).join('/')}`;
  }
  return url;
}

function label(frame: CallFrame): string {
  const file = frame.url.replace(/^.*\/(node_modules|dist-bench|dist)\//, '').replace(/^file:\/\//, '');
  return `${frame.functionName || '(anonymous)'} ${file}:${frame.lineNumber + 1}`;
}

const file = positionals[0];
if (!file) throw new Error('usage: profile-summary <file.cpuprofile> [--top N]');
const profile = JSON.parse(await readFile(file, 'utf8')) as Profile;
const top = Number(args.top);

// self time per node from the sample timeline
const selfUs = new Map<number, number>();
for (let i = 0; i < profile.samples.length; i++) {
  const delta = profile.timeDeltas[i + 1] ?? 0;
  selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + delta);
}
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0);
const idleUs = profile.nodes
  .filter((n) => n.callFrame.functionName === '(idle)')
  .reduce((sum, n) => sum + (selfUs.get(n.id) ?? 0), 0);
const busyUs = totalUs - idleUs;

const areas = new Map<string, number>();
const selfByFn = new Map<string, number>();
for (const n of profile.nodes) {
  const us = selfUs.get(n.id) ?? 0;
  if (us === 0 || n.callFrame.functionName === '(idle)') continue;
  areas.set(area(n.callFrame), (areas.get(area(n.callFrame)) ?? 0) + us);
  selfByFn.set(label(n.callFrame), (selfByFn.get(label(n.callFrame)) ?? 0) + us);
}

// inclusive time of the repository's functions: each sample counts once per distinct function on its stack
const inclusive = new Map<string, number>();
for (const [id, us] of selfUs) {
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const frame = byId.get(cur)!.callFrame;
    if (!/\/dist-bench\/src\/|\/dist\/src\//.test(frame.url)) continue;
    const key = label(frame);
    if (seen.has(key)) continue;
    seen.add(key);
    inclusive.set(key, (inclusive.get(key) ?? 0) + us);
  }
}

const pct = (us: number) => `${((100 * us) / busyUs).toFixed(1).padStart(5)} %`;
const rows = (m: Map<string, number>, n: number) =>
  [...m.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, us]) => `${pct(us)}  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`)
    .join('\n');

process.stdout.write(
  [
    `${file}`,
    `wall ${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s, busy ${(busyUs / 1e6).toFixed(1)} s ` +
      `(percentages below are of busy time)`,
    '',
    'By area (self time):',
    rows(areas, top),
    '',
    'Functions by self time:',
    rows(selfByFn, top),
    '',
    'Repository functions by inclusive time (they and what they call):',
    rows(inclusive, top),
    '',
  ].join('\n'),
);
