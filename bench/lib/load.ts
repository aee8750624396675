import https from 'node:https';
import { setImmediate as nextTick } from 'node:timers/promises';
import type { TLSSocket } from 'node:tls';
import autocannon from 'autocannon';
import { type SessionLifetime, sessionLifetime } from './tls-session.js';

/**
 * Closed-loop load: `concurrency` loops, each sending its next GET as soon as the previous one is
 * answered, for a warm-up and then a measured window, over one run (kept-alive connections stay open
 * across the boundary). Only completions inside the measured window count (requests/s, latency
 * percentiles, errors). Two generators: Node's own https client (every mode; counts the new TLS
 * connections of the window and whether each resumed a session) and autocannon (kept-alive only; far
 * cheaper per request, so the baseline is not limited by the load generator).
 */
export type ConnectionMode = 'keep-alive' | 'full-handshake' | 'resumed';

export interface LoadTarget {
  host: string;
  port: number;
  path: string;
  /** Anchors for the server certificate (verified: rejectUnauthorized stays true). */
  ca: string;
  /** The client's X.509-SVID chain and key. */
  cert: string;
  key: string;
  /** Default GET. */
  method?: string;
  /** Request headers (default: `accept: application/json`). */
  headers?: Record<string, string>;
  body?: string;
  /** The status that counts as success (default 200); any other is an error. */
  expectStatus?: number;
}

export type Generator = 'node' | 'autocannon';

export interface LoadOptions {
  mode: ConnectionMode;
  /** Load generator for the keep-alive mode (the handshake modes always use Node's client). */
  generator?: Generator;
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  requestTimeoutMs?: number;
  /** Called when the measured window starts (e.g. to reset server-side counters). */
  onMeasureStart?: () => Promise<unknown>;
}

export interface LoadResult {
  generator: Generator;
  ok: number;
  errors: number;
  errorKinds: Record<string, number>;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Every latency of the window, sorted (to merge rounds). */
  latenciesMs: Float64Array;
  /** TLS connections opened during the measured window (not known with autocannon). */
  newConnections?: number;
  /** …of which the client saw `isSessionReused()`. */
  resumedConnections?: number;
  protocol?: string;
  cipher?: string;
  /** From the first session the server handed the client. */
  session?: SessionLifetime;
}

function agentFor(mode: ConnectionMode, concurrency: number): https.Agent {
  switch (mode) {
    case 'keep-alive':
      return new https.Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
    case 'full-handshake':
      // a connection per request, and no session cache: every handshake is a full one
      return new https.Agent({ keepAlive: false, maxCachedSessions: 0 });
    case 'resumed':
      // a connection per request; the agent keeps sessions/tickets and offers them on the next one
      return new https.Agent({ keepAlive: false, maxCachedSessions: 100 });
  }
}

export function percentile(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

/** The timing part of the options (what the Recorder needs). */
export type WindowOptions = Pick<LoadOptions, 'warmupMs' | 'durationMs' | 'onMeasureStart'>;

/** Counts what completes inside the measured window. */
class Recorder {
  readonly measureStart: number;
  readonly measureEnd: number;
  private latencies = new Float64Array(65_536);
  private count = 0;
  errors = 0;
  private readonly errorKinds: Record<string, number> = {};

  constructor(
    private readonly options: WindowOptions,
    t0 = performance.now(),
  ) {
    this.measureStart = t0 + options.warmupMs;
    this.measureEnd = this.measureStart + options.durationMs;
  }

  inWindow(t = performance.now()): boolean {
    return t >= this.measureStart && t <= this.measureEnd;
  }

  ok(latencyMs: number): void {
    if (!this.inWindow()) return;
    if (this.count === this.latencies.length) {
      const bigger = new Float64Array(this.latencies.length * 2);
      bigger.set(this.latencies);
      this.latencies = bigger;
    }
    this.latencies[this.count++] = latencyMs;
  }

  error(kind: string): void {
    if (!this.inWindow()) return;
    this.errors += 1;
    this.errorKinds[kind] = (this.errorKinds[kind] ?? 0) + 1;
  }

  /** Runs `hook` when the measured window starts; resolves when it has (or failed). */
  atMeasureStart(): Promise<void> {
    const hook = this.options.onMeasureStart;
    if (!hook) return Promise.resolve();
    return new Promise<void>((resolve) => {
      setTimeout(
        () => {
          hook().then(
            () => resolve(),
            () => resolve(),
          );
        },
        Math.max(0, this.measureStart - performance.now()),
      );
    });
  }

  result(generator: Generator, extra: Partial<LoadResult> = {}): LoadResult {
    const sorted = this.latencies.subarray(0, this.count).sort();
    const seconds = this.options.durationMs / 1000;
    return {
      generator,
      ok: this.count,
      errors: this.errors,
      errorKinds: this.errorKinds,
      seconds,
      rps: this.count / seconds,
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      latenciesMs: sorted,
      ...extra,
    };
  }
}

/** One result from several measured windows of the same case (rounds). */
export function mergeLoads(parts: LoadResult[]): LoadResult {
  const first = parts[0];
  if (!first) throw new Error('mergeLoads: nothing to merge');
  const sum = (pick: (r: LoadResult) => number) => parts.reduce((n, r) => n + pick(r), 0);
  const latencies = new Float64Array(sum((r) => r.latenciesMs.length));
  let offset = 0;
  for (const r of parts) {
    latencies.set(r.latenciesMs, offset);
    offset += r.latenciesMs.length;
  }
  latencies.sort();
  const errorKinds: Record<string, number> = {};
  for (const r of parts) {
    for (const [kind, n] of Object.entries(r.errorKinds)) errorKinds[kind] = (errorKinds[kind] ?? 0) + n;
  }
  const counted = parts.every((r) => r.newConnections !== undefined);
  const ok = sum((r) => r.ok);
  const seconds = sum((r) => r.seconds);
  return {
    generator: first.generator,
    ok,
    errors: sum((r) => r.errors),
    errorKinds,
    seconds,
    rps: ok / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    latenciesMs: latencies,
    newConnections: counted ? sum((r) => r.newConnections ?? 0) : undefined,
    resumedConnections: counted ? sum((r) => r.resumedConnections ?? 0) : undefined,
    protocol: parts.find((r) => r.protocol)?.protocol,
    cipher: parts.find((r) => r.cipher)?.cipher,
    session: parts.find((r) => r.session)?.session,
  };
}

export function runLoad(target: LoadTarget, options: LoadOptions): Promise<LoadResult> {
  return options.mode === 'keep-alive' && options.generator === 'autocannon'
    ? runAutocannon(target, options)
    : runNode(target, options);
}

async function runAutocannon(target: LoadTarget, options: LoadOptions): Promise<LoadResult> {
  const recorder = new Recorder(options);
  const hookDone = recorder.atMeasureStart();
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: `https://${target.host}:${target.port}${target.path}`,
        connections: options.concurrency,
        duration: (options.warmupMs + options.durationMs) / 1000,
        method: target.method ?? 'GET',
        headers: target.headers ?? { accept: 'application/json' },
        ...(target.body !== undefined ? { body: target.body } : {}),
        timeout: (options.requestTimeoutMs ?? 10_000) / 1000,
        sampleInt: 250,
        tlsOptions: { ca: target.ca, cert: target.cert, key: target.key },
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
    const expected = target.expectStatus ?? 200;
    instance.on('response', (_client, statusCode, _bytes, responseTimeMs) => {
      if (statusCode === expected) recorder.ok(responseTimeMs);
      else recorder.error(`HTTP ${statusCode}`);
    });
    instance.on('reqError', (error) => recorder.error(error.code ?? error.message));
  });
  // timeouts arrive as reqError too; autocannon's own totals are not used (they include the warm-up)
  await Promise.all([hookDone, done]);
  return recorder.result('autocannon');
}

async function runNode(target: LoadTarget, options: LoadOptions): Promise<LoadResult> {
  const agent = agentFor(options.mode, options.concurrency);
  const timeoutMs = options.requestTimeoutMs ?? 10_000;
  const expected = target.expectStatus ?? 200;
  const recorder = new Recorder(options);
  let newConnections = 0;
  let resumedConnections = 0;
  let protocol: string | undefined;
  let cipher: string | undefined;
  let session: SessionLifetime | undefined;

  const watchSocket = (socket: TLSSocket) => {
    const opened = performance.now();
    socket.once('secureConnect', () => {
      protocol ??= socket.getProtocol() ?? undefined;
      cipher ??= socket.getCipher().name;
      if (!recorder.inWindow(opened)) return;
      newConnections += 1;
      if (socket.isSessionReused()) resumedConnections += 1;
    });
    if (session === undefined) {
      socket.once('session', (data: Buffer) => {
        session ??= sessionLifetime(data);
      });
    }
  };

  const once = () =>
    new Promise<void>((resolve) => {
      const started = performance.now();
      let settled = false;
      const finish = (error?: string) => {
        if (settled) return;
        settled = true;
        if (error) recorder.error(error);
        else recorder.ok(performance.now() - started);
        resolve();
      };
      const req = https.request(
        {
          host: target.host,
          port: target.port,
          path: target.path,
          method: target.method ?? 'GET',
          agent,
          ca: target.ca,
          cert: target.cert,
          key: target.key,
          headers: target.headers ?? { accept: 'application/json' },
        },
        (res) => {
          const status = res.statusCode ?? 0;
          res.resume();
          res.once('end', () => finish(status === expected ? undefined : `HTTP ${status}`));
          res.once('error', (error: NodeJS.ErrnoException) => finish(error.code ?? error.message));
        },
      );
      req.once('socket', (socket) => {
        if (!req.reusedSocket) watchSocket(socket as TLSSocket);
      });
      req.setTimeout(timeoutMs, () => {
        req.destroy(new Error('timeout'));
      });
      req.once('error', (error: NodeJS.ErrnoException) => finish(error.code ?? error.message));
      req.end(target.body);
    });

  const loop = async () => {
    while (performance.now() < recorder.measureEnd) {
      const before = recorder.errors;
      await once();
      // do not spin when every request fails at once (refused connections)
      if (recorder.errors !== before) await nextTick();
    }
  };

  await Promise.all([...Array.from({ length: options.concurrency }, loop), recorder.atMeasureStart()]);
  agent.destroy();
  return recorder.result('node', { newConnections, resumedConnections, protocol, cipher, session });
}

/** One request of a connection group, built per request. */
export interface GroupRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

/** Per-request scratch space: lives from a request's setup to its response (autocannon's context). */
export type RequestContext = Record<string, unknown>;

/**
 * Kept-alive connections that share one client identity (one autocannon instance per group, so
 * several TLS client certificates can load one server at once), each request built by `next`.
 */
export interface ConnectionGroup {
  cert: string;
  key: string;
  connections: number;
  next: (context: RequestContext) => GroupRequest;
  /** Called with every answer (not for transport errors and timeouts). */
  onResponse?: (status: number, context: RequestContext) => void;
}

export interface GroupTarget {
  host: string;
  port: number;
  /** Not verified (autocannon forces rejectUnauthorized: false) but offered like the other generators. */
  ca: string;
}

export interface GroupLoadOptions extends WindowOptions {
  requestTimeoutMs?: number;
  /** Which statuses count as success (default: 2xx). */
  ok?: (status: number) => boolean;
}

/** Closed-loop load from several connection groups at once (kept-alive, autocannon). */
export async function runConnectionGroups(
  target: GroupTarget,
  groups: ConnectionGroup[],
  options: GroupLoadOptions,
): Promise<LoadResult> {
  const recorder = new Recorder(options);
  const hookDone = recorder.atMeasureStart();
  const ok = options.ok ?? ((status: number) => status >= 200 && status < 300);
  const runs = groups
    .filter((g) => g.connections > 0)
    .map(
      (group) =>
        new Promise<autocannon.Result>((resolve, reject) => {
          const instance = autocannon(
            {
              url: `https://${target.host}:${target.port}/`,
              connections: group.connections,
              duration: (options.warmupMs + options.durationMs) / 1000,
              timeout: (options.requestTimeoutMs ?? 10_000) / 1000,
              sampleInt: 250,
              tlsOptions: { ca: target.ca, cert: group.cert, key: group.key },
              requests: [
                {
                  setupRequest: (request, context) => ({ ...request, ...group.next(context) }),
                  onResponse: (status, _body, context) => group.onResponse?.(status, context),
                },
              ],
            },
            (error, result) => (error ? reject(error) : resolve(result)),
          );
          instance.on('response', (_client, statusCode, _bytes, responseTimeMs) => {
            if (ok(statusCode)) recorder.ok(responseTimeMs);
            else recorder.error(`HTTP ${statusCode}`);
          });
          instance.on('reqError', (error) => recorder.error(error.code ?? error.message));
        }),
    );
  await Promise.all([hookDone, ...runs]);
  return recorder.result('autocannon');
}
