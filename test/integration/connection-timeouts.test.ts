import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestService, startTestService } from '../support/service.js';

/**
 * Security finding 9 (issue #13): the connection timeouts were Node's defaults (slowloris cut after
 * ~84 s, an idle keep-alive connection after 65 s, a connection without TLS handshake after 120 s).
 * They are configuration now; small values here show each one cuts what it should, and that the
 * request timeout does not cut a long-lived event stream.
 */
describe('connection timeouts', () => {
  let wfm: TestService;
  let port: number;

  beforeAll(async () => {
    wfm = await startTestService({
      WFM_HEADERS_TIMEOUT_MS: '600',
      WFM_REQUEST_TIMEOUT_MS: '1000',
      WFM_IDLE_TIMEOUT_MS: '600',
      WFM_HANDSHAKE_TIMEOUT_MS: '600',
    });
    port = Number(new URL(wfm.url).port);
  });
  afterAll(async () => {
    await wfm?.stop();
  });

  /** Milliseconds until `socket` closes (rejects after `limitMs`); `received` collects what it read. */
  function closedAfter(socket: net.Socket, limitMs: number, received: string[] = []): Promise<number> {
    const started = Date.now();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`still open after ${limitMs} ms`));
      }, limitMs);
      socket.on('data', (chunk: Buffer) => received.push(chunk.toString('latin1')));
      socket.on('error', () => undefined);
      socket.on('close', () => {
        clearTimeout(timer);
        resolve(Date.now() - started);
      });
    });
  }

  function tlsConnect(): Promise<tls.TLSSocket> {
    return new Promise((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port, ca: wfm.serverCa, servername: 'localhost' });
      socket.once('secureConnect', () => resolve(socket));
      socket.once('error', reject);
    });
  }

  it('cuts a request whose header fields dribble in (slowloris) after the header timeout', async () => {
    const socket = await tlsConnect();
    socket.write('GET /health/live HTTP/1.1\r\nHost: localhost\r\n');
    const dribble = setInterval(() => socket.writable && socket.write('X-Slow: 1\r\n'), 100);
    const received: string[] = [];
    const ms = await closedAfter(socket, 10_000, received).finally(() => clearInterval(dribble));
    expect(ms).toBeGreaterThanOrEqual(400);
    expect(ms).toBeLessThan(3_000);
    expect(received.join('')).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('closes a TCP connection that never starts the TLS handshake after the handshake timeout', async () => {
    const socket = net.connect({ host: '127.0.0.1', port });
    await new Promise((resolve) => socket.once('connect', resolve));
    const ms = await closedAfter(socket, 10_000);
    expect(ms).toBeGreaterThanOrEqual(400);
    expect(ms).toBeLessThan(3_000);
  });

  it('closes an idle keep-alive connection after the idle timeout', async () => {
    const socket = await tlsConnect();
    const received: string[] = [];
    const closed = closedAfter(socket, 10_000, received);
    socket.write('GET /health/live HTTP/1.1\r\nHost: localhost\r\n\r\n');
    const ms = await closed;
    expect(received.join('')).toMatch(/^HTTP\/1\.1 200 /);
    expect(received.join('')).not.toMatch(/connection: close/i);
    expect(ms).toBeGreaterThanOrEqual(400);
    expect(ms).toBeLessThan(3_000);
  });

  it('keeps an operator event stream open past the request timeout', async () => {
    const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
      https
        .get(new URL('/operator/v1/events', wfm.url), {
          ca: wfm.serverCa,
          headers: { authorization: `Bearer ${wfm.adminToken}`, accept: 'text/event-stream' },
        })
        .once('response', resolve)
        .once('error', reject);
    });
    expect(res.statusCode).toBe(200);
    let closed = false;
    res.on('close', () => (closed = true));
    res.resume();
    await new Promise((r) => setTimeout(r, 3_000));
    expect(closed).toBe(false);
    res.destroy();
  });
});
