import type { RequestListener } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { type BaselineStart, type ParentMessage, StatsWindow, toParent } from './ipc.js';

/**
 * What every baseline child process shares: a bare Node HTTPS server with the service's TLS options
 * (client certificate requested but optional at the TLS layer, the given CA as anchors, TLS 1.2
 * minimum, the service's session lifetime and keep-alive timeout), TLS session counts for the parent,
 * `baseline-ready` with its port, and a clean stop on a signal, a `stop` message or the parent leaving.
 */
const stats = new StatsWindow();
let server: https.Server | undefined;
let stopping = false;

function stop(code: number): void {
  if (stopping) return;
  stopping = true;
  const force = setTimeout(() => process.exit(code || 1), 3_000);
  force.unref();
  if (!server) process.exit(code);
  server.close(() => process.exit(code));
  server.closeAllConnections();
}

/** Starts the server on an ephemeral loopback port and tells the parent which. */
export function listenBaseline(
  tls: { certPem: string; keyPem: string; caPem: string; sessionTimeout: number },
  handler: RequestListener,
): void {
  server = https.createServer(
    {
      cert: tls.certPem,
      key: tls.keyPem,
      ca: tls.caPem,
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
      sessionTimeout: tls.sessionTimeout,
    },
    handler,
  );
  server.keepAliveTimeout = 65_000;
  server.on('secureConnection', (socket: TLSSocket) => stats.onSecureConnection(socket.isSessionReused()));
  server.once('error', (error) => {
    toParent({ type: 'failed', message: error.message });
    stop(1);
  });
  server.listen(0, '127.0.0.1', () => {
    toParent({ type: 'baseline-ready', port: (server!.address() as AddressInfo).port });
  });
}

/** Answers the parent's `stats` and `stop` messages (and `start`, when given) and stops on signals. */
export function followParent(onStart?: (options: BaselineStart) => void): void {
  process.on('SIGINT', () => stop(130));
  process.on('SIGTERM', () => stop(143));
  process.on('disconnect', () => stop(0));
  process.on('message', (raw: unknown) => {
    const message = raw as ParentMessage;
    if (message.type === 'start') onStart?.(message);
    else if (message.type === 'stats') toParent({ type: 'stats', ...stats.take() });
    else if (message.type === 'stop') stop(0);
  });
}
