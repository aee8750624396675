import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, redactUrl } from './config.js';

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig({});
    expect(config.http.port).toBe(8443);
    expect(config.database.url).toBe('postgresql://postgres@127.0.0.1:5432/wfm');
    expect(config.redis.url).toBe('redis://127.0.0.1:6379');
    expect(config.dataDir).toMatch(/\.data$/);
    expect(config.identity).toEqual({
      trustDomain: 'wfm.local',
      wfmId: 'wfm-1',
      spiffeId: 'spiffe://wfm.local/margo/wfm/wfm-1',
    });
    expect(config.auth.onboardingMode).toBe('approval');
    expect(config.onboarding).toEqual({ perMinute: 60, burst: 60, pendingMax: 1000 });
    expect(config.roles).toEqual({ api: true, worker: true });
    expect(config.http.plainHttp).toBe(false);
    expect(Object.isFrozen(config.http)).toBe(true);
  });

  it('WFM_PUBLIC_HOSTS: defaults to the loopback names, WFM_TLS_SANS and the host name; an explicit list replaces them', () => {
    const hosts = loadConfig({ WFM_TLS_SANS: 'WFM.lan,192.168.1.20' }).http.publicHosts.map((h) => h.host);
    expect(hosts).toEqual(
      expect.arrayContaining([
        'localhost',
        '127.0.0.1',
        '::1',
        'wfm.lan',
        '192.168.1.20',
        hostname().toLowerCase(),
      ]),
    );
    expect(
      loadConfig({ WFM_PUBLIC_HOSTS: 'WFM.example, wfm.example:8443,[::1]:9443,10.0.0.1' }).http.publicHosts,
    ).toEqual([
      { host: 'wfm.example' },
      { host: 'wfm.example', port: 8443 },
      { host: '::1', port: 9443 },
      { host: '10.0.0.1' },
    ]);
    for (const bad of ['evil/x', 'a:99999', '*.example', '[nope]:1', ',']) {
      expect(() => loadConfig({ WFM_PUBLIC_HOSTS: bad }), bad).toThrow(/WFM_PUBLIC_HOSTS/);
    }
  });

  it('has documented connection timeouts and keeps the header timeout within the request timeout', () => {
    expect(loadConfig({}).http).toMatchObject({
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      idleTimeoutMs: 65_000,
      handshakeTimeoutMs: 10_000,
    });
    expect(() => loadConfig({ WFM_HEADERS_TIMEOUT_MS: '40000' })).toThrow(
      /WFM_HEADERS_TIMEOUT_MS: must not exceed WFM_REQUEST_TIMEOUT_MS/,
    );
    expect(() => loadConfig({ WFM_IDLE_TIMEOUT_MS: '0' })).toThrow(/WFM_IDLE_TIMEOUT_MS/);
  });

  it('lists every bad key in one error', () => {
    let caught: unknown;
    try {
      loadConfig({
        PORT: 'abc',
        DATABASE_URL: 'nonsense',
        REDIS_URL: 'http://x',
        WFM_ONBOARDING_MODE: 'sometimes',
        WFM_ROLES: 'api,cron',
        WFM_CORS_ORIGINS: 'https://ui.example.com/path',
        WFM_TLS_CERT_FILE: '/does/not/exist.pem',
        WFM_ADMIN_TOKEN: 'short',
        WFM_TRUST_DOMAIN: 'Bad Domain',
      });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const problems = (caught as ConfigError).problems.join('\n');
    for (const key of [
      'PORT=',
      'DATABASE_URL=',
      'REDIS_URL=',
      'WFM_ONBOARDING_MODE=',
      'WFM_ROLES=',
      'WFM_CORS_ORIGINS',
      'WFM_TLS_CERT_FILE=',
      'WFM_TLS_CERT_FILE and WFM_TLS_KEY_FILE',
      'WFM_ADMIN_TOKEN',
      'WFM_TRUST_DOMAIN=',
    ]) {
      expect(problems).toContain(key);
    }
    expect((caught as ConfigError).message).toMatch(/^Invalid configuration:\n {2}- /);
  });

  it('reads the status group-commit settings and refuses nonsense', () => {
    expect(loadConfig({}).status).toEqual({ batchMax: 256, batchMs: 2, queueMax: 10_000, writers: 2 });
    expect(
      loadConfig({
        WFM_STATUS_BATCH_MAX: '1',
        WFM_STATUS_BATCH_MS: '0',
        WFM_STATUS_QUEUE_MAX: '3',
        WFM_STATUS_BATCH_WRITERS: '1',
      }).status,
    ).toEqual({ batchMax: 1, batchMs: 0, queueMax: 3, writers: 1 });
    expect(() => loadConfig({ WFM_STATUS_BATCH_MAX: '0', WFM_STATUS_QUEUE_MAX: 'many' })).toThrow(
      /WFM_STATUS_BATCH_MAX[\s\S]*WFM_STATUS_QUEUE_MAX/,
    );
  });

  it('reads the onboarding limits and refuses nonsense', () => {
    expect(
      loadConfig({
        WFM_ONBOARDING_PER_MINUTE: '0',
        WFM_ONBOARDING_BURST: '5',
        WFM_ONBOARDING_PENDING_MAX: '0',
      }).onboarding,
    ).toEqual({ perMinute: 0, burst: 5, pendingMax: 0 });
    expect(() => loadConfig({ WFM_ONBOARDING_BURST: '0', WFM_ONBOARDING_PENDING_MAX: '-1' })).toThrow(
      /WFM_ONBOARDING_BURST[\s\S]*WFM_ONBOARDING_PENDING_MAX/,
    );
  });

  it('parses roles, CORS origins and booleans', () => {
    const config = loadConfig({
      WFM_ROLES: 'worker',
      WFM_CORS_ORIGINS: 'https://ui.example.com, http://localhost:5173',
      WFM_HTTP_ONLY: 'true',
    });
    expect(config.roles).toEqual({ api: false, worker: true });
    expect(config.http.corsOrigins).toEqual(['https://ui.example.com', 'http://localhost:5173']);
    expect(config.http.plainHttp).toBe(true);
  });

  it('never prints a database password', () => {
    expect(redactUrl('postgresql://u:secret@db:5432/wfm')).toBe('postgresql://u:***@db:5432/wfm');
    let message = '';
    try {
      loadConfig({ DATABASE_URL: 'mysql://u:secret@db/wfm' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('DATABASE_URL');
    expect(message).not.toContain('secret');
  });

  it('WFM_OIDC_*: off by default; parsed role map, defaults and every bad key reported', () => {
    expect(loadConfig({}).auth.oidc).toBeUndefined();
    expect(loadConfig({}).audit).toEqual({ retentionDays: 365 });
    const oidc = loadConfig({
      WFM_OIDC_ISSUER: 'https://login.example.com/realms/wfm',
      WFM_OIDC_AUDIENCE: 'margo-wfm',
      WFM_OIDC_ROLE_CLAIM: 'realm_access.roles',
      WFM_OIDC_ROLE_MAP: 'wfm-admins=admin, wfm-ops=operator,*=viewer',
      WFM_OIDC_SCOPE_CLAIM: 'wfm_scope',
    }).auth.oidc;
    expect(oidc).toEqual({
      issuer: 'https://login.example.com/realms/wfm',
      audience: 'margo-wfm',
      roleClaim: 'realm_access.roles',
      roleMap: [
        { value: 'wfm-admins', role: 'admin' },
        { value: 'wfm-ops', role: 'operator' },
        { value: '*', role: 'viewer' },
      ],
      scopeClaim: 'wfm_scope',
      clockSkewSeconds: 60,
      fetchTimeoutMs: 5000,
      jwksCooldownSeconds: 30,
    });
    expect(
      loadConfig({ WFM_OIDC_ISSUER: 'http://127.0.0.1:8080/x', WFM_OIDC_AUDIENCE: 'a' }).auth.oidc?.roleMap,
    ).toHaveLength(3);
    let error: ConfigError | undefined;
    try {
      loadConfig({
        WFM_OIDC_ISSUER: 'http://login.example.com/?x=1',
        WFM_OIDC_ROLE_MAP: 'wfm-admins=root',
        WFM_AUDIT_RETENTION_DAYS: '-1',
      });
    } catch (e) {
      error = e as ConfigError;
    }
    expect(error?.problems).toEqual([
      expect.stringContaining('WFM_OIDC_ISSUER'),
      expect.stringContaining('WFM_OIDC_AUDIENCE: required'),
      expect.stringContaining('WFM_OIDC_ROLE_MAP: "wfm-admins=root"'),
      expect.stringContaining('WFM_OIDC_ROLE_MAP: maps no claim value'),
      expect.stringContaining('WFM_AUDIT_RETENTION_DAYS'),
    ]);
    expect(() => loadConfig({ WFM_OIDC_AUDIENCE: 'a' })).toThrow(/need WFM_OIDC_ISSUER/);
  });
});
