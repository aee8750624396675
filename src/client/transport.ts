import http from 'node:http';
import https from 'node:https';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';

/**
 * The client library's wire layer: one HTTP(S) request, answered with the raw response (status,
 * headers, exact bytes) so callers can assert on the wire. Used by the device client, the tests,
 * the conformance runner and the simulator.
 */
export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The body after undoing Content-Encoding (gzip, br): digests refer to these bytes. */
  body: Buffer;
  /** The bytes as they came over the wire. */
  wireBody: Buffer;
  /** The body parsed as JSON (throws when it is not JSON). */
  json<T = unknown>(): T;
  text(): string;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string | undefined>;
  body?: Buffer | string;
  /** Trust anchors (PEM) for the server certificate. */
  ca?: string | string[];
  /** Client certificate chain and key (PEM) for mutual TLS. */
  cert?: string;
  key?: string;
  /** Reuse connections through this agent (keep-alive); a fresh connection per request otherwise. */
  agent?: http.Agent | https.Agent;
  /** Expected server name for certificate checks; defaults to the URL's host. */
  servername?: string;
  timeoutMs?: number;
  /** Skip server certificate verification (for probing foreign test servers only). */
  insecure?: boolean;
}

export function request(url: string | URL, options: RequestOptions = {}): Promise<RawResponse> {
  const target = typeof url === 'string' ? new URL(url) : url;
  const isHttps = target.protocol === 'https:';
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(options.headers ?? {})) if (v !== undefined) headers[k] = v;
  const body = typeof options.body === 'string' ? Buffer.from(options.body) : options.body;
  if (body !== undefined && headers['content-length'] === undefined) {
    headers['content-length'] = String(body.length);
  }

  return new Promise<RawResponse>((resolve, reject) => {
    const common = {
      method: options.method ?? 'GET',
      headers,
      agent: options.agent ?? false,
      timeout: options.timeoutMs ?? 30_000,
    };
    const req = isHttps
      ? https.request(target, {
          ...common,
          ca: options.ca,
          cert: options.cert,
          key: options.key,
          servername: options.servername,
          rejectUnauthorized: options.insecure !== true,
        })
      : http.request(target, common);
    req.on('timeout', () => req.destroy(new Error(`request to ${target.href} timed out`)));
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const wire = Buffer.concat(chunks);
        let bytes: Buffer;
        try {
          bytes = decode(wire, res.headers['content-encoding']);
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
          return;
        }
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: bytes,
          wireBody: wire,
          json: <T>() => JSON.parse(bytes.toString('utf8')) as T,
          text: () => bytes.toString('utf8'),
        });
      });
    });
    req.end(body);
  });
}

function decode(bytes: Buffer, encoding: string | undefined): Buffer {
  switch (encoding?.trim().toLowerCase()) {
    case undefined:
    case '':
    case 'identity':
      return bytes;
    case 'gzip':
      return gunzipSync(bytes);
    case 'br':
      return brotliDecompressSync(bytes);
    default:
      throw new Error(`unsupported Content-Encoding ${encoding}`);
  }
}
