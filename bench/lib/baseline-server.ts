import { followParent, listenBaseline } from './baseline-child.js';
import type { BaselineStart } from './ipc.js';

/**
 * Child process: the baseline. A bare Node HTTPS server with the service's certificate and key and the
 * same TLS options (client certificate requested but optional at the TLS layer, the dev CA as
 * anchors, TLS 1.2 minimum, the same session lifetime and keep-alive timeout), answering every
 * request with 200 and the same JSON bytes the guarded route returns (or the status, headers and bytes
 * the parent asks for; optionally after reading the request body). No authentication, no framework.
 */
function start(options: BaselineStart): void {
  const body = Buffer.from(options.body);
  const status = options.status ?? 200;
  const extra = options.headers ?? {};
  listenBaseline(options, (req, res) => {
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
  });
}

followParent(start);
