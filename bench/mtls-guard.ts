/**
 * Benchmark: requests/s through the rc.3 device guard (@Rc3Device(): mutual TLS, X.509-SVID
 * validation, accepted-client policy) of the real service, each figure beside a bare Node HTTPS
 * server with the same certificate and TLS options measured in the same run. Three cases: kept-alive
 * connections, a full mutual-TLS handshake per request, and a resumed handshake per request.
 *
 *   npx tsc -p bench/tsconfig.json && node dist-bench/bench/mtls-guard.js [--duration 8] [--warmup 2]
 *     [--rounds 4] [--concurrency 50] [--handshake-concurrency 8] [--keepalive-generator autocannon|node]
 *     [--cases keep-alive,full-handshake,resumed] [--cpu-prof] [--no-readme]
 *
 * Only a run of all three cases without --cpu-prof rewrites the section in bench/README.md; every run
 * writes bench/results/mtls-guard-<timestamp>.md (and, with --cpu-prof, the service's .cpuprofile).
 *
 * Needs PostgreSQL and Redis on loopback (DATABASE_URL / REDIS_URL as for the service). Creates a
 * throw-away database wfm_bench_<hex> and drops it at the end, also on errors and SIGINT.
 */
import { request } from '../src/client/transport.js';
import { benchCli, count, fail, positive } from './lib/cli.js';
import { Harness } from './lib/harness.js';
import type { ConnectionMode, Generator, LoadTarget } from './lib/load.js';
import { PROBE_PATH } from './lib/probe.module.js';
import { type CaseResult, detailTable, mainTable, type Measured, SECTION_TITLE } from './lib/report.js';
import {
  alternate,
  caseResult,
  caseSummary,
  INTER_ROUND_WARMUP_S,
  measureLoad,
  planLine,
} from './lib/rounds.js';

const { args, command: COMMAND } = benchCli('mtls-guard', {
  duration: { type: 'string', default: '8' },
  warmup: { type: 'string', default: '2' },
  concurrency: { type: 'string', default: '50' },
  'handshake-concurrency': { type: 'string', default: '8' },
  'keepalive-generator': { type: 'string', default: 'autocannon' },
  /** Measured windows per side and case, alternating WFM and baseline. */
  rounds: { type: 'string', default: '4' },
  /** A comma list of keep-alive, full-handshake, resumed (default: all three). */
  cases: { type: 'string', default: 'keep-alive,full-handshake,resumed' },
  /** Profile the service's process (V8 CPU profile into bench/results/, for `where the time goes`). */
  'cpu-prof': { type: 'boolean', default: false },
  /** Write bench/results/ only, leave bench/README.md as it is. */
  'no-readme': { type: 'boolean', default: false },
});

const PLAN = {
  durationS: positive('duration', args.duration, 60),
  warmupS: positive('warmup', args.warmup, 30),
  rounds: count('rounds', args.rounds, 20),
};
const CONCURRENCY = count('concurrency', args.concurrency, 1000);
const HANDSHAKE_CONCURRENCY = count('handshake-concurrency', args['handshake-concurrency'], 200);
const KEEPALIVE_GENERATOR: Generator =
  args['keepalive-generator'] === 'node'
    ? 'node'
    : args['keepalive-generator'] === 'autocannon'
      ? 'autocannon'
      : fail('--keepalive-generator must be autocannon or node');

const ALL_CASES: { title: string; mode: ConnectionMode; concurrency: number }[] = [
  {
    title: `kept-alive mTLS connections, ${KEEPALIVE_GENERATOR}`,
    mode: 'keep-alive',
    concurrency: CONCURRENCY,
  },
  { title: 'full mTLS handshake per request', mode: 'full-handshake', concurrency: HANDSHAKE_CONCURRENCY },
  { title: 'resumed TLS session per request', mode: 'resumed', concurrency: HANDSHAKE_CONCURRENCY },
];
const CASES = ALL_CASES.filter((c) => args.cases.split(',').includes(c.mode));
if (CASES.length === 0) fail('--cases: a comma list of keep-alive, full-handshake, resumed');
/** Only a complete, unprofiled run replaces the figures in bench/README.md. */
const UPDATES_README = !args['cpu-prof'] && !args['no-readme'] && CASES.length === ALL_CASES.length;

const h = new Harness(
  'mtls-guard',
  90 + CASES.length * 2 * (PLAN.warmupS + PLAN.durationS + (PLAN.rounds - 1) * INTER_ROUND_WARMUP_S),
);

await h.run(async () => {
  h.log(`starting the service (database ${h.dbName})`);
  const { child: wfm, ready: r } = await h.startService({
    name: 'wfm',
    roles: 'api,worker',
    cpuProfile: args['cpu-prof'],
  });
  const ready = r!;
  const tls = await h.tlsFiles(ready);
  const clientId = `bench-client-${h.runId}`;
  const svid = (await h.enrol(ready, tls, [clientId])).get(clientId)!;
  const mtls = { ca: tls.caPem, cert: svid.certChainPem, key: svid.keyPem, timeoutMs: 10_000 };
  const sample = await request(new URL(PROBE_PATH, ready.url), mtls);
  if (sample.status !== 200) throw new Error(`guarded route: HTTP ${sample.status} ${sample.text()}`);
  const body = sample.text();
  const contentType = String(sample.headers['content-type'] ?? 'application/json');
  h.log(`guarded route answers ${body}`);

  const baseline = await h.startBaseline(tls, ready.sessionLifetimeSeconds, { body, contentType });
  const check = await request(new URL(PROBE_PATH, `https://127.0.0.1:${baseline.port}`), mtls);
  if (check.status !== 200 || check.text() !== body) {
    throw new Error('the baseline does not answer the same body');
  }

  const target = (port: number): LoadTarget => ({
    host: '127.0.0.1',
    port,
    path: PROBE_PATH,
    ca: tls.caPem,
    cert: svid.certChainPem,
    key: svid.keyPem,
  });

  const results: CaseResult[] = [];
  for (const c of CASES) {
    h.log(
      `${c.title}: ${PLAN.rounds} × ${(PLAN.durationS / PLAN.rounds).toFixed(2)} s per side, ` +
        `after ${PLAN.warmupS} s warm-up, C=${c.concurrency}`,
    );
    const parts = await alternate(PLAN, (side, warmupS, sliceS) =>
      measureLoad(
        side === 'wfm' ? wfm : baseline.child,
        target(side === 'wfm' ? ready.port : baseline.port),
        {
          mode: c.mode,
          generator: KEEPALIVE_GENERATOR,
          concurrency: c.concurrency,
          warmupMs: warmupS * 1000,
          durationMs: sliceS * 1000,
        },
      ),
    );
    const result = caseResult(c.title, c.concurrency, parts);
    for (const line of caseSummary(result)) h.log(line);
    results.push(result);
  }

  const resumed = results.find((r) => r.title.startsWith('resumed'));
  const full = results.find((r) => r.title.startsWith('full'));
  const tlsLine = (name: string, m: Measured | undefined) => {
    if (!m) return '';
    const l = m.load;
    const opened = l.newConnections ?? 0;
    const reused = l.resumedConnections ?? 0;
    const fraction = opened > 0 ? (100 * reused) / opened : Number.NaN;
    const lifetime = l.session?.ticketLifetimeHintSeconds ?? l.session?.timeoutSeconds;
    return (
      `- ${name}: ${l.protocol ?? '?'} ${l.cipher ?? ''}; resumed ${reused} of ${opened} ` +
      `new connections (${fraction.toFixed(1)} %) on the client, ${m.server.resumed} of ${m.server.handshakes} ` +
      `handshakes on the server; session lifetime the server announced: ${lifetime ?? '?'} s`
    );
  };

  const section = [
    h.measuredWith(COMMAND),
    '',
    `What it compares: \`GET ${PROBE_PATH}\`, a route behind \`@Rc3Device()\` in the real service ` +
      "(every module, Postgres, Redis; rate limit off, log level warn) answering the caller's " +
      '`AuthenticatedClient` JSON, against a bare Node `https.createServer` with the same certificate, key and ' +
      'TLS options answering the same bytes. Ratio = WFM / baseline requests/s, measured in the same run ' +
      `(in brackets: the lowest and highest ratio of the ${PLAN.rounds} alternating rounds, a measure of the noise).`,
    '',
    mainTable(results),
    '',
    '### Where the time goes',
    '',
    detailTable(results),
    '',
    '### How to read it',
    '',
    '- Kept-alive rows: no handshake inside the window, so the WFM figure is the cost of its request ' +
      'pipeline (Express and Nest, request-id and access-log middleware, HTTP metrics, Passport, the rc.3 ' +
      'guard: the SVID from the socket, cached chain validation, the accepted-client lookup in memory, the ' +
      'last-seen touch) against a bare handler.',
    '- Handshake rows: a new TCP and TLS connection per request. When the load generator CPU column is ' +
      "near 100 %, both servers are capped by the client's own handshake work (everything shares two " +
      'cores) and their requests/s ratio tends to 1 whatever the server does; the server CPU per request ' +
      '(and its "vs baseline") is then the figure for what the WFM costs per connection.',
    "- Resumed rows: the client's `https.Agent` keeps the session tickets (`maxCachedSessions: 100`) and " +
      'offers them on the next connection; the "(resumed)" counts, taken on both sides, show whether it ' +
      'happened. Full-handshake rows use `maxCachedSessions: 0`.',
    `- Load generators: kept-alive rows use ${KEEPALIVE_GENERATOR === 'autocannon' ? 'autocannon (it presents the client SVID but does not verify the server certificate)' : "Node's https client"}; ` +
      "handshake rows use Node's https client, which verifies the server certificate against the dev CA. " +
      'Latency is per request, from the client, in the measured window only.',
    '',
    '### TLS',
    '',
    tlsLine('full handshake, WFM', full?.wfm),
    tlsLine('resumed, WFM', resumed?.wfm),
    tlsLine('resumed, baseline', resumed?.baseline),
    '',
    '### Machine',
    '',
    ...h.machineLines(COMMAND),
    `${planLine(PLAN)}; closed loop (each of C loops sends its next GET ${PROBE_PATH} when the previous one is ` +
      'answered), from the parent process; the service and the baseline each run in a child process. Server ' +
      `session lifetime (WFM_TLS_SESSION_LIFETIME): ${ready.sessionLifetimeSeconds} s on both.`,
  ].join('\n');

  await h.publish({
    name: 'mtls-guard',
    heading: 'mTLS guard benchmark',
    section,
    readmeSection: UPDATES_README ? SECTION_TITLE : undefined,
    stdout: `${mainTable(results)}\n\n${detailTable(results)}\n`,
  });
  if (args['cpu-prof']) h.log("the service's CPU profile goes to bench/results/ when it stops");
});
