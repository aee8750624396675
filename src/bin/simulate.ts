// `npm run simulate -- --url https://127.0.0.1:8443 --devices 50 --profile rc3|legacy|mixed --poll 5s
//   [--gateways 2 --children 3] [--churn 0.01] [--duration 1m] [--failure-rate 0] [--fail-when arch=arm64]
//   [--install-delay 200ms]`
// Runs a fleet of simulated Margo agents against a running WFM, with a live progress line and a summary.
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/config.js';
import { Fleet, loadLocalAccess, progressLine, summaryLines, type Profile } from '../simulator/fleet.js';
import { parseFailureMatcher } from '../simulator/failure-matcher.js';
import { CallRecorder, routeLines, routeStats } from '../simulator/recorder.js';

const USAGE =
  'usage: npm run simulate -- [--url <wfm-url>] [--devices 50] [--profile rc3|legacy|mixed] [--poll 5s] ' +
  '[--gateways 0 --children 0] [--churn 0] [--duration 1m] [--failure-rate 0] [--fail-when key=value,…] [--install-delay 200ms] [--verbose]\n' +
  '  --fail-when: devices that fail every install, by class (arch, vendor, model, runtime, type) or reported label';

/** `200ms`, `5s`, `1m`, `1h` or plain milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new Error(`not a duration: ${text}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? 'ms'] ?? 1;
  return Number(match[1]) * unit;
}

function number(text: string | undefined, fallback: number, name: string): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number`);
  return n;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      devices: { type: 'string' },
      profile: { type: 'string' },
      poll: { type: 'string' },
      gateways: { type: 'string' },
      children: { type: 'string' },
      churn: { type: 'string' },
      duration: { type: 'string' },
      'failure-rate': { type: 'string' },
      'fail-when': { type: 'string' },
      'install-delay': { type: 'string' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const profile = (values.profile ?? 'rc3') as Profile;
  if (!['rc3', 'legacy', 'mixed'].includes(profile)) throw new Error(USAGE);
  const config = loadConfig();
  const access = await loadLocalAccess({
    url: values.url ?? `https://127.0.0.1:${config.http.port}`,
    dataDir: config.dataDir,
    adminToken: config.auth.adminToken,
    trustDomain: config.identity.trustDomain,
    wfmId: config.identity.wfmId,
  });
  const devices = number(values.devices, 50, 'devices');
  const durationMs = parseDuration(values.duration ?? '1m');
  const recorder = new CallRecorder();
  const fleet = new Fleet({
    recorder,
    access,
    devices,
    profile,
    pollIntervalMs: parseDuration(values.poll ?? '5s'),
    gateways: number(values.gateways, 0, 'gateways'),
    children: number(values.children, 0, 'children'),
    churnPerMinute: number(values.churn, 0, 'churn'),
    failureRate: number(values['failure-rate'], 0, 'failure-rate'),
    ...(values['fail-when'] !== undefined ? { failWhen: parseFailureMatcher(values['fail-when']) } : {}),
    installDelayMs: parseDuration(values['install-delay'] ?? '200ms'),
    onEvent: (e) => {
      if (values.verbose || e.kind === 'security') console.log(`\n[${e.agent}] ${e.kind}: ${e.message}`);
    },
  });
  console.log(`simulating ${devices} ${profile} agents (${fleet.prefix}-*) against ${access.url}`);
  const started = Date.now();
  const tty = process.stdout.isTTY;
  let lastPolls = 0;
  const progress = setInterval(() => {
    const stats = fleet.stats();
    const line = progressLine(stats, devices, (stats.polls - lastPolls) / 2);
    lastPolls = stats.polls;
    process.stdout.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
  }, 2_000);
  let interrupted = false;
  const finished = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, durationMs);
    process.once('SIGINT', () => {
      interrupted = true;
      clearTimeout(timer);
      resolve();
    });
  });
  await Promise.race([fleet.start(), finished]);
  await finished;
  clearInterval(progress);
  await fleet.stop();
  const stats = fleet.stats();
  if (tty) process.stdout.write('\n');
  const seconds = (Date.now() - started) / 1000;
  console.log(summaryLines(stats, seconds).join('\n'));
  console.log('per route (requests, answers, latency as the agents saw it):');
  for (const line of routeLines(routeStats(recorder.samples), seconds)) console.log(`  ${line}`);
  return interrupted || stats.enrolled > 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof ConfigError || error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
