import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { compileIdPattern } from '../common/id-pattern.js';

/**
 * The service's configuration: read from the environment once, at boot, validated as a whole (every
 * bad key is reported in one error), and shaped into a read-only object injected as APP_CONFIG.
 * Nothing outside src/config reads process.env.
 */
export const APP_CONFIG = Symbol('APP_CONFIG');

export type OnboardingMode = 'auto' | 'approval' | 'preauthorized';
export type LogFormat = 'json' | 'pretty';
export type LogLevel = 'error' | 'warn' | 'log' | 'debug' | 'verbose';

export interface AppConfig {
  readonly http: {
    readonly host: string;
    readonly port: number;
    /** Plain HTTP instead of TLS: only for tests behind a TLS-terminating proxy. Never the default. */
    readonly plainHttp: boolean;
    readonly corsOrigins: readonly string[];
    readonly bodyLimitBytes: number;
    /**
     * The authorities (host[:port]) devices address this WFM by; a legacy signature's
     * `@authority`/`@target-uri` must name one of them. An entry without a port matches any port.
     */
    readonly publicHosts: readonly PublicHost[];
    /** False when publicHosts are the defaults (the server certificate's names are then added). */
    readonly publicHostsConfigured: boolean;

    /** Time a client has to send the request line and all header fields, from the connection's start. */
    readonly headersTimeoutMs: number;
    /** Time a client has to send a whole request (headers and body); not a bound on the answer. */
    readonly requestTimeoutMs: number;
    /** Time an idle keep-alive connection stays open after an answer. */
    readonly idleTimeoutMs: number;
    /** Time a client has to complete the TLS handshake after connecting. */
    readonly handshakeTimeoutMs: number;
  };
  readonly database: { readonly url: string; readonly poolSize: number; readonly migrateOnStart: boolean };
  readonly redis: { readonly url: string };
  readonly queue: {
    readonly prefix: string;
    /** Jobs of the recompute queue one worker process runs at once. */
    readonly workerConcurrency: number;
  };
  readonly dataDir: string;
  readonly identity: {
    readonly trustDomain: string;
    readonly wfmId: string;
    /** spiffe://<trust-domain>/margo/wfm/<wfm-id> */
    readonly spiffeId: string;
  };
  readonly tls: {
    readonly certFile?: string;
    readonly keyFile?: string;
    readonly trustBundleFile?: string;
    /** A Margo `/.well-known/margo` discovery document whose SPIFFE bundle supplies the anchors. */
    readonly trustBundleUrl?: string;
    /** PEM anchors to verify the trust-bundle server's own certificate (default: Node's CAs). */
    readonly trustBundleUrlCaFile?: string;
    /** Upper bound of a TLS session / ticket, in seconds. */
    readonly sessionLifetimeSeconds: number;
    /** CIDRs of TLS-offloading proxies whose RFC 9440 Client-Cert header is honoured. */
    readonly trustedProxies: readonly string[];
  };
  readonly auth: {
    readonly adminToken?: string;
    readonly onboardingMode: OnboardingMode;
    /** Accepted clock skew of RFC 9421 `created`, in seconds (D19). */
    readonly signatureMaxSkewSeconds: number;
    /** Operator sign-in with OIDC bearer tokens (issue 17); absent when WFM_OIDC_ISSUER is unset. */
    readonly oidc?: OidcConfig;
  };
  /** The audit log of operator changes (issue 17). */
  readonly audit: {
    /** Entries older than this many days are purged by the worker; 0 keeps them forever. */
    readonly retentionDays: number;
  };
  readonly capabilities: {
    /** Quiet period before a device's recomputation runs; reports within it collapse into one job. */
    readonly recomputeDebounceMs: number;
    /** How often the sweeper re-enqueues devices whose last change was not recomputed. */
    readonly sweepIntervalSeconds: number;
    /** History entries kept per device. */
    readonly historyLimit: number;
  };
  /** Group commit of device status reports (issue 15): many reports per transaction. */
  readonly status: {
    /** Reports written in one transaction at most. */
    readonly batchMax: number;
    /** How long the first report of a batch waits for others before the batch is written (0: next tick). */
    readonly batchMs: number;
    /** Reports accepted but not yet answered at most; beyond it a report is answered 503 with Retry-After. */
    readonly queueMax: number;
    /** Batches written at once (each holds one pool connection while it runs). */
    readonly writers: number;
  };
  /** Staged rollouts (issue 16). */
  readonly rollouts: {
    /** How often the worker looks at every progressing rollout (time, gates), in ms. */
    readonly tickMs: number;
  };
  readonly manifests: {
    /** D3: digests referenced by one of a client's last N manifests stay downloadable … */
    readonly retainManifests: number;
    /** `WFM_DOCUMENT_CACHE_MB`: in-memory cache of digest-addressed YAML and bundles per API process. */
    readonly documentCacheBytes: number;
    /** … and so do those of any manifest issued in the last N days. */
    readonly retainDays: number;
  };
  readonly rateLimit: {
    /** Sustained device requests per minute per client; 0 disables the limit. */
    readonly perMinute: number;
    /** Requests a client may send at once above the sustained rate. */
    readonly burst: number;
    /** Failed authentications per minute (and at once) per source address before 429; 0 disables. */
    readonly authFailuresPerMinute: number;
  };
  /** Unauthenticated legacy onboarding (`POST /api/v1/onboarding`), issue #13 finding 2. */
  readonly onboarding: {
    /** Sustained onboarding requests per minute per source address; 0 disables the limit. */
    readonly perMinute: number;
    /** Onboarding requests one address may send at once above the sustained rate. */
    readonly burst: number;
    /** Pending (awaiting approval) onboarding requests at most; 0 means no cap. */
    readonly pendingMax: number;
  };
  /** rc.3 enrollment requests (issue 17 item 4): unaccepted but valid SVIDs, recorded for operators. */
  readonly enrollment: {
    /** WFM_ENROLLMENT_AUTO_ACCEPT: client ids (globs or /regex/) accepted at their first request. */
    readonly autoAccept?: string;
    /** Pending requests kept at most (all client ids); requests from further certificates are not recorded. */
    readonly requestsMax: number;
    /** Requests (certificates) kept per client id at most, in any state. */
    readonly requestsPerClient: number;
    /** How often the coalesced requests are written (one statement per flush). */
    readonly flushMs: number;
  };
  readonly roles: { readonly api: boolean; readonly worker: boolean };
  readonly log: { readonly format: LogFormat; readonly level: LogLevel };
  /** Operator-facing packaging and first-run settings. */
  readonly devTls: {
    /** Extra DNS names and IP addresses in the development server certificate. */
    readonly extraDnsNames: readonly string[];
    readonly extraIps: readonly string[];
  };
  readonly metrics: {
    /** When set, `/metrics` demands `Authorization: Bearer <token>`. */
    readonly token?: string;
  };
}

export type OidcRole = 'admin' | 'operator' | 'viewer';

/** WFM_OIDC_*: which issuer's tokens are accepted and how their claims become a role and a scope. */
export interface OidcConfig {
  /** The `iss` every token must carry; discovery is `<issuer>/.well-known/openid-configuration`. */
  readonly issuer: string;
  /** An `aud` value every token must contain. */
  readonly audience: string;
  /** The claim holding the caller's groups or roles (a dotted path such as `realm_access.roles`). */
  readonly roleClaim: string;
  /** Claim value → role, in the order given; `*` (value) matches every token. The highest role wins. */
  readonly roleMap: readonly { readonly value: string; readonly role: OidcRole }[];
  /** The claim holding a label scope (`site=DE-001`), if scopes come from the issuer. */
  readonly scopeClaim?: string;
  /** Allowed clock difference for `exp`/`nbf`/`iat`, in seconds. */
  readonly clockSkewSeconds: number;
  /** Timeout of one discovery or JWKS fetch. */
  readonly fetchTimeoutMs: number;
  /** At most one JWKS refetch for an unknown `kid` per this many seconds. */
  readonly jwksCooldownSeconds: number;
}

/** One of the WFM's own names (WFM_PUBLIC_HOSTS): a lower-case DNS name or IP address, optionally a port. */
export interface PublicHost {
  readonly host: string;
  readonly port?: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** Segment charset of SPIFFE path segments (wfm-identity-profile: letters, digits, dots, dashes, underscores). */
const SEGMENT = /^[A-Za-z0-9._-]+$/;
const TRUST_DOMAIN = /^[a-z0-9._-]+$/;
const ROLES = ['api', 'worker'] as const;
/** A DNS name for a certificate SAN: dot-separated labels, optionally a leading `*.` wildcard. */
const DNS_NAME =
  /^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'log', 'debug', 'verbose'];

type Env = Record<string, string | undefined>;

/** Reads one key; an empty string counts as unset. */
function get(env: Env, key: string): string | undefined {
  const value = env[key]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function parseInteger(
  env: Env,
  key: string,
  fallback: number,
  min: number,
  max: number,
  problems: string[],
): number {
  const raw = get(env, key);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    problems.push(`${key}=${JSON.stringify(raw)}: must be a whole number from ${min} to ${max}`);
    return fallback;
  }
  return Number(raw);
}

/**
 * WFM_PUBLIC_HOSTS (comma list of host[:port], `[v6]:port` for IPv6 with a port); default: localhost,
 * 127.0.0.1, ::1, the WFM_TLS_SANS names and addresses, the machine's host name and WFM_HOST when it
 * is a specific address.
 */
function parsePublicHosts(
  env: Env,
  bindHost: string,
  extraDnsNames: readonly string[],
  extraIps: readonly string[],
  problems: string[],
): PublicHost[] {
  const raw = get(env, 'WFM_PUBLIC_HOSTS');
  if (raw === undefined) {
    const names = ['localhost', '127.0.0.1', '::1', ...extraDnsNames, ...extraIps, hostname().toLowerCase()];
    if (!['0.0.0.0', '::'].includes(bindHost)) names.push(bindHost.toLowerCase());
    return [...new Set(names)].map((host) => ({ host }));
  }
  const entries: PublicHost[] = [];
  for (const part of raw.split(',')) {
    const entry = part.trim();
    if (entry === '') continue;
    const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(entry);
    const [host, port] = bracketed
      ? [bracketed[1], bracketed[2]]
      : isIP(entry) === 6
        ? [entry, undefined]
        : (entry.split(/:(?=\d{1,5}$)/) as [string, string | undefined]);
    const validHost = bracketed ? isIP(host) === 6 : isIP(host) !== 0 || DNS_NAME.test(host);
    const portNumber = port === undefined ? undefined : Number(port);
    if (
      !validHost ||
      host.startsWith('*') ||
      (portNumber !== undefined && (portNumber < 1 || portNumber > 65_535))
    ) {
      problems.push(
        `WFM_PUBLIC_HOSTS: ${JSON.stringify(entry)} is not a host name or IP address with an optional :port`,
      );
      continue;
    }
    entries.push(
      portNumber === undefined
        ? { host: host.toLowerCase() }
        : { host: host.toLowerCase(), port: portNumber },
    );
  }
  if (entries.length === 0) problems.push('WFM_PUBLIC_HOSTS: names no host');
  return entries;
}

function parseBoolean(env: Env, key: string, fallback: boolean, problems: string[]): boolean {
  const raw = get(env, key)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  problems.push(`${key}=${JSON.stringify(raw)}: must be true or false`);
  return fallback;
}

function parseUrl(env: Env, key: string, fallback: string, protocols: string[], problems: string[]): string {
  const raw = get(env, key) ?? fallback;
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (!url || !protocols.includes(url.protocol.replace(/:$/, '')) || !url.hostname) {
    problems.push(
      `${key}=${JSON.stringify(redactUrl(raw))}: must be a URL of the form ${protocols[0]}://host[:port]/…`,
    );
  }
  return raw;
}

function parseEnum<T extends string>(
  env: Env,
  key: string,
  fallback: T,
  allowed: readonly T[],
  problems: string[],
): T {
  const raw = get(env, key);
  if (raw === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    problems.push(`${key}=${JSON.stringify(raw)}: must be one of ${allowed.join(', ')}`);
    return fallback;
  }
  return raw as T;
}

function parseFile(env: Env, key: string, problems: string[]): string | undefined {
  const raw = get(env, key);
  if (raw === undefined) return undefined;
  const path = isAbsolute(raw) ? raw : resolve(raw);
  if (!existsSync(path)) problems.push(`${key}=${JSON.stringify(raw)}: file does not exist`);
  return path;
}

/** Hides the password of a connection URL, for messages and logs. */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return raw.replace(/\/\/([^:/@]+):[^@/]*@/, '//$1:***@');
  }
}

export function loadConfig(env: Env = process.env): AppConfig {
  const problems: string[] = [];

  const port = parseInteger(env, 'PORT', 8443, 0, 65535, problems);
  const host = get(env, 'WFM_HOST') ?? '0.0.0.0';
  const plainHttp = parseBoolean(env, 'WFM_HTTP_ONLY', false, problems);
  const databaseUrl = parseUrl(
    env,
    'DATABASE_URL',
    'postgresql://postgres@127.0.0.1:5432/wfm',
    ['postgresql', 'postgres'],
    problems,
  );
  const poolSize = parseInteger(env, 'WFM_DB_POOL_SIZE', 10, 1, 500, problems);
  const migrateOnStart = parseBoolean(env, 'WFM_MIGRATE_ON_START', true, problems);
  const redisUrl = parseUrl(env, 'REDIS_URL', 'redis://127.0.0.1:6379', ['redis', 'rediss'], problems);
  const queuePrefix = get(env, 'WFM_QUEUE_PREFIX') ?? 'wfm';
  if (!/^[A-Za-z0-9_-]+$/.test(queuePrefix)) {
    problems.push(`WFM_QUEUE_PREFIX=${JSON.stringify(queuePrefix)}: letters, digits, _ and - only`);
  }
  const dataDir = resolve(get(env, 'WFM_DATA_DIR') ?? './.data');

  const trustDomain = get(env, 'WFM_TRUST_DOMAIN') ?? 'wfm.local';
  if (!TRUST_DOMAIN.test(trustDomain)) {
    problems.push(
      `WFM_TRUST_DOMAIN=${JSON.stringify(trustDomain)}: a SPIFFE trust domain (lowercase letters, digits, '.', '-', '_')`,
    );
  }
  const wfmId = get(env, 'WFM_ID') ?? 'wfm-1';
  if (!SEGMENT.test(wfmId) || wfmId === '.' || wfmId === '..') {
    problems.push(`WFM_ID=${JSON.stringify(wfmId)}: letters, digits, '.', '-' and '_' only`);
  }

  const certFile = parseFile(env, 'WFM_TLS_CERT_FILE', problems);
  const keyFile = parseFile(env, 'WFM_TLS_KEY_FILE', problems);
  if ((certFile === undefined) !== (keyFile === undefined)) {
    problems.push('WFM_TLS_CERT_FILE and WFM_TLS_KEY_FILE: set both or neither');
  }
  const trustBundleFile = parseFile(env, 'WFM_TRUST_BUNDLE_FILE', problems);
  const trustBundleUrl = get(env, 'WFM_TRUST_BUNDLE_URL');
  if (trustBundleUrl !== undefined) {
    parseUrl(env, 'WFM_TRUST_BUNDLE_URL', trustBundleUrl, ['https'], problems);
  }
  const trustBundleUrlCaFile = parseFile(env, 'WFM_TRUST_BUNDLE_URL_CA_FILE', problems);
  if (trustBundleUrl !== undefined && trustBundleFile !== undefined) {
    problems.push('WFM_TRUST_BUNDLE_URL and WFM_TRUST_BUNDLE_FILE: set one or the other');
  }
  const sessionLifetimeSeconds = parseInteger(env, 'WFM_TLS_SESSION_LIFETIME', 3600, 60, 86_400, problems);
  const trustedProxies = (get(env, 'WFM_TRUSTED_PROXIES') ?? '')
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '');
  for (const cidr of trustedProxies) {
    if (!isCidr(cidr)) {
      problems.push(`WFM_TRUSTED_PROXIES: ${JSON.stringify(cidr)} is not an IP address or CIDR`);
    }
  }
  const signatureMaxSkewSeconds = parseInteger(env, 'WFM_SIGNATURE_MAX_SKEW', 300, 1, 3600, problems);
  const recomputeDebounceMs = parseInteger(env, 'WFM_RECOMPUTE_DEBOUNCE_MS', 100, 0, 60_000, problems);
  const workerConcurrency = parseInteger(env, 'WFM_WORKER_CONCURRENCY', 8, 1, 64, problems);
  const sweepIntervalSeconds = parseInteger(env, 'WFM_RECOMPUTE_SWEEP_SECONDS', 10, 1, 3600, problems);
  const historyLimit = parseInteger(env, 'WFM_CAPABILITY_HISTORY_LIMIT', 100, 1, 100_000, problems);
  const statusBatchMax = parseInteger(env, 'WFM_STATUS_BATCH_MAX', 256, 1, 10_000, problems);
  const statusBatchMs = parseInteger(env, 'WFM_STATUS_BATCH_MS', 2, 0, 1000, problems);
  const statusQueueMax = parseInteger(env, 'WFM_STATUS_QUEUE_MAX', 10_000, 1, 1_000_000, problems);
  const statusWriters = parseInteger(env, 'WFM_STATUS_BATCH_WRITERS', 2, 1, 64, problems);
  const rolloutTickMs = parseInteger(env, 'WFM_ROLLOUT_TICK_MS', 5_000, 100, 600_000, problems);
  const retainManifests = parseInteger(env, 'WFM_DIGEST_RETENTION_MANIFESTS', 3, 1, 1000, problems);
  const documentCacheMb = parseInteger(env, 'WFM_DOCUMENT_CACHE_MB', 64, 0, 65536, problems);
  const retainDays = parseInteger(env, 'WFM_DIGEST_RETENTION_DAYS', 7, 0, 3650, problems);
  const rateLimitPerMinute = parseInteger(env, 'WFM_RATE_LIMIT_PER_MINUTE', 600, 0, 10_000_000, problems);
  const rateLimitBurst = parseInteger(env, 'WFM_RATE_LIMIT_BURST', 60, 1, 10_000_000, problems);
  const authFailuresPerMinute = parseInteger(env, 'WFM_AUTH_FAILURES_PER_MINUTE', 30, 0, 1_000_000, problems);

  const onboardingPerMinute = parseInteger(env, 'WFM_ONBOARDING_PER_MINUTE', 60, 0, 1_000_000, problems);
  const onboardingBurst = parseInteger(env, 'WFM_ONBOARDING_BURST', 60, 1, 1_000_000, problems);
  const onboardingPendingMax = parseInteger(env, 'WFM_ONBOARDING_PENDING_MAX', 1000, 0, 10_000_000, problems);

  const autoAccept = get(env, 'WFM_ENROLLMENT_AUTO_ACCEPT');
  if (autoAccept !== undefined) {
    const pattern = compileIdPattern(autoAccept);
    if (!pattern.ok) problems.push(`WFM_ENROLLMENT_AUTO_ACCEPT ${pattern.reason}`);
  }
  const enrollmentRequestsMax = parseInteger(
    env,
    'WFM_ENROLLMENT_REQUESTS_MAX',
    10_000,
    0,
    10_000_000,
    problems,
  );
  const enrollmentRequestsPerClient = parseInteger(
    env,
    'WFM_ENROLLMENT_REQUESTS_PER_CLIENT',
    4,
    1,
    1000,
    problems,
  );
  const enrollmentFlushMs = parseInteger(env, 'WFM_ENROLLMENT_REQUESTS_FLUSH_MS', 1000, 10, 60_000, problems);
  const adminToken = get(env, 'WFM_ADMIN_TOKEN');
  if (adminToken !== undefined && (adminToken.length < 16 || /\s/.test(adminToken))) {
    problems.push('WFM_ADMIN_TOKEN: at least 16 characters, no white space');
  }
  const oidc = parseOidc(env, problems);
  const auditRetentionDays = parseInteger(env, 'WFM_AUDIT_RETENTION_DAYS', 365, 0, 36_500, problems);
  const onboardingMode = parseEnum<OnboardingMode>(
    env,
    'WFM_ONBOARDING_MODE',
    'approval',
    ['auto', 'approval', 'preauthorized'],
    problems,
  );

  const corsOrigins = (get(env, 'WFM_CORS_ORIGINS') ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter((o) => o !== '');
  for (const origin of corsOrigins) {
    let valid = origin === '*';
    if (!valid) {
      try {
        const url = new URL(origin);
        valid = ['http:', 'https:'].includes(url.protocol) && url.origin === origin;
      } catch {
        valid = false;
      }
    }
    if (!valid) {
      problems.push(
        `WFM_CORS_ORIGINS: ${JSON.stringify(origin)} is not an origin (scheme://host[:port], no path) or *`,
      );
    }
  }

  const roleList = (get(env, 'WFM_ROLES') ?? 'api,worker').split(',').map((r) => r.trim());
  const unknownRoles = roleList.filter((r) => !(ROLES as readonly string[]).includes(r));
  if (unknownRoles.length > 0 || roleList.every((r) => r === '')) {
    problems.push(`WFM_ROLES=${JSON.stringify(roleList.join(','))}: a comma list of api, worker`);
  }

  const logFormat = parseEnum<LogFormat>(
    env,
    'WFM_LOG_FORMAT',
    env.NODE_ENV === 'production' ? 'json' : 'pretty',
    ['json', 'pretty'],
    problems,
  );
  const logLevel = parseEnum<LogLevel>(env, 'WFM_LOG_LEVEL', 'log', LOG_LEVELS, problems);

  // packaging and first-run settings
  const extraDnsNames: string[] = [];
  const extraIps: string[] = [];
  for (const entry of (get(env, 'WFM_TLS_SANS') ?? '').split(',')) {
    const san = entry.trim();
    if (san === '') continue;
    const unbracketed = san.replace(/^\[(.*)\]$/, '$1');
    if (isIP(unbracketed) !== 0) extraIps.push(unbracketed);
    else if (DNS_NAME.test(san)) extraDnsNames.push(san.toLowerCase());
    else problems.push(`WFM_TLS_SANS: ${JSON.stringify(san)} is neither a DNS name nor an IP address`);
  }
  const publicHosts = parsePublicHosts(env, host, extraDnsNames, extraIps, problems);

  // connection timeouts (docs/decisions.md, "Connection timeouts"); low minimums so tests can use them
  const headersTimeoutMs = parseInteger(env, 'WFM_HEADERS_TIMEOUT_MS', 10_000, 100, 600_000, problems);
  const requestTimeoutMs = parseInteger(env, 'WFM_REQUEST_TIMEOUT_MS', 30_000, 100, 3_600_000, problems);
  const idleTimeoutMs = parseInteger(env, 'WFM_IDLE_TIMEOUT_MS', 65_000, 100, 3_600_000, problems);
  const handshakeTimeoutMs = parseInteger(env, 'WFM_HANDSHAKE_TIMEOUT_MS', 10_000, 100, 600_000, problems);
  if (headersTimeoutMs > requestTimeoutMs) {
    problems.push('WFM_HEADERS_TIMEOUT_MS: must not exceed WFM_REQUEST_TIMEOUT_MS');
  }
  const metricsToken = get(env, 'WFM_METRICS_TOKEN');
  if (metricsToken !== undefined && (metricsToken.length < 16 || /\s/.test(metricsToken))) {
    problems.push('WFM_METRICS_TOKEN: at least 16 characters, no white space');
  }

  if (problems.length > 0) throw new ConfigError(problems);

  return deepFreeze({
    http: {
      host,
      port,
      plainHttp,
      corsOrigins,
      bodyLimitBytes: 1024 * 1024,
      publicHosts,
      publicHostsConfigured: get(env, 'WFM_PUBLIC_HOSTS') !== undefined,

      headersTimeoutMs,
      requestTimeoutMs,
      idleTimeoutMs,
      handshakeTimeoutMs,
    },
    database: { url: databaseUrl, poolSize, migrateOnStart },
    redis: { url: redisUrl },
    queue: { prefix: queuePrefix, workerConcurrency },
    dataDir,
    identity: { trustDomain, wfmId, spiffeId: `spiffe://${trustDomain}/margo/wfm/${wfmId}` },
    tls: {
      certFile,
      keyFile,
      trustBundleFile,
      trustBundleUrl,
      trustBundleUrlCaFile,
      sessionLifetimeSeconds,
      trustedProxies,
    },
    auth: { adminToken, onboardingMode, signatureMaxSkewSeconds, ...(oidc ? { oidc } : {}) },
    audit: { retentionDays: auditRetentionDays },
    capabilities: { recomputeDebounceMs, sweepIntervalSeconds, historyLimit },
    status: {
      batchMax: statusBatchMax,
      batchMs: statusBatchMs,
      queueMax: statusQueueMax,
      writers: statusWriters,
    },
    rollouts: { tickMs: rolloutTickMs },
    manifests: { retainManifests, retainDays, documentCacheBytes: documentCacheMb * 1024 * 1024 },
    rateLimit: { perMinute: rateLimitPerMinute, burst: rateLimitBurst, authFailuresPerMinute },
    onboarding: {
      perMinute: onboardingPerMinute,
      burst: onboardingBurst,
      pendingMax: onboardingPendingMax,
    },
    enrollment: {
      autoAccept,
      requestsMax: enrollmentRequestsMax,
      requestsPerClient: enrollmentRequestsPerClient,
      flushMs: enrollmentFlushMs,
    },
    roles: { api: roleList.includes('api'), worker: roleList.includes('worker') },
    log: { format: logFormat, level: logLevel },
    devTls: { extraDnsNames, extraIps },
    metrics: { token: metricsToken },
  });
}

const OIDC_ROLES: readonly OidcRole[] = ['admin', 'operator', 'viewer'];
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** WFM_OIDC_*: undefined when WFM_OIDC_ISSUER is unset (then the other keys must be unset too). */
function parseOidc(env: Env, problems: string[]): OidcConfig | undefined {
  const issuer = get(env, 'WFM_OIDC_ISSUER');
  const keys = [
    'WFM_OIDC_AUDIENCE',
    'WFM_OIDC_ROLE_CLAIM',
    'WFM_OIDC_ROLE_MAP',
    'WFM_OIDC_SCOPE_CLAIM',
    'WFM_OIDC_CLOCK_SKEW',
    'WFM_OIDC_FETCH_TIMEOUT_MS',
    'WFM_OIDC_JWKS_COOLDOWN',
  ];
  if (issuer === undefined) {
    const stray = keys.filter((key) => get(env, key) !== undefined);
    if (stray.length > 0) problems.push(`${stray.join(', ')}: need WFM_OIDC_ISSUER`);
    return undefined;
  }
  let url: URL | undefined;
  try {
    url = new URL(issuer);
  } catch {
    url = undefined;
  }
  // https, except on loopback (a local test issuer); no query or fragment (OIDC Discovery §2)
  if (
    !url ||
    !(url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))) ||
    url.search !== '' ||
    url.hash !== ''
  ) {
    problems.push(
      `WFM_OIDC_ISSUER=${JSON.stringify(issuer)}: an https:// URL without query or fragment (http:// only on loopback)`,
    );
  }
  const audience = get(env, 'WFM_OIDC_AUDIENCE');
  if (audience === undefined) problems.push('WFM_OIDC_AUDIENCE: required with WFM_OIDC_ISSUER');
  const roleClaim = get(env, 'WFM_OIDC_ROLE_CLAIM') ?? 'roles';
  const roleMap: { value: string; role: OidcRole }[] = [];
  const rawMap = get(env, 'WFM_OIDC_ROLE_MAP') ?? 'wfm-admin=admin,wfm-operator=operator,wfm-viewer=viewer';
  for (const part of rawMap.split(',')) {
    const entry = part.trim();
    if (entry === '') continue;
    const at = entry.lastIndexOf('=');
    const value = entry.slice(0, at).trim();
    const role = entry.slice(at + 1).trim() as OidcRole;
    if (at <= 0 || value === '' || !OIDC_ROLES.includes(role)) {
      problems.push(
        `WFM_OIDC_ROLE_MAP: ${JSON.stringify(entry)} is not <claim value>=admin|operator|viewer (or *=<role>)`,
      );
      continue;
    }
    roleMap.push({ value, role });
  }
  if (roleMap.length === 0) problems.push('WFM_OIDC_ROLE_MAP: maps no claim value to a role');
  const scopeClaim = get(env, 'WFM_OIDC_SCOPE_CLAIM');
  for (const [key, value] of [
    ['WFM_OIDC_ROLE_CLAIM', roleClaim],
    ['WFM_OIDC_SCOPE_CLAIM', scopeClaim],
  ] as const) {
    if (value !== undefined && !/^[A-Za-z0-9_:/.-]+$/.test(value)) {
      problems.push(`${key}=${JSON.stringify(value)}: a claim name or dotted path`);
    }
  }
  return {
    issuer,
    audience: audience ?? '',
    roleClaim,
    roleMap,
    ...(scopeClaim !== undefined ? { scopeClaim } : {}),
    clockSkewSeconds: parseInteger(env, 'WFM_OIDC_CLOCK_SKEW', 60, 0, 600, problems),
    fetchTimeoutMs: parseInteger(env, 'WFM_OIDC_FETCH_TIMEOUT_MS', 5_000, 100, 60_000, problems),
    jwksCooldownSeconds: parseInteger(env, 'WFM_OIDC_JWKS_COOLDOWN', 30, 0, 3600, problems),
  };
}

function isCidr(value: string): boolean {
  const [address, bits, extra] = value.split('/');
  if (extra !== undefined || address === undefined) return false;
  const family = isIP(address);
  if (family === 0) return false;
  if (bits === undefined) return true;
  return /^\d+$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
