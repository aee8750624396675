import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import https from 'node:https';
import os from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import {
  type ClientSvid,
  issueClientSvid,
  loadIssuer,
  type SvidIssuer,
} from '../../src/client/identities.js';
import { type RawResponse, request } from '../../src/client/transport.js';
import { quoteIdent, withClient, withDatabase } from '../../src/infra/database/postgres-admin.js';
import { REPO_ROOT, ServerChild, type WfmReady } from './ipc.js';
import { updateReadme, writeResult } from './report.js';

/**
 * What every bench of the service needs around its measurement: a throw-away database and Redis
 * prefix, the service (and the baseline) in child processes, the dev PKI, accepted rc.3 clients and
 * their SVIDs, operator API calls, a direct Postgres connection for seeding and checks, process
 * memory and CPU from /proc, database statistics, the report (bench/results/ and the bench's section
 * of bench/README.md), and a cleanup that runs once on success, error, SIGINT, SIGTERM and the run's
 * own deadline (children stopped, database dropped, Redis keys with the prefix deleted).
 *
 * The other parts of the harness: lib/cli.ts (options and the quoted command line), lib/rounds.ts
 * (the same-run baseline in alternating windows), lib/load.ts (closed-loop load generators),
 * lib/report.ts (tables and Markdown), lib/sampler.ts (CPU and memory of processes over a window).
 */
export interface TlsFiles {
  caPem: string;
  caKeyPem: string;
  serverCertPem: string;
  serverKeyPem: string;
}

/** What the baseline server answers to every request. */
export interface BaselineAnswer {
  body: string;
  contentType: string;
  status?: number;
  headers?: Record<string, string>;
  readBody?: boolean;
}

/** What `Harness.publish` writes. */
export interface Publication {
  /** The report's name in bench/results/, without `.md` (the run's timestamp is added). */
  name: string;
  /** The report's title (the run's date is added). */
  heading: string;
  section: string;
  /** The bench's section title in bench/README.md, replaced with `section`; undefined: left alone. */
  readmeSection?: string;
  /** What goes to stdout (default: the section). */
  stdout?: string;
  /** More of the results file after the section (not in the README), e.g. query plans. */
  appendix?: string;
}

export interface ServiceOptions {
  name: string;
  /** WFM_ROLES: `api`, `worker` or `api,worker`. */
  roles: string;
  env?: Record<string, string>;
  /** Write a V8 CPU profile of the child into bench/results/ when it stops. */
  cpuProfile?: boolean;
}

export interface ProcMemory {
  /** Resident set size now, in MiB. */
  rssMiB: number;
  /** Peak resident set size (VmHWM), in MiB. */
  peakMiB: number;
}

const CLOCK_TICKS_PER_S = 100;
/** application_name of the bench's own Postgres connections. */
const BENCH_APP = 'wfm-bench';

/** VmRSS and VmHWM of a process (undefined when it is gone). */
export function procMemory(pid: number | undefined): ProcMemory | undefined {
  if (pid === undefined) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMiB: kib('VmRSS') / 1024, peakMiB: kib('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/** Resets a process's peak resident set size (VmHWM) to its current size (Linux clear_refs 5; best effort). */
export function resetPeakMemory(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** User + system CPU time of a process so far, in ms (0 when it is gone). */
export function procCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the fields after the command name (which may contain spaces) start after the last ')'
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_S;
  } catch {
    return 0;
  }
}

export class Harness {
  readonly runId = randomBytes(5).toString('hex');
  readonly dbName = `wfm_bench_${this.runId}`;
  readonly queuePrefix = `bench_${this.runId}`;
  readonly adminDatabaseUrl = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/wfm';
  readonly databaseUrl = withDatabase(this.adminDatabaseUrl, this.dbName);
  readonly redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  readonly resultsDir = join(REPO_ROOT, 'bench', 'results');
  readonly readmePath = join(REPO_ROOT, 'bench', 'README.md');
  readonly started = new Date();
  readonly stamp = this.started.toISOString().replace(/[:.]/g, '-');
  readonly loadBefore = os.loadavg();
  readonly children: ServerChild[] = [];
  /** The code the children run: taken when the run starts (other engineers may commit meanwhile). */
  readonly code = codeVersion();
  private dataDir?: string;
  private databaseMayExist = false;
  private pool?: pg.Pool;
  private queue?: Queue;
  private cleaning?: Promise<void>;
  private readonly agent = new https.Agent({ keepAlive: true, maxSockets: 8 });
  private readonly deadline: NodeJS.Timeout;

  /** `plannedSeconds`: the run is aborted (and cleaned up) when it takes more than this plus a minute. */
  constructor(
    readonly name: string,
    plannedSeconds: number,
  ) {
    process.on('SIGINT', () => this.abort('SIGINT', 130));
    process.on('SIGTERM', () => this.abort('SIGTERM', 143));
    process.on('exit', () => {
      for (const c of this.children) c.killNow();
    });
    this.deadline = setTimeout(
      () => this.abort(`run exceeded ${plannedSeconds + 60} s`, 1),
      (plannedSeconds + 60) * 1000,
    );
    this.deadline.unref();
  }

  log(message: string): void {
    process.stderr.write(`[${this.name}] ${message}\n`);
  }

  /** Runs `main`, then cleans up and exits with 0, or 1 when it threw. */
  async run(main: () => Promise<void>): Promise<never> {
    let exitCode = 0;
    try {
      await mkdir(this.resultsDir, { recursive: true });
      await main();
    } catch (error) {
      this.log(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      exitCode = 1;
    } finally {
      await this.cleanup();
      clearTimeout(this.deadline);
    }
    process.exit(exitCode);
  }

  /** Starts the service in a child process; resolves when it is ready (the api role reports its URL). */
  async startService(options: ServiceOptions): Promise<{ child: ServerChild; ready?: WfmReady }> {
    this.dataDir ??= await mkdtemp(join(os.tmpdir(), 'wfm-bench-'));
    this.databaseMayExist = true;
    const profileName = `${this.name}-${this.stamp}-${options.name}.cpuprofile`;
    const child = new ServerChild(
      options.name,
      new URL('./wfm-server.js', import.meta.url),
      {
        ...process.env,
        DATABASE_URL: this.databaseUrl,
        REDIS_URL: this.redisUrl,
        WFM_QUEUE_PREFIX: this.queuePrefix,
        WFM_DATA_DIR: this.dataDir,
        WFM_HOST: '127.0.0.1',
        PORT: '0',
        WFM_RATE_LIMIT_PER_MINUTE: '0',
        WFM_LOG_LEVEL: 'warn',
        WFM_ROLES: options.roles,
        ...options.env,
      },
      options.cpuProfile
        ? ['--cpu-prof', `--cpu-prof-dir=${this.resultsDir}`, `--cpu-prof-name=${profileName}`]
        : [],
    );
    this.children.push(child);
    if (options.roles.split(',').includes('api')) {
      const ready = await child.next('wfm-ready', 90_000);
      return { child, ready };
    }
    await child.next('worker-ready', 90_000);
    return { child };
  }

  /** The baseline server child, answering `body` with `status` and `headers`. */
  async startBaseline(
    tls: TlsFiles,
    sessionTimeout: number,
    answer: BaselineAnswer,
  ): Promise<{ child: ServerChild; port: number }> {
    const child = new ServerChild('baseline', new URL('./baseline-server.js', import.meta.url), process.env);
    this.children.push(child);
    child.send({
      type: 'start',
      certPem: tls.serverCertPem,
      keyPem: tls.serverKeyPem,
      caPem: tls.caPem,
      sessionTimeout,
      ...answer,
    });
    const ready = await child.next('baseline-ready', 10_000);
    return { child, port: ready.port };
  }

  async tlsFiles(ready: WfmReady): Promise<TlsFiles> {
    const pki = join(ready.dataDir, 'pki');
    const [caPem, caKeyPem, serverCertPem, serverKeyPem] = await Promise.all(
      ['ca.pem', 'ca-key.pem', 'server.pem', 'server-key.pem'].map((f) => readFile(join(pki, f), 'utf8')),
    );
    return { caPem, caKeyPem, serverCertPem, serverKeyPem };
  }

  issuer(ready: WfmReady, tls: TlsFiles): Promise<SvidIssuer> {
    return loadIssuer(tls.caPem, tls.caKeyPem, ready.trustDomain, ready.wfmId);
  }

  /** Accepts rc.3 clients through the operator API and mints an SVID for each. */
  async enrol(
    ready: WfmReady,
    tls: TlsFiles,
    clientIds: string[],
    concurrency = 8,
  ): Promise<Map<string, ClientSvid>> {
    const issuer = await this.issuer(ready, tls);
    const svids = new Map<string, ClientSvid>();
    await forEachLimit(clientIds, concurrency, async (id) => {
      const accepted = await this.operator(ready, tls, 'PUT', `/operator/v1/clients/${id}`);
      if (accepted.status !== 201 && accepted.status !== 200) {
        throw new Error(`accepting ${id}: HTTP ${accepted.status} ${accepted.text()}`);
      }
      svids.set(id, await issueClientSvid(issuer, id));
    });
    return svids;
  }

  /** One operator API call with the bootstrap admin token. */
  operator(
    ready: WfmReady,
    tls: TlsFiles,
    method: string,
    path: string,
    body?: { json: unknown } | { yaml: string },
    timeoutMs = 30_000,
  ): Promise<RawResponse> {
    const payload =
      body === undefined ? undefined : 'json' in body ? JSON.stringify(body.json) : Buffer.from(body.yaml);
    return request(new URL(path, ready.url), {
      method,
      headers: {
        authorization: `Bearer ${ready.adminToken}`,
        ...(body === undefined
          ? {}
          : { 'content-type': 'json' in body ? 'application/json' : 'application/yaml' }),
      },
      body: payload,
      ca: tls.caPem,
      agent: this.agent,
      timeoutMs,
    });
  }

  /** A connection pool to the bench database (seeding, counting, EXPLAIN). */
  db(): pg.Pool {
    if (!this.pool) {
      this.pool = new pg.Pool({ connectionString: this.databaseUrl, max: 3, application_name: BENCH_APP });
      this.pool.on('error', () => undefined);
    }
    return this.pool;
  }

  /** Jobs of the recompute queue not finished yet (waiting, delayed, active, prioritized), scheduled runs aside. */
  async recomputeBacklog(): Promise<number> {
    if (!this.queue) {
      const url = new URL(this.redisUrl);
      this.queue = new Queue('recompute', {
        connection: { host: url.hostname, port: Number(url.port || 6379), maxRetriesPerRequest: null },
        prefix: this.queuePrefix,
      });
      this.queue.on('error', () => undefined);
    }
    const [counts, schedulers] = await Promise.all([
      this.queue.getJobCounts('waiting', 'delayed', 'active', 'prioritized'),
      this.queue.getJobSchedulersCount(),
    ]);
    // each job scheduler (the hourly digest purge) keeps its next run as a delayed job: not a backlog
    return Math.max(0, Object.values(counts).reduce((a, b) => a + b, 0) - schedulers);
  }

  /** Timings of the recompute queue's most recently completed jobs (BullMQ keeps the last 1,000). */
  async completedJobs(): Promise<JobTiming[]> {
    await this.recomputeBacklog(); // creates the queue client
    const jobs = await this.queue!.getJobs(['completed'], 0, 999);
    return jobs
      .filter((j) => j.processedOn !== undefined && j.finishedOn !== undefined)
      .map((j) => ({
        name: j.name,
        createdAt: j.timestamp,
        delayMs: j.delay,
        processedOn: j.processedOn!,
        finishedOn: j.finishedOn!,
        attempts: j.attemptsMade,
      }));
  }

  /** Failed jobs of the recompute queue so far. */
  async failedJobs(): Promise<number> {
    await this.recomputeBacklog();
    return (await this.queue!.getJobCounts('failed')).failed ?? 0;
  }

  /** Waits until the recompute queue is empty (polled); returns the seconds it took, or undefined on timeout. */
  async waitQueueIdle(timeoutMs: number, pollMs = 250): Promise<number | undefined> {
    const t0 = performance.now();
    while (performance.now() - t0 < timeoutMs) {
      if ((await this.recomputeBacklog()) === 0) return (performance.now() - t0) / 1000;
      await sleep(pollMs);
    }
    return undefined;
  }

  /** CPU time (user + system, ms) per Postgres backend of the service on the bench database, right now. */
  async postgresCpu(): Promise<Map<number, number>> {
    const { rows } = await this.db().query<{ pid: number }>(
      // the service's connections only (not this bench's own seeding and counting)
      'SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name <> $2',
      [this.dbName, BENCH_APP],
    );
    return new Map(rows.map((r) => [r.pid, procCpuMs(r.pid)]));
  }

  /**
   * One sample of what the service's Postgres connections are doing: per active connection, its
   * statement (normalised: first line, white space collapsed, at most 90 characters) and wait event.
   */
  async postgresActivity(): Promise<{ query: string; wait: string }[]> {
    const { rows } = await this.db().query<{ query: string; wait: string | null }>(
      `SELECT query, wait_event_type || ':' || wait_event AS wait FROM pg_stat_activity
        WHERE datname = $1 AND application_name <> $2 AND state = 'active'`,
      [this.dbName, BENCH_APP],
    );
    return rows.map((r) => ({
      query: r.query.replace(/\s+/g, ' ').trim().slice(0, 90),
      wait: r.wait ?? 'CPU',
    }));
  }

  /** Transactions and rows of the bench database so far (pg_stat_database). */
  async databaseActivity(): Promise<DatabaseActivity> {
    const { rows } = await this.db().query<Record<keyof DatabaseActivity, string>>(
      `SELECT xact_commit AS commits, tup_returned AS returned, tup_fetched AS fetched,
              tup_inserted AS inserted, tup_updated AS updated, tup_deleted AS deleted
         FROM pg_stat_database WHERE datname = $1`,
      [this.dbName],
    );
    const r = rows[0];
    const n = (v: string | undefined) => Number(v ?? 0);
    return {
      commits: n(r?.commits),
      returned: n(r?.returned),
      fetched: n(r?.fetched),
      inserted: n(r?.inserted),
      updated: n(r?.updated),
      deleted: n(r?.deleted),
    };
  }

  /** The first line of every section: when and how it was measured. */
  measuredWith(command: string): string {
    return (
      `Measured ${this.started.toISOString().slice(0, 10)} with \`${command}\` ` +
      `(${os.cpus().length} CPUs, Node ${process.version}).`
    );
  }

  /** Writes the report into bench/results/ (and the README section when asked), prints it; returns the file. */
  async publish(p: Publication): Promise<string> {
    const file = await writeResult(
      this.resultsDir,
      `${p.name}-${this.stamp}.md`,
      `# ${p.heading}, ${this.started.toISOString()}\n\n${p.section}\n${p.appendix ?? ''}`,
    );
    if (p.readmeSection) await updateReadme(this.readmePath, p.section, p.readmeSection);
    process.stdout.write(`\n${p.stdout ?? p.section}\n`);
    this.log(`wrote ${file}${p.readmeSection ? ' and bench/README.md' : ''}`);
    return file;
  }

  /** The facts every section lists under "Machine". */
  machineLines(command: string): string[] {
    const cpus = os.cpus();
    return [
      `- Date: ${this.started.toISOString()}`,
      `- Machine: ${cpus.length} CPUs (${cpus[0]?.model.trim() ?? '?'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, ` +
        `load average before the run ${this.loadBefore.map((n) => n.toFixed(2)).join(' ')}`,
      `- Load average after the measurements ${os
        .loadavg()
        .map((n) => n.toFixed(2))
        .join(' ')} (other work on the machine shows here)`,
      `- Node ${process.version}, ${os.type()} ${os.release()}; PostgreSQL and Redis on loopback, shared with other work`,
      `- Command: \`${command}\``,
      `- Code (when the run started): ${this.code}`,
    ];
  }

  cleanup(): Promise<void> {
    this.cleaning ??= (async () => {
      const step = async (name: string, fn: () => Promise<unknown>) => {
        try {
          await fn();
        } catch (error) {
          this.log(`cleanup: ${name} failed: ${error instanceof Error ? error.message : String(error)}`);
        }
      };
      this.agent.destroy();
      await Promise.all(this.children.map((c) => step(`stop ${c.name}`, () => c.stop())));
      if (this.queue) {
        const queue = this.queue;
        await step('close the queue client', () => queue.close());
      }
      if (this.pool) {
        const pool = this.pool;
        await step('close the database pool', () => pool.end());
      }
      if (this.databaseMayExist) {
        await step(`drop database ${this.dbName}`, () =>
          withClient(withDatabase(this.adminDatabaseUrl, 'postgres'), (c) =>
            c.query(`DROP DATABASE IF EXISTS ${quoteIdent(this.dbName)} WITH (FORCE)`),
          ),
        );
      }
      await step('delete Redis keys', () => this.deleteRedisKeys());
      if (this.dataDir) {
        const dir = this.dataDir;
        await step('remove the data folder', () => rm(dir, { recursive: true, force: true }));
      }
    })();
    return this.cleaning;
  }

  private async deleteRedisKeys(): Promise<void> {
    const redis = new Redis(this.redisUrl, {
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      retryStrategy: () => null,
    });
    redis.on('error', () => undefined);
    try {
      await redis.connect();
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${this.queuePrefix}:*`, 'COUNT', 1000);
        if (keys.length > 0) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
    } finally {
      redis.disconnect();
    }
  }

  private abort(reason: string, code: number): void {
    this.log(`${reason}: cleaning up`);
    const force = setTimeout(() => process.exit(code), 20_000);
    force.unref();
    void this.cleanup().finally(() => process.exit(code));
  }
}

export interface JobTiming {
  name: string;
  /** Epoch ms. */
  createdAt: number;
  delayMs: number;
  processedOn: number;
  finishedOn: number;
  attempts: number;
}

export interface DatabaseActivity {
  commits: number;
  returned: number;
  fetched: number;
  inserted: number;
  updated: number;
  deleted: number;
}

/** The activity between two snapshots, without `ownTransactions` of the bench's own connections. */
export function activityBetween(
  a: DatabaseActivity,
  b: DatabaseActivity,
  ownTransactions = 0,
): DatabaseActivity {
  return {
    commits: b.commits - a.commits - ownTransactions,
    returned: b.returned - a.returned,
    fetched: b.fetched - a.fetched,
    inserted: b.inserted - a.inserted,
    updated: b.updated - a.updated,
    deleted: b.deleted - a.deleted,
  };
}

export function activitySum(a: DatabaseActivity, b: DatabaseActivity): DatabaseActivity {
  return {
    commits: a.commits + b.commits,
    returned: a.returned + b.returned,
    fetched: a.fetched + b.fetched,
    inserted: a.inserted + b.inserted,
    updated: a.updated + b.updated,
    deleted: a.deleted + b.deleted,
  };
}

/** The commit the service was built from, and whether src/ or prisma/ had uncommitted changes then. */
export function codeVersion(): string {
  try {
    const git = (...a: string[]) => execFileSync('git', a, { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    const head = git('rev-parse', '--short', 'HEAD');
    const dirty = git('status', '--porcelain', '--', 'src', 'prisma').split('\n').filter(Boolean).length;
    return dirty === 0
      ? `commit ${head}, no uncommitted changes in src/ and prisma/`
      : `commit ${head} plus uncommitted changes in ${dirty} files under src/ and prisma/ (work in progress of ` +
          'other engineers at the time of the run; the figures describe that state)';
  } catch {
    return 'unknown (git not available)';
  }
}

/**
 * Postgres CPU between two `postgresCpu()` snapshots: backends present at the end count from the first
 * snapshot (or from their start when they connected in between); backends that closed in between are
 * lost, so this is a lower bound when the pools recycle connections.
 */
export function postgresCpuBetween(before: Map<number, number>, after: Map<number, number>): number {
  let ms = 0;
  for (const [pid, cpu] of after) ms += Math.max(0, cpu - (before.get(pid) ?? 0));
  return ms;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs `fn` over `items` with at most `limit` at once; rejects with the first error. */
export async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      await fn(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
