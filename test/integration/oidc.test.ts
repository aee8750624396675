import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventTokenService } from '../../src/modules/events/event-token.service.js';
import { capabilities } from '../support/capabilities.js';
import { bearer, rc3Client } from '../support/identities.js';
import { type TestService, startTestService } from '../support/service.js';

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;

/** A local OIDC issuer on loopback: discovery and JWKS over node:http, counting the JWKS fetches. */
class TestIssuer {
  server!: Server;
  url!: string;
  jwksHits = 0;
  discoveryHits = 0;
  published: JWK[] = [];

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      if (req.url === '/realms/wfm/.well-known/openid-configuration') {
        this.discoveryHits += 1;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ issuer: this.url, jwks_uri: `${this.url}/protocol/openid-connect/certs` }));
      } else if (req.url === '/realms/wfm/protocol/openid-connect/certs') {
        this.jwksHits += 1;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ keys: this.published }));
      } else {
        res.statusCode = 404;
        res.end();
      }
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/realms/wfm`;
  }

  async publish(...keys: { pair: KeyPair; kid: string; alg: string }[]): Promise<void> {
    this.published = await Promise.all(
      keys.map(async (k) => ({ ...(await exportJWK(k.pair.publicKey)), kid: k.kid, alg: k.alg, use: 'sig' })),
    );
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const AUDIENCE = 'margo-wfm';
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('operator sign-in with OIDC bearer tokens', () => {
  const issuer = new TestIssuer();
  let wfm: TestService;
  let rsa: KeyPair;
  let ec: KeyPair;
  let other: KeyPair;
  let rotated: KeyPair;

  async function token(
    claims: Record<string, unknown> = {},
    options: { key?: KeyPair; kid?: string; alg?: string; exp?: number | null } = {},
  ): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const { iss = issuer.url, aud = AUDIENCE, sub = 'user-1', ...rest } = claims;
    const jwt = new SignJWT({ roles: ['wfm-ops'], preferred_username: 'ada', ...rest })
      .setProtectedHeader({ alg: options.alg ?? 'RS256', kid: options.kid ?? 'rsa-1', typ: 'JWT' })
      .setIssuedAt(now)
      .setSubject(sub as string);
    if (iss !== undefined) jwt.setIssuer(iss as string);
    if (aud !== undefined) jwt.setAudience(aud as string | string[]);
    if (options.exp !== null) jwt.setExpirationTime(options.exp ?? now + 300);
    return jwt.sign((options.key ?? rsa).privateKey);
  }

  async function me(bearerToken: string) {
    const res = await wfm.call('/operator/v1/me', { headers: bearer(bearerToken) });
    return {
      status: res.status,
      body: res.json<Record<string, unknown>>(),
      type: res.headers['content-type'],
    };
  }

  async function refused(bearerToken: string, detail: string | RegExp): Promise<void> {
    const res = await me(bearerToken);
    expect(res.status, JSON.stringify(res.body)).toBe(401);
    expect(res.type).toBe('application/problem+json');
    expect(res.body.detail).toMatch(detail);
  }

  beforeAll(async () => {
    rsa = await generateKeyPair('RS256', { extractable: true });
    ec = await generateKeyPair('ES256', { extractable: true });
    other = await generateKeyPair('RS256', { extractable: true });
    await issuer.start();
    await issuer.publish({ pair: rsa, kid: 'rsa-1', alg: 'RS256' }, { pair: ec, kid: 'ec-1', alg: 'ES256' });
    wfm = await startTestService({
      WFM_OIDC_ISSUER: issuer.url,
      WFM_OIDC_AUDIENCE: AUDIENCE,
      WFM_OIDC_ROLE_CLAIM: 'roles',
      WFM_OIDC_ROLE_MAP: 'wfm-admins=admin,wfm-ops=operator,wfm-view=viewer',
      WFM_OIDC_SCOPE_CLAIM: 'wfm_scope',
      WFM_OIDC_JWKS_COOLDOWN: '3',
    });
  });
  afterAll(async () => {
    await wfm?.stop();
    await issuer.stop();
  });

  it('accepts a valid token: /me names the subject, role, issuer and how it signed in', async () => {
    const res = await me(await token());
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      name: 'ada',
      role: 'operator',
      via: 'oidc',
      subject: 'user-1',
      issuer: issuer.url,
    });
    // ES256 works too, and the discovery document was fetched once
    expect((await me(await token({}, { key: ec, kid: 'ec-1', alg: 'ES256' }))).status).toBe(200);
    expect(issuer.discoveryHits).toBe(1);
  });

  it('maps claim values to roles (the highest wins) and refuses a token that maps to none', async () => {
    const admin = await token({
      roles: ['wfm-view', 'wfm-admins'],
      preferred_username: undefined,
      email: 'root@example.com',
    });
    expect((await me(admin)).body).toMatchObject({ role: 'admin', name: 'root@example.com' });
    expect((await wfm.call('/operator/v1/tokens', { headers: bearer(admin) })).status).toBe(200);

    const viewer = await token({ roles: 'wfm-view' });
    expect((await me(viewer)).body).toMatchObject({ role: 'viewer' });
    const forbidden = await wfm.call('/operator/v1/clients/oidc-viewer', {
      method: 'PUT',
      headers: bearer(viewer),
    });
    expect(forbidden.status).toBe(403);

    await refused(await token({ roles: ['somebody-else'] }), /maps to no role/);
    await refused(await token({ roles: undefined }), /maps to no role/);
  });

  it('puts the scope claim on the principal', async () => {
    const res = await me(await token({ wfm_scope: 'site=DE-001' }));
    expect(res.body).toMatchObject({ scope: { site: 'DE-001' } });
    await refused(await token({ wfm_scope: 42 }), /invalid scope claim/);
  });

  it('refuses an expired token, honouring the clock skew', async () => {
    const now = Math.floor(Date.now() / 1000);
    await refused(await token({}, { exp: now - 120 }), /expired/);
    expect((await me(await token({}, { exp: now - 30 }))).status).toBe(200); // within 60 s
    await refused(await token({}, { exp: null }), /exp claim is missing/);
  });

  it('refuses a token that is not yet valid', async () => {
    const now = Math.floor(Date.now() / 1000);
    await refused(await token({ nbf: now + 300 }), /not yet valid/);
    expect((await me(await token({ nbf: now + 30 }))).status).toBe(200); // within 60 s
  });

  it('refuses a wrong issuer and a wrong audience', async () => {
    await refused(await token({ iss: 'https://evil.example.com/realms/wfm' }), /wrong issuer/);
    await refused(await token({ aud: 'another-app' }), /wrong audience/);
    expect((await me(await token({ aud: ['another-app', AUDIENCE] }))).status).toBe(200);
  });

  it('refuses alg none and an HS256 token signed with the public key', async () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: issuer.url, aud: AUDIENCE, sub: 'user-1', exp: now + 300, roles: ['wfm-admins'] };
    await refused(`${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`, /disallowed signature algorithm/);

    const publicPem = await exportSPKI(rsa.publicKey);
    const signingInput = `${b64({ alg: 'HS256', typ: 'JWT', kid: 'rsa-1' })}.${b64(claims)}`;
    for (const secret of [publicPem, JSON.stringify(issuer.published[0])]) {
      const mac = createHmac('sha256', secret).update(signingInput).digest('base64url');
      await refused(`${signingInput}.${mac}`, /disallowed signature algorithm/);
    }
  });

  it('refuses a bad signature and a malformed token', async () => {
    await refused(await token({}, { key: other, kid: 'rsa-1' }), /bad signature/);
    const good = await token();
    await refused(`${good.slice(0, -4)}AAAA`, /bad signature/);
    await refused(`eyJub3Rqc29u.${b64({})}.abc`, /malformed/);
  });

  it('follows a key rotation: a new kid makes one JWKS refetch', async () => {
    rotated = await generateKeyPair('RS256', { extractable: true });
    await issuer.publish({ pair: rotated, kid: 'rsa-2', alg: 'RS256' });
    const before = issuer.jwksHits;
    expect((await me(await token({}, { key: rotated, kid: 'rsa-2' }))).status).toBe(200);
    expect(issuer.jwksHits).toBe(before + 1);
    expect((await me(await token({}, { key: rotated, kid: 'rsa-2' }))).status).toBe(200);
    expect(issuer.jwksHits).toBe(before + 1); // cached
    // the retired key is gone from the set: its tokens are refused
    await refused(await token({}, { key: rsa, kid: 'rsa-1' }), /unknown signing key/);
  });

  it('rate-limits the refetch an unknown kid causes', async () => {
    await new Promise((resolve) => setTimeout(resolve, 3_100)); // the cooldown of the rotation's refetch
    const before = issuer.jwksHits;
    const stranger = await generateKeyPair('ES256');
    for (let i = 0; i < 5; i += 1) {
      await refused(
        await token({}, { key: stranger, kid: `random-${i}`, alg: 'ES256' }),
        /unknown signing key/,
      );
    }
    expect(issuer.jwksHits).toBe(before + 1); // one refetch for five unknown kids within 3 s
    await new Promise((resolve) => setTimeout(resolve, 3_100));
    await refused(
      await token({}, { key: stranger, kid: 'random-late', alg: 'ES256' }),
      /unknown signing key/,
    );
    expect(issuer.jwksHits).toBe(before + 2);
  });

  it('keeps opaque operator tokens working beside OIDC', async () => {
    expect((await me(wfm.adminToken)).body).toMatchObject({ via: 'bootstrap', role: 'admin' });
    const created = await wfm.call('/operator/v1/tokens', {
      method: 'POST',
      headers: { ...bearer(wfm.adminToken), 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'plant-ui', role: 'viewer' }),
    });
    const { token: opaque } = created.json<{ token: string }>();
    expect((await me(opaque)).body).toMatchObject({ via: 'token', name: 'plant-ui' });
  });

  it('gives an OIDC caller a stream token that keeps its sign-in kind and subject', async () => {
    const oidc = await token({}, { key: rotated, kid: 'rsa-2' });
    const res = await wfm.call('/operator/v1/events/token', { method: 'POST', headers: bearer(oidc) });
    expect(res.status).toBe(200);
    const streamToken = res.json<{ token: string }>().token;
    const principal = await wfm.app.get(EventTokenService, { strict: false }).verify(streamToken);
    expect(principal).toMatchObject({ via: 'oidc', subject: 'user-1', issuer: issuer.url, name: 'ada' });
  });

  it('records OIDC callers in the audit log by subject and name', async () => {
    const admin = await token(
      { roles: ['wfm-admins'], sub: 'user-7', preferred_username: 'grace' },
      { key: rotated, kid: 'rsa-2' },
    );
    const requestId = `oidc-${Date.now()}`;
    const res = await wfm.call('/operator/v1/clients/oidc-accepted', {
      method: 'PUT',
      headers: { ...bearer(admin), 'x-request-id': requestId },
    });
    expect(res.status).toBe(201);
    const audit = await wfm.call('/operator/v1/audit?actor=user-7', { headers: bearer(admin) });
    expect(audit.json<{ items: unknown[] }>().items).toEqual([
      expect.objectContaining({
        action: 'client.accept',
        requestId,
        actor: { kind: 'oidc', id: 'user-7', name: 'grace' },
        outcome: 'ok',
      }),
    ]);
  });

  it("limits a caller to its scope claim's devices", async () => {
    const device = await rc3Client(wfm, 'oidc-sites');
    for (const [id, site] of [
      ['press-de', 'DE-001'],
      ['press-fr', 'FR-002'],
    ] as const) {
      expect((await device.putCapabilities(id, capabilities(id, {}, { site }))).status).toBe(201);
    }
    const scoped = await token(
      { roles: ['wfm-view'], wfm_scope: 'site=DE-001' },
      { key: rotated, kid: 'rsa-2' },
    );
    const res = await wfm.call('/operator/v1/devices?clientId=oidc-sites', { headers: bearer(scoped) });
    expect(res.status, res.text()).toBe(200);
    expect(res.json<{ items: { deviceId: string }[] }>().items.map((d) => d.deviceId)).toEqual(['press-de']);
    const unscoped = await token({ roles: ['wfm-view'] }, { key: rotated, kid: 'rsa-2' });
    const all = await wfm.call('/operator/v1/devices?clientId=oidc-sites', { headers: bearer(unscoped) });
    expect(
      all
        .json<{ items: { deviceId: string }[] }>()
        .items.map((d) => d.deviceId)
        .sort(),
    ).toEqual(['press-de', 'press-fr']);
  });
  // Last: a second service in this process registers its own passport strategies under the same
  // names, so `wfm` must not be called after it started (passport's registry is process-wide).
  it('answers 503 (not 401) while the issuer cannot be reached', async () => {
    const down = new TestIssuer();
    await down.start();
    await down.publish({ pair: rsa, kid: 'rsa-1', alg: 'RS256' });
    const url = down.url;
    await down.stop();
    const lonely = await startTestService({
      WFM_OIDC_ISSUER: url,
      WFM_OIDC_AUDIENCE: AUDIENCE,
      WFM_OIDC_ROLE_MAP: 'wfm-ops=operator',
      WFM_OIDC_FETCH_TIMEOUT_MS: '500',
    });
    try {
      const jwt = await token({ iss: url });
      const res = await lonely.call('/operator/v1/me', { headers: bearer(jwt) });
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.json()).toMatchObject({ detail: expect.stringContaining('cannot be reached') });
      // opaque tokens are unaffected
      expect((await lonely.call('/operator/v1/me', { headers: bearer(lonely.adminToken) })).status).toBe(200);
    } finally {
      await lonely.stop();
    }
  });
});
