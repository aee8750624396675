import { type ChildProcess, spawn } from 'node:child_process';

export interface ServiceProcess {
  child: ChildProcess;
  /** Base URL (absent for a worker-only process). */
  url?: string;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Runs the compiled service (`dist/src/main.js`, built by `npm test`) as its own process, the way
 * it runs in production, and waits until it says it is up. Needed where several instances must run
 * at once: Passport keeps one strategy registry per process.
 */
export function spawnService(env: Record<string, string>, timeoutMs = 30_000): Promise<ServiceProcess> {
  const child = spawn(process.execPath, ['dist/src/main.js'], {
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', WFM_LOG_LEVEL: 'log', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
    });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`service did not start within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const onData = (d: Buffer) => {
      output += d.toString();
      const listening = /listening on (https?:\/\/\S+)/.exec(output);
      const worker = /margo-wfm started \(roles: worker\)/.test(output);
      if (listening || worker) {
        clearTimeout(timer);
        resolve({ child, url: listening?.[1], output: () => output, stop });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`service exited with ${code}:\n${output}`));
    });
  });
}

/** Runs a compiled entry point (e.g. `dist/src/main.js`) until it exits; collects its output. */
export function runToExit(args: string[], env: Record<string, string>, timeoutMs = 20_000) {
  return new Promise<{ code: number | null; output: string; ms: number }>((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH ?? '', ...env } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output, ms: Date.now() - started });
    });
  });
}
