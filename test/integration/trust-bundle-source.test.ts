import 'reflect-metadata'; // @peculiar/x509 (via pki.ts) needs the Reflect polyfill loaded first.
import { X509Certificate } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createCa, type IssuedCertificate, issueCertificate } from '../../src/infra/tls/pki.js';
import {
  type TrustBundle,
  type TrustBundleClock,
  TrustBundleError,
  TrustBundleSource,
  type TrustBundleSourceOptions,
} from '../../src/modules/enrollment/trust/trust-bundle-source.js';

const TRUST_DOMAIN = 'factory.example';

/** Manual clock: timers run only when the test advances time. */
class FakeClock implements TrustBundleClock {
  time = Date.parse('2030-01-01T00:00:00Z');
  private readonly timers = new Map<number, { at: number; fn: () => void }>();
  private nextId = 1;

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): number {
    const id = this.nextId++;
    this.timers.set(id, { at: this.time + ms, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  /** Delays, from now, of the timers still pending. */
  pending(): number[] {
    return [...this.timers.values()].map((timer) => timer.at - this.time);
  }

  advance(ms: number): void {
    this.time += ms;
    for (const [id, timer] of [...this.timers]) {
      if (timer.at > this.time) continue;
      this.timers.delete(id);
      timer.fn();
    }
  }
}

interface Route {
  status: number;
  body: string;
}

/** What the loopback MIS serves; tests mutate it. */
const served: { discovery: Route; bundle: Route } = {
  discovery: { status: 200, body: '' },
  bundle: { status: 200, body: '' },
};
const hits = { discovery: 0, bundle: 0 };

let server: https.Server;
let serverCa: IssuedCertificate;
let origin: string;
let anchorA: IssuedCertificate;
let anchorB: IssuedCertificate;
let leaf: IssuedCertificate;

function handle(req: IncomingMessage, res: ServerResponse): void {
  const route =
    req.url === '/.well-known/margo'
      ? served.discovery
      : req.url === '/bundle.json'
        ? served.bundle
        : undefined;
  if (req.url === '/.well-known/margo') hits.discovery += 1;
  if (req.url === '/bundle.json') hits.bundle += 1;
  if (!route) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(route.status, { 'content-type': 'application/json', 'cache-control': 'max-age=31536000' });
  res.end(route.body);
}

function der64(issued: IssuedCertificate): string {
  return Buffer.from(issued.cert.rawData).toString('base64');
}

/** An x509-svid JWK for a CA: its public key parameters plus the certificate in x5c. */
function x509Key(issued: IssuedCertificate): Record<string, unknown> {
  const jwk = new X509Certificate(issued.certPem).publicKey.export({ format: 'jwk' });
  return { ...jwk, use: 'x509-svid', x5c: [der64(issued)] };
}

function jwtKey(issued: IssuedCertificate): Record<string, unknown> {
  const jwk = new X509Certificate(issued.certPem).publicKey.export({ format: 'jwk' });
  return { ...jwk, use: 'jwt-svid', kid: 'jwt-1' };
}

function serveDiscovery(document: Record<string, unknown>): void {
  served.discovery = { status: 200, body: JSON.stringify(document) };
}

function serveBundle(bundle: Record<string, unknown>): void {
  served.bundle = { status: 200, body: JSON.stringify(bundle) };
}

function fingerprints(bundle: TrustBundle | undefined): string[] {
  return (bundle?.anchorsPem ?? []).map((pem) => new X509Certificate(pem).fingerprint256);
}

function fingerprintOf(issued: IssuedCertificate): string {
  return new X509Certificate(issued.certPem).fingerprint256;
}

async function eventually(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const sources: TrustBundleSource[] = [];

/** A source against the loopback MIS, trusting its CA, with a fake clock and recorded callbacks. */
function newSource(overrides: Partial<TrustBundleSourceOptions> = {}) {
  const clock = new FakeClock();
  const updates: TrustBundle[] = [];
  const errors: Error[] = [];
  const source = new TrustBundleSource({
    discoveryUrl: `${origin}/.well-known/margo`,
    expectedTrustDomain: TRUST_DOMAIN,
    ca: serverCa.certPem,
    clock,
    timeoutMs: 3_000,
    onUpdate: (bundle) => updates.push(bundle),
    onError: (error) => errors.push(error),
    ...overrides,
  });
  sources.push(source);
  return { source, clock, updates, errors };
}

function codeOf(error: Error | undefined): string | undefined {
  return error instanceof TrustBundleError ? error.code : undefined;
}

beforeAll(async () => {
  serverCa = await createCa({ commonName: 'MIS TLS test CA' });
  const serverCert = await issueCertificate({
    issuer: serverCa,
    commonName: 'mis.test',
    dnsNames: ['localhost'],
    ips: ['127.0.0.1'],
    serverAuth: true,
  });
  anchorA = await createCa({ commonName: 'factory.example authority A' });
  anchorB = await createCa({ commonName: 'factory.example authority B' });
  leaf = await issueCertificate({ issuer: anchorA, commonName: 'not a CA' });
  server = https.createServer({ cert: serverCert.certPem, key: serverCert.keyPem }, handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  hits.discovery = 0;
  hits.bundle = 0;
  serveDiscovery({ trustDomain: TRUST_DOMAIN, trustBundleUri: `${origin}/bundle.json` });
  serveBundle({ spiffe_sequence: 1, spiffe_refresh_hint: 60, keys: [x509Key(anchorA)] });
});

afterEach(() => {
  sources.splice(0).forEach((source) => source.stop());
});

describe('TrustBundleSource', () => {
  it('first fetch yields the x509 anchors, ignores jwt-svid and unknown keys, follows a relative URI', async () => {
    serveDiscovery({ trustDomain: TRUST_DOMAIN, trustBundleUri: '/bundle.json', futureField: true });
    serveBundle({
      spiffe_sequence: 7,
      spiffe_refresh_hint: 60,
      keys: [jwtKey(anchorB), x509Key(anchorA), { kty: 'oct', use: 'something-else', x5c: [der64(anchorB)] }],
    });
    const { source, clock, updates, errors } = newSource();

    const bundle = await source.start();

    expect(bundle).toMatchObject({
      trustDomain: TRUST_DOMAIN,
      sequence: 7,
      refreshHintSeconds: 60,
      sourceUri: `${origin}/bundle.json`,
      fetchedAt: new Date(clock.time),
    });
    expect(fingerprints(bundle)).toEqual([fingerprintOf(anchorA)]);
    expect(bundle.anchorsPem[0]).toMatch(/^-----BEGIN CERTIFICATE-----\n/);
    expect(source.current()).toBe(bundle);
    expect(updates).toEqual([bundle]);
    expect(errors).toEqual([]);
    expect(clock.pending()).toEqual([60_000]);
  });

  it('replaces the anchors entirely once the refresh hint elapses, ignoring HTTP caching headers', async () => {
    const { source, clock, updates } = newSource();
    await source.start();
    serveBundle({ spiffe_sequence: 2, spiffe_refresh_hint: 120, keys: [x509Key(anchorB)] });

    clock.advance(59_000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(hits.bundle).toBe(1);

    clock.advance(1_000);
    await eventually(() => updates.length === 2);
    expect(fingerprints(source.current())).toEqual([fingerprintOf(anchorB)]);
    expect(source.current()?.sequence).toBe(2);
    expect(clock.pending()).toEqual([120_000]);
  });

  it('keeps the last good bundle through failed refreshes, reports them and backs off', async () => {
    const { source, clock, updates, errors } = newSource();
    const first = await source.start();

    served.bundle = {
      status: 500,
      body: '{"type":"about:blank","title":"Internal Server Error","status":500}',
    };
    clock.advance(60_000);
    await eventually(() => errors.length === 1);
    expect(codeOf(errors[0])).toBe('http-status');
    expect(errors[0]?.message).toContain('HTTP 500');
    expect(source.current()).toBe(first);
    expect(clock.pending()).toEqual([10_000]);

    served.bundle = { status: 200, body: '{"keys": [' };
    clock.advance(10_000);
    await eventually(() => errors.length === 2);
    expect(codeOf(errors[1])).toBe('invalid-json');
    expect(source.current()).toBe(first);
    expect(clock.pending()).toEqual([20_000]);

    serveBundle({ spiffe_sequence: 2, spiffe_refresh_hint: 60, keys: [x509Key(anchorB)] });
    clock.advance(20_000);
    await eventually(() => updates.length === 2);
    expect(fingerprints(source.current())).toEqual([fingerprintOf(anchorB)]);
    expect(clock.pending()).toEqual([60_000]);
  });

  it('refuses an empty bundle (fail closed) and keeps the previous anchors', async () => {
    const { source, clock, updates, errors } = newSource();
    const first = await source.start();

    serveBundle({ spiffe_sequence: 2, keys: [] });
    await expect(source.refreshNow()).rejects.toMatchObject({ code: 'no-anchors' });
    expect(source.current()).toBe(first);

    serveBundle({ spiffe_sequence: 3, keys: [jwtKey(anchorB)] });
    clock.advance(10_000);
    await eventually(() => errors.length === 1);
    expect(codeOf(errors[0])).toBe('no-anchors');
    expect(source.current()).toBe(first);
    expect(fingerprints(source.current())).toEqual([fingerprintOf(anchorA)]);
    expect(updates).toHaveLength(1);
  });

  it('refuses a discovery document naming another trust domain', async () => {
    serveDiscovery({ trustDomain: 'elsewhere.example', trustBundleUri: `${origin}/bundle.json` });
    await expect(newSource().source.start()).rejects.toMatchObject({ code: 'trust-domain-mismatch' });
    expect(hits.bundle).toBe(0);

    serveDiscovery({ trustDomain: TRUST_DOMAIN, trustBundleUri: `${origin}/bundle.json` });
    const { source } = newSource();
    const first = await source.start();
    serveDiscovery({ trustDomain: 'elsewhere.example', trustBundleUri: `${origin}/bundle.json` });
    await expect(source.refreshNow()).rejects.toBeInstanceOf(TrustBundleError);
    expect(source.current()).toBe(first);
  });

  it('refuses a non-https trustBundleUri and a non-https discovery URL', async () => {
    serveDiscovery({ trustDomain: TRUST_DOMAIN, trustBundleUri: `http://127.0.0.1:1/bundle.json` });
    await expect(newSource().source.start()).rejects.toMatchObject({ code: 'insecure-uri' });
    expect(hits.bundle).toBe(0);

    expect(() => newSource({ discoveryUrl: 'http://127.0.0.1/.well-known/margo' })).toThrow(
      /not an https URL/,
    );
  });

  it('rejects start() when the first fetch fails, then keeps retrying in the background', async () => {
    served.discovery = { status: 404, body: '{"type":"about:blank","title":"Not Found","status":404}' };
    const { source, clock, updates } = newSource();

    await expect(source.start()).rejects.toThrow(/\/\.well-known\/margo answered HTTP 404/);
    expect(source.current()).toBeUndefined();
    expect(clock.pending()).toEqual([10_000]);

    serveDiscovery({ trustDomain: TRUST_DOMAIN, trustBundleUri: `${origin}/bundle.json` });
    clock.advance(10_000);
    await eventually(() => updates.length === 1);
    expect(fingerprints(source.current())).toEqual([fingerprintOf(anchorA)]);
  });

  it('does not trust the MIS server without the configured CA', async () => {
    const { source } = newSource({ ca: undefined });
    await expect(source.start()).rejects.toMatchObject({ code: 'network' });
    expect(hits.discovery).toBe(0);
  });

  it('rejects a bundle with a lower spiffe_sequence', async () => {
    serveBundle({ spiffe_sequence: 5, keys: [x509Key(anchorA)] });
    const { source } = newSource();
    const first = await source.start();

    serveBundle({ spiffe_sequence: 4, keys: [x509Key(anchorB)] });
    await expect(source.refreshNow()).rejects.toMatchObject({ code: 'stale-sequence' });
    expect(source.current()).toBe(first);
  });

  it('skips and reports invalid anchor entries, keeping the valid ones', async () => {
    const mismatched = { ...x509Key(anchorA), x5c: [der64(anchorB)] };
    serveBundle({
      keys: [
        x509Key(anchorA),
        x509Key(anchorA),
        { use: 'x509-svid', x5c: [der64(leaf)] },
        { use: 'x509-svid', x5c: [der64(anchorA), der64(anchorB)] },
        { use: 'x509-svid', x5c: ['bm90IGEgY2VydGlmaWNhdGU='] },
        mismatched,
      ],
    });
    const { source, errors } = newSource();

    const bundle = await source.start();

    expect(fingerprints(bundle)).toEqual([fingerprintOf(anchorA)]);
    expect(errors.map(codeOf)).toEqual([
      'invalid-anchor',
      'invalid-anchor',
      'invalid-anchor',
      'invalid-anchor',
    ]);
    expect(errors.map((error) => error.message)).toEqual([
      expect.stringContaining('keys[2]: certificate is not a CA'),
      expect.stringContaining('keys[3]: x5c must hold exactly one certificate'),
      expect.stringContaining('keys[4]: x5c[0] is not an X.509 certificate'),
      expect.stringContaining('keys[5]: key parameters do not match'),
    ]);
  });

  it('clamps the refresh hint and falls back to the default without one', async () => {
    serveBundle({ spiffe_refresh_hint: 1, keys: [x509Key(anchorA)] });
    const { source, clock } = newSource();
    await source.start();
    expect(clock.pending()).toEqual([30_000]);

    serveBundle({ spiffe_refresh_hint: 10_000_000, keys: [x509Key(anchorA)] });
    await source.refreshNow();
    expect(clock.pending()).toEqual([86_400_000]);

    serveBundle({ keys: [x509Key(anchorA)] });
    await source.refreshNow();
    expect(clock.pending()).toEqual([300_000]);

    source.stop();
    expect(clock.pending()).toEqual([]);
  });
});
