import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root (compiled files live in dist-bench/bench/lib/). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** What a server child reports about the window since the last `stats` request. */
export interface ServerStats {
  /** TLS handshakes completed by the server. */
  handshakes: number;
  /** …of which resumed a session (ticket or session ID). */
  resumed: number;
  /** CPU time of the server process, in milliseconds (user + system). */
  cpuMs: number;
  wallMs: number;
}

export interface WfmReady {
  type: 'wfm-ready';
  url: string;
  port: number;
  adminToken: string;
  dataDir: string;
  trustDomain: string;
  wfmId: string;
  spiffeId: string;
  sessionLifetimeSeconds: number;
}

/** A service child started without the api role (WFM_ROLES=worker): no listener. */
export interface WorkerReady {
  type: 'worker-ready';
}

export interface BaselineReady {
  type: 'baseline-ready';
  port: number;
}

export interface BaselineStart {
  type: 'start';
  certPem: string;
  keyPem: string;
  caPem: string;
  body: string;
  contentType: string;
  sessionTimeout: number;
  /** Status of every answer (default 200); a 304 or 204 answer has no body. */
  status?: number;
  /** Extra response headers (e.g. the ETag and Cache-Control the service sends). */
  headers?: Record<string, string>;
  /** Read the whole request body before answering (PUT/POST baselines). */
  readBody?: boolean;
}

export type ParentMessage = BaselineStart | { type: 'stats' } | { type: 'stop' };
export type ChildMessage =
  | WfmReady
  | WorkerReady
  | BaselineReady
  | ({ type: 'stats' } & ServerStats)
  | { type: 'failed'; message: string };

/** A forked server process with a typed request/answer channel. */
export class ServerChild {
  private readonly child: ChildProcess;
  private exited = false;
  private readonly exitPromise: Promise<void>;
  private stderr = '';

  constructor(
    readonly name: string,
    script: URL,
    env: NodeJS.ProcessEnv,
    execArgv: string[] = [],
  ) {
    this.child = fork(fileURLToPath(script), [], {
      cwd: REPO_ROOT,
      env,
      execArgv,
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
    this.child.stderr?.setEncoding('utf8');
    this.child.stderr?.on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-4000);
      process.stderr.write(`[${name}] ${chunk}`);
    });
    this.exitPromise = new Promise((resolve) => {
      this.child.once('exit', () => {
        this.exited = true;
        resolve();
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  send(message: ParentMessage): void {
    if (!this.exited && this.child.connected) this.child.send(message);
  }

  /** The next message of `type` from the child (rejects on 'failed', exit or timeout). */
  next<T extends ChildMessage['type']>(
    type: T,
    timeoutMs: number,
  ): Promise<Extract<ChildMessage, { type: T }>> {
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        this.child.off('message', onMessage);
        this.child.off('exit', onExit);
      };
      const onMessage = (raw: unknown) => {
        const message = raw as ChildMessage;
        if (message.type === 'failed') {
          cleanup();
          reject(new Error(`${this.name}: ${message.message}`));
        } else if (message.type === type) {
          cleanup();
          resolve(message as Extract<ChildMessage, { type: T }>);
        }
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
        cleanup();
        reject(
          new Error(`${this.name} exited (${signal ?? code ?? '?'}): ${this.stderr.trim().slice(-800)}`),
        );
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${this.name}: no '${type}' message within ${timeoutMs} ms`));
      }, timeoutMs);
      this.child.on('message', onMessage);
      this.child.once('exit', onExit);
      if (this.exited) onExit(this.child.exitCode, this.child.signalCode);
    });
  }

  async stats(): Promise<ServerStats> {
    this.send({ type: 'stats' });
    const { handshakes, resumed, cpuMs, wallMs } = await this.next('stats', 5_000);
    return { handshakes, resumed, cpuMs, wallMs };
  }

  /** Asks the child to stop; kills it (by its pid) when it has not exited after `graceMs`. */
  async stop(graceMs = 5_000): Promise<void> {
    if (this.exited) return;
    this.send({ type: 'stop' });
    const timer = setTimeout(() => {
      if (!this.exited) this.child.kill('SIGKILL');
    }, graceMs);
    await this.exitPromise;
    clearTimeout(timer);
  }

  /** Synchronous last resort (process 'exit' handler). */
  killNow(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }
}

/** Server-side counters shared by both server children. */
export class StatsWindow {
  private handshakes = 0;
  private resumed = 0;
  private cpu = process.cpuUsage();
  private wall = performance.now();

  onSecureConnection(reused: boolean): void {
    this.handshakes += 1;
    if (reused) this.resumed += 1;
  }

  /** The counts since the previous call, and restart the window. */
  take(): ServerStats {
    const cpu = process.cpuUsage(this.cpu);
    const now = performance.now();
    const stats: ServerStats = {
      handshakes: this.handshakes,
      resumed: this.resumed,
      cpuMs: (cpu.user + cpu.system) / 1000,
      wallMs: now - this.wall,
    };
    this.handshakes = 0;
    this.resumed = 0;
    this.cpu = process.cpuUsage();
    this.wall = now;
    return stats;
  }
}

/** Child side: send a message to the parent (no-op when the channel is gone). */
export function toParent(message: ChildMessage): void {
  if (process.send && process.connected) process.send(message);
}
