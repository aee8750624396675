import { type ChildProcess, fork } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

/**
 * A TCP forwarder on a random loopback port in front of PostgreSQL or Redis, so a bench can make that
 * dependency unreachable for the service's processes only, never touching the shared instance (a copy
 * of test/support/tcp-proxy.ts with counters). `cut()` drops every open connection and refuses new
 * ones (the port is closed: connection refused) until `restore()`.
 */
export class TcpProxy {
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  port = 0;
  /** Connections accepted so far, and open connections dropped by cuts. */
  accepted = 0;
  dropped = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(port = 0): Promise<this> {
    this.server = net.createServer((client) => {
      this.accepted += 1;
      const upstream = net.connect(this.targetPort, this.targetHost);
      for (const s of [client, upstream]) {
        s.setNoDelay(true);
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  /** Drops every connection and refuses new ones until `restore()`. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.dropped += Math.round(this.sockets.size / 2); // client and upstream side of each connection
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async restore(): Promise<void> {
    await this.start(this.port);
  }

  async stop(): Promise<void> {
    await this.cut();
  }
}

export function hostPort(url: string, defaultPort: number): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port || defaultPort) };
}

/** The same URL, pointed at a proxy port on 127.0.0.1. */
export function viaProxy(url: string, port: number): string {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(port);
  return u.toString();
}

type ProxyRequest = { type: 'start'; host: string; port: number } | { type: 'cut' } | { type: 'restore' };
export type ProxyAnswer =
  | { type: 'ready'; port: number }
  | { type: 'done'; accepted: number; dropped: number }
  | { type: 'failed'; message: string };

/**
 * The proxy in its own child process (bench/lib/proxy-child.ts), so that forwarding the service's
 * database or Redis traffic takes no time from the simulator's event loop; its CPU is measured apart.
 */
export class ProxyProcess {
  private readonly child: ChildProcess;
  private exited = false;
  port = 0;

  constructor() {
    this.child = fork(fileURLToPath(new URL('./proxy-child.js', import.meta.url)), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.once('exit', () => (this.exited = true));
    process.on('exit', () => this.killNow());
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  async start(host: string, port: number): Promise<number> {
    const answer = await this.ask({ type: 'start', host, port });
    if (answer.type !== 'ready') throw new Error('the proxy did not start');
    this.port = answer.port;
    return this.port;
  }

  /** Resolves when every connection is dropped and the port is closed. */
  async cut(): Promise<{ accepted: number; dropped: number }> {
    const a = await this.ask({ type: 'cut' });
    return a.type === 'done' ? a : { accepted: 0, dropped: 0 };
  }

  /** Resolves when the port accepts connections again. */
  async restore(): Promise<void> {
    await this.ask({ type: 'restore' });
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.killNow(), 3_000);
    await exited;
    clearTimeout(timer);
  }

  killNow(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }

  private ask(request: ProxyRequest): Promise<ProxyAnswer> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.child.off('message', onMessage);
        reject(new Error(`proxy: no answer to ${request.type} within 10 s`));
      }, 10_000);
      const onMessage = (raw: unknown) => {
        const answer = raw as ProxyAnswer;
        clearTimeout(timer);
        this.child.off('message', onMessage);
        if (answer.type === 'failed') reject(new Error(`proxy: ${answer.message}`));
        else resolve(answer);
      };
      this.child.on('message', onMessage);
      this.child.send(request);
    });
  }
}
