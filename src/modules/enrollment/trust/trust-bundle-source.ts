import { X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import https from 'node:https';
import { isObject, type JsonObject } from '../../../common/json/json-reader.js';

/**
 * Client for the Margo Trust Bundle API (rc.3, served by the MIS role): follows the discovery document at
 * `/.well-known/margo` to the Trust Domain's SPIFFE bundle and keeps its X.509 anchors fresh.
 *
 * Verifier rules (spec §3.1): fail closed on a bundle without x509-svid anchors, keep the last good bundle
 * until a new one is accepted, replace (never merge) anchors, ignore `jwt-svid` keys, refresh at
 * `spiffe_refresh_hint` regardless of HTTP caching, reject a non-https `trustBundleUri`.
 */

/** An accepted SPIFFE bundle, reduced to what an X.509 verifier needs. */
export interface TrustBundle {
  trustDomain: string;
  /** One PEM certificate per anchor, in bundle order, without duplicates. */
  anchorsPem: string[];
  sequence?: number;
  refreshHintSeconds?: number;
  fetchedAt: Date;
  /** The absolute `trustBundleUri` the bundle was read from. */
  sourceUri: string;
}

/** Time source and timers for the refresh schedule (HTTP timeouts always use real timers). */
export interface TrustBundleClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface TrustBundleSourceOptions {
  /** The MIS discovery document, e.g. `https://mis.example.com/.well-known/margo`. Must be https. */
  discoveryUrl: string;
  expectedTrustDomain: string;
  /** PEM anchors that authenticate the MIS server's TLS certificate; default: Node's default CAs. */
  ca?: string;
  minRefreshSeconds?: number;
  maxRefreshSeconds?: number;
  /** Refresh interval when the bundle carries no `spiffe_refresh_hint`. */
  defaultRefreshSeconds?: number;
  /** First retry delay after a failure; doubles per consecutive failure up to `maxRefreshSeconds`. */
  retrySeconds?: number;
  /** Bound on each HTTP request, connection to last byte. */
  timeoutMs?: number;
  clock?: TrustBundleClock;
  /** Called for every accepted bundle, including the first one. */
  onUpdate: (bundle: TrustBundle) => void;
  /** Background refresh failures and skipped (invalid) anchor entries. */
  onError?: (error: Error) => void;
}

export type TrustBundleErrorCode =
  | 'network'
  | 'timeout'
  | 'http-status'
  | 'invalid-json'
  | 'malformed'
  | 'insecure-uri'
  | 'trust-domain-mismatch'
  | 'invalid-anchor'
  | 'no-anchors'
  | 'stale-sequence'
  | 'stopped';

/** Every failure the source reports carries a machine-readable code. */
export class TrustBundleError extends Error {
  override readonly name = 'TrustBundleError';

  constructor(
    readonly code: TrustBundleErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const MAX_BODY_BYTES = 1024 * 1024;
const MAX_TIMER_MS = 2_147_483_647;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const JWK_KEY_FIELDS = ['kty', 'crv', 'x', 'y', 'n', 'e'] as const;

const realClock: TrustBundleClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

interface ParsedBundle {
  anchorsPem: string[];
  sequence?: number;
  refreshHintSeconds?: number;
  skipped: TrustBundleError[];
}

export class TrustBundleSource {
  private readonly discoveryUrl: URL;
  private readonly minRefresh: number;
  private readonly maxRefresh: number;
  private readonly defaultRefresh: number;
  private readonly retry: number;
  private readonly timeoutMs: number;
  private readonly clock: TrustBundleClock;
  private last?: TrustBundle;
  private running = false;
  private generation = 0;
  private failures = 0;
  private timer?: unknown;
  private inFlight?: Promise<TrustBundle>;
  private abort?: AbortController;

  constructor(private readonly options: TrustBundleSourceOptions) {
    this.discoveryUrl = httpsUrl(options.discoveryUrl, undefined, 'discoveryUrl');
    if (!options.expectedTrustDomain) throw new Error('expectedTrustDomain must not be empty');
    this.minRefresh = positive(options.minRefreshSeconds ?? 30, 'minRefreshSeconds');
    this.maxRefresh = positive(options.maxRefreshSeconds ?? 86_400, 'maxRefreshSeconds');
    if (this.maxRefresh < this.minRefresh) throw new Error('maxRefreshSeconds must be >= minRefreshSeconds');
    this.defaultRefresh = positive(options.defaultRefreshSeconds ?? 300, 'defaultRefreshSeconds');
    this.retry = positive(options.retrySeconds ?? 10, 'retrySeconds');
    this.timeoutMs = positive(options.timeoutMs ?? 10_000, 'timeoutMs');
    this.clock = options.clock ?? realClock;
  }

  /**
   * Fetches the first bundle and starts the refresh schedule. Rejects when that fetch fails; the source
   * then keeps retrying in the background (reporting through `onError`) until `stop()` is called.
   */
  start(): Promise<TrustBundle> {
    if (this.running) return Promise.reject(new Error('TrustBundleSource is already started'));
    this.running = true;
    return this.refreshNow();
  }

  /** Fetches now (joining a fetch already in flight) and reschedules the next refresh. */
  refreshNow(): Promise<TrustBundle> {
    if (this.inFlight) return this.inFlight;
    const attempt = this.attempt().finally(() => {
      if (this.inFlight === attempt) this.inFlight = undefined;
    });
    this.inFlight = attempt;
    return attempt;
  }

  /** Cancels the schedule and any request in flight. `current()` stays available. */
  stop(): void {
    this.running = false;
    this.generation += 1;
    this.cancelTimer();
    this.abort?.abort();
    this.inFlight = undefined;
  }

  /** The last accepted bundle. */
  current(): TrustBundle | undefined {
    return this.last;
  }

  private async attempt(): Promise<TrustBundle> {
    const generation = this.generation;
    const abort = new AbortController();
    this.abort = abort;
    try {
      const bundle = await this.fetchBundle(abort.signal);
      if (generation !== this.generation) throw stoppedError();
      this.accept(bundle);
      this.failures = 0;
      this.schedule(this.refreshDelaySeconds(bundle));
      return bundle;
    } catch (error) {
      if (generation !== this.generation) throw stoppedError(error);
      this.failures += 1;
      this.schedule(Math.min(this.retry * 2 ** (this.failures - 1), this.maxRefresh));
      throw error;
    }
  }

  private async fetchBundle(signal: AbortSignal): Promise<TrustBundle> {
    const discovery = parseDiscovery(await this.getJson(this.discoveryUrl, signal), this.discoveryUrl);
    if (discovery.trustDomain !== this.options.expectedTrustDomain) {
      throw new TrustBundleError(
        'trust-domain-mismatch',
        `Discovery document ${describe(this.discoveryUrl)} names trust domain ${quote(discovery.trustDomain)}, ` +
          `expected ${quote(this.options.expectedTrustDomain)}`,
      );
    }
    const bundleUrl = httpsUrl(discovery.trustBundleUri, this.discoveryUrl, 'trustBundleUri');
    const parsed = parseBundle(await this.getJson(bundleUrl, signal), bundleUrl);
    parsed.skipped.forEach((error) => this.report(error));
    if (parsed.anchorsPem.length === 0) {
      throw new TrustBundleError(
        'no-anchors',
        `Trust bundle ${describe(bundleUrl)} has no usable x509-svid anchors` +
          (parsed.skipped.length > 0 ? ` (${parsed.skipped.length} invalid entries skipped)` : ''),
      );
    }
    return {
      trustDomain: discovery.trustDomain,
      anchorsPem: parsed.anchorsPem,
      sequence: parsed.sequence,
      refreshHintSeconds: parsed.refreshHintSeconds,
      fetchedAt: new Date(this.clock.now()),
      sourceUri: bundleUrl.href,
    };
  }

  /** Replaces the current bundle unless the new one is older (lower `spiffe_sequence`). */
  private accept(bundle: TrustBundle): void {
    const previous = this.last?.sequence;
    if (previous !== undefined && bundle.sequence !== undefined && bundle.sequence < previous) {
      throw new TrustBundleError(
        'stale-sequence',
        `Trust bundle ${describe(new URL(bundle.sourceUri))} has spiffe_sequence ${bundle.sequence}, older than the current ${previous}`,
      );
    }
    this.last = bundle;
    try {
      this.options.onUpdate(bundle);
    } catch (error) {
      this.report(asError(error));
    }
  }

  private refreshDelaySeconds(bundle: TrustBundle): number {
    const hint = bundle.refreshHintSeconds ?? this.defaultRefresh;
    return Math.min(Math.max(hint, this.minRefresh), this.maxRefresh);
  }

  private schedule(delaySeconds: number): void {
    this.cancelTimer();
    if (!this.running) return;
    const ms = Math.min(Math.round(delaySeconds * 1000), MAX_TIMER_MS);
    this.timer = this.clock.setTimeout(() => this.onTimer(), ms);
  }

  private onTimer(): void {
    this.timer = undefined;
    this.refreshNow().catch((error: unknown) => {
      if (!(error instanceof TrustBundleError && error.code === 'stopped')) this.report(asError(error));
    });
  }

  private cancelTimer(): void {
    if (this.timer === undefined) return;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private report(error: Error): void {
    try {
      this.options.onError?.(error);
    } catch {
      // A throwing error callback must not break the refresh schedule.
    }
  }

  private getJson(url: URL, signal: AbortSignal): Promise<unknown> {
    return httpsGetJson(url, { ca: this.options.ca, timeoutMs: this.timeoutMs, signal });
  }
}

/** GET over https (no redirects, no caching, bounded body and time) and parse the body as JSON. */
function httpsGetJson(
  url: URL,
  options: { ca?: string; timeoutMs: number; signal: AbortSignal },
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const request = https.get(
      url,
      {
        agent: false,
        signal: options.signal,
        headers: { accept: 'application/json', 'cache-control': 'no-cache' },
        ...(options.ca === undefined ? {} : { ca: options.ca }),
      },
      (response) => void readJson(response, url).then(resolve, reject),
    );
    const timer = setTimeout(() => {
      request.destroy(
        new TrustBundleError('timeout', `GET ${describe(url)} timed out after ${options.timeoutMs} ms`),
      );
    }, options.timeoutMs);
    request.on('close', () => clearTimeout(timer));
    request.on('error', (error) => reject(networkError(error, url)));
  });
}

function readJson(response: IncomingMessage, url: URL): Promise<unknown> {
  return new Promise((resolve, reject) => {
    if (response.statusCode !== 200) {
      response.resume();
      reject(
        new TrustBundleError('http-status', `GET ${describe(url)} answered HTTP ${response.statusCode}`),
      );
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    response.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        response.destroy(
          new TrustBundleError('malformed', `GET ${describe(url)}: body exceeds ${MAX_BODY_BYTES} bytes`),
        );
        return;
      }
      chunks.push(chunk);
    });
    response.on('error', (error) => reject(networkError(error, url)));
    response.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch (error) {
        reject(
          new TrustBundleError('invalid-json', `GET ${describe(url)}: body is not JSON`, { cause: error }),
        );
      }
    });
  });
}

function parseDiscovery(body: unknown, url: URL): { trustDomain: string; trustBundleUri: string } {
  if (!isObject(body) || typeof body.trustDomain !== 'string' || typeof body.trustBundleUri !== 'string') {
    throw new TrustBundleError(
      'malformed',
      `Discovery document ${describe(url)} lacks string fields trustDomain and trustBundleUri`,
    );
  }
  return { trustDomain: body.trustDomain, trustBundleUri: body.trustBundleUri };
}

/** Reads a SPIFFE bundle (JWK Set): x509-svid entries become anchors, every other entry is ignored. */
function parseBundle(body: unknown, url: URL): ParsedBundle {
  if (!isObject(body) || !Array.isArray(body.keys)) {
    throw new TrustBundleError(
      'malformed',
      `Trust bundle ${describe(url)} is not a JWK Set with a keys array`,
    );
  }
  const anchors = new Map<string, string>();
  const skipped: TrustBundleError[] = [];
  body.keys.forEach((entry: unknown, index) => {
    if (!isObject(entry) || entry.use !== 'x509-svid') return;
    try {
      const cert = parseAnchor(entry, `Trust bundle ${describe(url)} keys[${index}]`);
      anchors.set(cert.fingerprint256, cert.toString());
    } catch (error) {
      skipped.push(error as TrustBundleError);
    }
  });
  return {
    anchorsPem: [...anchors.values()],
    sequence: optionalCount(body, 'spiffe_sequence', url),
    refreshHintSeconds: optionalCount(body, 'spiffe_refresh_hint', url),
    skipped,
  };
}

/** One x509-svid entry: exactly one CA certificate in `x5c`, matching the entry's key parameters. */
function parseAnchor(entry: JsonObject, where: string): X509Certificate {
  const invalid = (reason: string, cause?: unknown) =>
    new TrustBundleError('invalid-anchor', `${where}: ${reason}`, { cause });
  const x5c = entry.x5c;
  if (!Array.isArray(x5c) || x5c.length !== 1 || typeof x5c[0] !== 'string') {
    throw invalid('x5c must hold exactly one certificate');
  }
  const text = x5c[0];
  if (!BASE64.test(text)) throw invalid('x5c[0] is not base64');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(Buffer.from(text, 'base64'));
  } catch (error) {
    throw invalid('x5c[0] is not an X.509 certificate', error);
  }
  if (!cert.ca) throw invalid('certificate is not a CA');
  if (typeof entry.kty === 'string' && !keyMatches(entry, cert)) {
    throw invalid('key parameters do not match the certificate');
  }
  return cert;
}

function keyMatches(entry: JsonObject, cert: X509Certificate): boolean {
  let jwk: JsonWebKey;
  try {
    jwk = cert.publicKey.export({ format: 'jwk' });
  } catch {
    return false;
  }
  return JWK_KEY_FIELDS.every((field) => jwk[field] === undefined || entry[field] === jwk[field]);
}

function optionalCount(body: JsonObject, field: string, url: URL): number | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new TrustBundleError(
      'malformed',
      `Trust bundle ${describe(url)}: ${field} is not a non-negative integer`,
    );
  }
  return value;
}

/** Parses (relative to `base`) and insists on https. */
function httpsUrl(value: string, base: URL | undefined, name: string): URL {
  let url: URL;
  try {
    url = new URL(value, base);
  } catch (error) {
    throw new TrustBundleError('malformed', `${name} is not a valid URL`, { cause: error });
  }
  if (url.protocol !== 'https:') {
    throw new TrustBundleError('insecure-uri', `${name} ${describe(url)} is not an https URL`);
  }
  return url;
}

/** A URL for messages: never its user info, query or fragment. */
function describe(url: URL): string {
  return url.protocol === 'https:' || url.protocol === 'http:'
    ? `${url.origin}${url.pathname}`
    : url.protocol;
}

/** A server-supplied string for messages: bounded and escaped. */
function quote(value: string): string {
  return JSON.stringify(value.length > 100 ? `${value.slice(0, 100)}…` : value);
}

function networkError(error: Error, url: URL): TrustBundleError {
  if (error instanceof TrustBundleError) return error;
  if (error.name === 'AbortError') return stoppedError(error);
  return new TrustBundleError('network', `GET ${describe(url)} failed: ${error.message}`, { cause: error });
}

function stoppedError(cause?: unknown): TrustBundleError {
  return new TrustBundleError('stopped', 'TrustBundleSource was stopped', { cause });
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
