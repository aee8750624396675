import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { type BaselineStart, type ParentMessage, StatsWindow, toParent } from './ipc.js';

/**
 * Child process: the baseline. A bare Node HTTPS server with the service's certificate and key and the
 * same TLS options (client certificate requested but optional at the TLS layer, the dev CA as
 * anchors, TLS 1.2 minimum, the same session lifetime and keep-alive timeout), answering every
 * request with 200 and the same JSON bytes the guarded route returns (or the status, headers and bytes
 * the parent asks for; optionally after reading the request body). No authentication, no framework.
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

function start(options: BaselineStart): void {
  const body = Buffer.from(options.body);
  const status = options.status ?? 200;
  const extra = options.headers ?? {};
  server = https.createServer(
    {
      cert: options.certPem,
      key: options.keyPem,
      ca: options.caPem,
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
      sessionTimeout: options.sessionTimeout,
    },
    (req, res) => {
      const answer = () => {
        if (status === 304 || status === 204) {
          res.writeHead(status, extra);
          res.end();
          return;
        }
        res.writeHead(status, {
          ...extra,
          'content-type': options.contentType,
          'content-length': body.length,
        });
        res.end(body);
      };
      if (!options.readBody) {
        answer();
        return;
      }
      // read (and keep) the whole body first, like a handler that parses it would
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.once('end', () => {
        res.setHeader('x-bench-received', Buffer.concat(chunks).length);
        answer();
      });
    },
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

process.on('SIGINT', () => stop(130));
process.on('SIGTERM', () => stop(143));
process.on('disconnect', () => stop(0));
process.on('message', (raw: unknown) => {
  const message = raw as ParentMessage;
  if (message.type === 'start') start(message);
  else if (message.type === 'stats') toParent({ type: 'stats', ...stats.take() });
  else if (message.type === 'stop') stop(0);
});
