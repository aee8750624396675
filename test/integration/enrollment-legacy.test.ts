import { execFileSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signRequest } from '../../src/client/http-signature-signer.js';
import { issueDeviceCertificate } from '../../src/client/identities.js';
import { LegacyClient } from '../../src/client/margo-client.js';
import { request } from '../../src/client/transport.js';
import { createCa, issueCertificate, type KeyAlgorithm } from '../../src/infra/tls/pki.js';
import { bearer } from '../support/identities.js';
import { ProbeModule } from '../support/probe.module.js';
import { type TestService, startTestService } from '../support/service.js';

const NOT_AUTHORIZED = 'https://docs.margo.org/specification/problem-types#not-authorized';
const INVALID_REQUEST = 'https://docs.margo.org/specification/problem-types#invalid-request';

/** An unsigned onboarding of `certPem`, from `localAddress` (any 127.0.0.0/8 address reaches the service). */
async function uploadUnsigned(wfm: TestService, certPem: string, localAddress = '127.0.0.1') {
  const agent = new https.Agent({ ca: wfm.serverCa, localAddress, keepAlive: false });
  try {
    return await request(`${wfm.url}/api/v1/onboarding`, {
      method: 'POST',
      ca: wfm.serverCa,
      agent,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        apiVersion: 'onboarding.margo.org/v1alpha1',
        kind: 'OnboardingRequest',
        certificate: Buffer.from(certPem).toString('base64'),
      }),
    });
  } finally {
    agent.destroy();
  }
}

async function onboardingRequests(wfm: TestService) {
  const res = await wfm.call('/operator/v1/onboarding-requests', { headers: bearer(wfm.adminToken) });
  return res.json<{ items: { clientId: string; proofOfPossession?: boolean }[] }>().items;
}

async function onboard(wfm: TestService, alg: KeyAlgorithm = 'P-256') {
  const identity = await issueDeviceCertificate(`device-${alg}`, alg);
  const { response, client } = await LegacyClient.onboard(wfm.url, identity, { ca: wfm.serverCa });
  return { identity, response, client: client! };
}

describe('legacy profile, onboarding mode "auto"', () => {
  let wfm: TestService;
  beforeAll(async () => {
    wfm = await startTestService({ WFM_ONBOARDING_MODE: 'auto' }, [ProbeModule]);
  });
  afterAll(async () => {
    await wfm?.stop();
  });

  it('serves the WFM root CA unauthenticated, and it verifies the server', async () => {
    const pem = await LegacyClient.fetchCa(wfm.url);
    expect(pem).toContain('BEGIN CERTIFICATE');
    expect((await request(`${wfm.url}/health/live`, { ca: pem })).status).toBe(200);
  });

  it('onboards a certificate (201 {clientId}) and refuses the same certificate again (409)', async () => {
    const { identity, response, client } = await onboard(wfm);
    expect(response.status).toBe(201);
    expect(response.json<{ clientId: string }>().clientId).toMatch(/^[0-9a-f-]{36}$/);
    const again = await LegacyClient.onboard(wfm.url, identity, { ca: wfm.serverCa });
    expect(again.response.status).toBe(409);
    expect(again.response.json()).toMatchObject({
      status: 409,
      detail: expect.stringContaining('already onboarded'),
    });
    client.close();
  });

  it('refuses a wrong apiVersion or kind, a certificate that does not parse or is expired (400)', async () => {
    const identity = await issueDeviceCertificate('bad');
    const cert = Buffer.from(identity.certPem).toString('base64');
    const bodies = [
      { apiVersion: 'onboarding.margo.org/v2', kind: 'OnboardingRequest', certificate: cert },
      { apiVersion: 'onboarding.margo.org/v1alpha1', kind: 'Other', certificate: cert },
      {
        apiVersion: 'onboarding.margo.org/v1alpha1',
        kind: 'OnboardingRequest',
        certificate: 'bm90IGEgY2VydA==',
      },
    ];
    for (const body of bodies) {
      const { response } = await LegacyClient.onboard(wfm.url, identity, {
        ca: wfm.serverCa,
        body,
        sign: false,
      });
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.json()).toMatchObject({ type: INVALID_REQUEST });
    }
    const first = await LegacyClient.onboard(wfm.url, identity, {
      ca: wfm.serverCa,
      body: bodies[0],
      sign: false,
    });
    expect(first.response.json<{ detail: string }>().detail).toContain('apiVersion');

    const ca = await createCa({ commonName: 'x' });
    const expired = await issueCertificate({
      issuer: ca,
      commonName: 'old',
      notBefore: new Date(Date.now() - 10 * 86_400_000),
      notAfter: new Date(Date.now() - 86_400_000),
    });
    const res = await LegacyClient.onboard(
      wfm.url,
      { certPem: expired.certPem, keyPem: expired.keyPem },
      { ca: wfm.serverCa },
    );
    expect(res.response.status).toBe(400);
    expect(res.response.json<{ detail: string }>().detail).toContain('valid from');
  });

  it('accepts a self-signed CA:TRUE certificate minted by `openssl req -new -x509` (stock config), as the upstream runner does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wfm-openssl-'));
    try {
      execFileSync(
        'openssl',
        [
          'req',
          '-new',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:P-256',
          '-nodes',
          '-keyout',
          join(dir, 'key.pem'),
          '-out',
          join(dir, 'cert.pem'),
          '-days',
          '1',
          '-subj',
          '/CN=openssl-device',
        ],
        { stdio: 'ignore' },
      );
      const identity = {
        certPem: readFileSync(join(dir, 'cert.pem'), 'utf8'),
        keyPem: readFileSync(join(dir, 'key.pem'), 'utf8'),
      };
      expect(new X509Certificate(identity.certPem).ca).toBe(true);
      const { response } = await LegacyClient.onboard(wfm.url, identity, { ca: wfm.serverCa });
      expect(response.status).toBe(201);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a CA certificate that is not self-signed (400)', async () => {
    const root = await createCa({ commonName: 'some root' });
    const intermediate = await issueCertificate({ issuer: root, commonName: 'intermediate', ca: true });
    const res = await LegacyClient.onboard(wfm.url, intermediate, { ca: wfm.serverCa });
    expect(res.response.status).toBe(400);
    expect(res.response.json<{ detail: string }>().detail).toContain('unless it is self-signed');
  });

  it('accepts the oldest draft shape ({public_certificate} → {client_id})', async () => {
    const identity = await issueDeviceCertificate('oldest');
    const body = { public_certificate: Buffer.from(identity.certPem).toString('base64') };
    const { response } = await LegacyClient.onboard(wfm.url, identity, {
      ca: wfm.serverCa,
      body,
      sign: false,
    });
    expect(response.status).toBe(201);
    const json = response.json<{ clientId: string; client_id: string }>();
    expect(json.client_id).toBe(json.clientId);
  });

  it('refuses an onboarding request signed with a key other than the uploaded certificate (401)', async () => {
    const identity = await issueDeviceCertificate('pop');
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const url = `${wfm.url}/api/v1/onboarding`;
    const body = Buffer.from(
      JSON.stringify({
        apiVersion: 'onboarding.margo.org/v1alpha1',
        kind: 'OnboardingRequest',
        certificate: Buffer.from(identity.certPem).toString('base64'),
      }),
    );
    const headers = signRequest({ method: 'POST', url, body, privateKey: other.privateKey });
    const res = await request(url, {
      method: 'POST',
      ca: wfm.serverCa,
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
    expect(res.status).toBe(401);
  });

  it.each<[KeyAlgorithm, string | undefined]>([
    ['P-256', undefined],
    ['P-384', undefined],
    ['Ed25519', undefined],
    ['RSA-2048', 'rsa-v1_5-sha256'],
    ['RSA-2048', 'rsa-pss-sha512'],
    ['RSA-2048', 'rsa-pss-sha256'],
  ])('accepts requests signed with a %s key (%s)', async (alg, rsa) => {
    const { client } = await onboard(wfm, alg);
    const signer = new LegacyClient({ ...client.options, rsaAlgorithm: rsa as never });
    const get = await signer.call('GET', `/api/v1/clients/${client.clientId}/_probe/whoami`);
    expect(get.status).toBe(200);
    expect(get.json()).toMatchObject({ profile: 'legacy', externalId: client.clientId });
    const post = await signer.call('POST', `/api/v1/clients/${client.clientId}/_probe/echo`, {
      body: { hello: 'world' },
    });
    expect(post.status).toBe(201);
    signer.close();
    client.close();
  });

  describe('refusals', () => {
    let client: LegacyClient;
    let path: string;
    beforeAll(async () => {
      client = (await onboard(wfm)).client;
      path = `/api/v1/clients/${client.clientId}/_probe/echo`;
    });
    afterAll(() => client.close());

    const expect401 = (res: { status: number; headers: Record<string, unknown>; json: <T>() => T }) => {
      expect(res.status).toBe(401);
      expect(res.headers['content-type']).toBe('application/problem+json');
    };

    it('tampered signature → 401', async () => {
      expect401(await client.call('POST', path, { body: { a: 1 }, tamper: true }));
    });
    it('unsigned request → 401', async () => {
      expect401(await client.call('POST', path, { body: { a: 1 }, unsigned: true }));
    });
    it('wrong keyid → 401', async () => {
      expect401(await client.call('POST', path, { body: { a: 1 }, keyid: 'ab'.repeat(32) }));
    });
    it('stale or future created → 401', async () => {
      const now = Math.floor(Date.now() / 1000);
      expect401(await client.call('POST', path, { body: { a: 1 }, created: now - 3600 }));
      expect401(await client.call('POST', path, { body: { a: 1 }, created: now + 3600 }));
    });
    it('a signature from a fresh, un-onboarded key → 401', async () => {
      const fresh = createPrivateKey(
        generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
          type: 'pkcs8',
          format: 'pem',
        }),
      );
      const res = await client.call('GET', `/api/v1/clients/${client.clientId}/_probe/whoami`, {
        signWith: fresh,
      });
      expect([401, 403]).toContain(res.status);
    });
    it('a replayed signature → 401', async () => {
      const url = `${wfm.url}${path}`;
      const body = Buffer.from('{"a":1}');
      const headers = {
        'content-type': 'application/json',
        ...signRequest({
          method: 'POST',
          url,
          body,
          privateKey: createPrivateKey(client.options.identity.keyPem),
        }),
      };
      const first = await request(url, { method: 'POST', ca: wfm.serverCa, headers, body });
      expect(first.status).toBe(201);
      const replay = await request(url, { method: 'POST', ca: wfm.serverCa, headers, body });
      expect(replay.status).toBe(401);
      expect(replay.json<{ detail: string }>().detail).toContain('replay');
    });
    it('a replay re-encoded as DER, high-s or both → 401 (issue #13, finding 1)', async () => {
      const url = `${wfm.url}/api/v1/clients/${client.clientId}/_probe/whoami`;
      const headers = signRequest({
        method: 'GET',
        url,
        privateKey: createPrivateKey(client.options.identity.keyPem),
      });
      const match = /^(\w+)=:([^:]*):$/.exec(headers.signature)!;
      const raw = Buffer.from(match[2], 'base64');
      expect(raw.length).toBe(64);
      const n = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
      const r = BigInt(`0x${raw.subarray(0, 32).toString('hex')}`);
      const s = BigInt(`0x${raw.subarray(32).toString('hex')}`);
      const fixed = (v: bigint) => Buffer.from(v.toString(16).padStart(64, '0'), 'hex');
      const derInt = (v: bigint) => {
        let hex = v.toString(16);
        if (hex.length % 2) hex = `0${hex}`;
        if (parseInt(hex.slice(0, 2), 16) >= 0x80) hex = `00${hex}`;
        const bytes = Buffer.from(hex, 'hex');
        return Buffer.concat([Buffer.from([0x02, bytes.length]), bytes]);
      };
      const der = (a: bigint, b: bigint) => {
        const body = Buffer.concat([derInt(a), derInt(b)]);
        return Buffer.concat([Buffer.from([0x30, body.length]), body]);
      };
      const forms = {
        raw,
        der: der(r, s),
        'high-s raw': Buffer.concat([fixed(r), fixed(n - s)]),
        'high-s der': der(r, n - s),
      };
      const first = await request(url, { ca: wfm.serverCa, headers: { ...headers } });
      expect(first.status).toBe(200);
      for (const [name, bytes] of Object.entries(forms)) {
        const replay = await request(url, {
          ca: wfm.serverCa,
          headers: { ...headers, signature: `${match[1]}=:${bytes.toString('base64')}:` },
        });
        expect(replay.status, name).toBe(401);
        expect(replay.json<{ detail: string }>().detail, name).toContain('replay');
      }
    });
    it('a signature made for another authority, sent with that Host → 401 naming ours (issue #13, finding 8)', async () => {
      const path = `/api/v1/clients/${client.clientId}/_probe/whoami`;
      const privateKey = createPrivateKey(client.options.identity.keyPem);
      for (const authority of ['evil.example', 'evil.example:443', '127.0.0.1.evil.example']) {
        const headers = signRequest({ method: 'GET', url: `https://${authority}${path}`, privateKey });
        const res = await request(`${wfm.url}${path}`, {
          ca: wfm.serverCa,
          servername: 'localhost', // node would otherwise verify the server certificate for the Host header
          headers: { ...headers, host: authority },
        });
        expect(res.status, authority).toBe(401);
        expect(res.headers['content-type']).toBe('application/problem+json');
        expect(res.json<{ detail: string }>().detail, authority).toMatch(/not this WFM.*127\.0\.0\.1/);
      }
      // Control: the same request signed for the WFM's own address is accepted.
      const own = signRequest({ method: 'GET', url: `${wfm.url}${path}`, privateKey });
      expect((await request(`${wfm.url}${path}`, { ca: wfm.serverCa, headers: { ...own } })).status).toBe(
        200,
      );
    });
    it('missing or mismatching Content-Digest → 400', async () => {
      const missing = await client.call('POST', path, { body: { a: 1 }, skipContentDigest: true });
      expect(missing.status).toBe(400);
      const mismatch = await client.call('POST', path, {
        body: { a: 1 },
        headers: { 'content-digest': `sha-256=:${Buffer.alloc(32).toString('base64')}:` },
      });
      expect(mismatch.status).toBe(400);
      expect(mismatch.json()).toMatchObject({ type: INVALID_REQUEST });
    });
    it("another client's path signed with my key → 401", async () => {
      const other = (await onboard(wfm)).client;
      const res = await client.call('GET', `/api/v1/clients/${other.clientId}/_probe/whoami`);
      expect(res.status).toBe(401);
      other.close();
    });
    it('an unknown clientId → 404', async () => {
      const res = await client.call(
        'GET',
        '/api/v1/clients/00000000-0000-4000-8000-000000000000/_probe/whoami',
      );
      expect(res.status).toBe(404);
      expect(res.headers['content-type']).toBe('application/problem+json');
    });
  });

  it('replays the exact wire format of real Margo clients (margo-clients.md §5) and it verifies', async () => {
    const { client, identity } = await onboard(wfm);
    const url = `${wfm.url}/api/v1/clients/${client.clientId}/_probe/echo`;
    const body = Buffer.from('{"deploymentId":"x","status":{"state":"installed"}}');
    const signed = signRequest({
      method: 'POST',
      url,
      body,
      privateKey: createPrivateKey(identity.keyPem),
      created: Math.floor(Date.now() / 1000),
    });
    expect(signed['signature-input']).toMatch(
      /^sig1=\("@method" "@target-uri" "@authority" "content-digest"\);created=\d+;keyid="[0-9a-f]{64}"$/,
    );
    expect(signed.signature).toMatch(/^sig1=:[A-Za-z0-9+/]{86}==:$/); // 64-byte raw r||s
    expect(signed['content-digest']).toMatch(/^sha-256=:[A-Za-z0-9+/]{43}=:$/);
    const res = await request(url, {
      method: 'POST',
      ca: wfm.serverCa,
      headers: { 'Content-Type': 'application/json', ...signed },
      body,
    });
    expect(res.status).toBe(201);
    client.close();
  });
});

describe('legacy profile, onboarding mode "approval" (the default)', () => {
  let wfm: TestService;
  beforeAll(async () => {
    wfm = await startTestService({}, [ProbeModule]);
  });
  afterAll(async () => {
    await wfm?.stop();
  });

  it('onboards as pending (403 until approved), then approve → 200, reject → 403, listed for operators', async () => {
    const { response, client } = await onboard(wfm);
    expect(response.status).toBe(201);
    const path = `/api/v1/clients/${client.clientId}/_probe/whoami`;
    const pending = await client.call('GET', path);
    expect(pending.status).toBe(403);
    expect(pending.json()).toMatchObject({
      type: NOT_AUTHORIZED,
      detail: expect.stringContaining('approval'),
    });

    const listed = await wfm.call('/operator/v1/onboarding-requests', { headers: bearer(wfm.adminToken) });
    expect(listed.json<{ items: { clientId: string; certificateFingerprint: string }[] }>().items).toEqual([
      expect.objectContaining({
        clientId: client.clientId,
        certificateFingerprint: expect.stringMatching(/^[0-9a-f]{64}$/),
      }),
    ]);

    const approve = await wfm.call(`/operator/v1/clients/${client.clientId}/approve`, {
      method: 'POST',
      headers: bearer(wfm.adminToken),
    });
    expect(approve.status).toBe(200);
    expect(approve.json()).toMatchObject({ state: 'active' });
    expect((await client.call('GET', path)).status).toBe(200);

    const reject = await wfm.call(`/operator/v1/clients/${client.clientId}/reject`, {
      method: 'POST',
      headers: bearer(wfm.adminToken),
    });
    expect(reject.json()).toMatchObject({ state: 'rejected' });
    expect((await client.call('GET', path)).status).toBe(403);
    client.close();
  });
});

describe('legacy onboarding: someone else uploads a device certificate first (issue #13, finding 2)', () => {
  let wfm: TestService;
  beforeAll(async () => {
    wfm = await startTestService({}, [ProbeModule]);
  });
  afterAll(async () => {
    await wfm?.stop();
  });

  it('the real device still gets going: 409 names its clientId, its signed onboarding proves possession', async () => {
    const device = await issueDeviceCertificate('squatted-device');
    // the attacker only has the public certificate
    const squat = await uploadUnsigned(wfm, device.certPem, '127.0.0.9');
    expect(squat.status).toBe(201);
    const clientId = squat.json<{ clientId: string }>().clientId;
    expect(await onboardingRequests(wfm)).toEqual([
      expect.objectContaining({ clientId, proofOfPossession: false }),
    ]);

    // an unsigned repeat (as the upstream runner sends it): 409, and it says which client this is
    const unsignedAgain = await uploadUnsigned(wfm, device.certPem);
    expect(unsignedAgain.status).toBe(409);
    expect(unsignedAgain.headers['location']).toBe(`/api/v1/clients/${clientId}`);
    expect(unsignedAgain.json()).toMatchObject({ status: 409, clientId, proofOfPossession: false });

    // the real device signs its onboarding with the certificate's key: 409 with its clientId, now proven
    const real = await LegacyClient.onboard(wfm.url, device, { ca: wfm.serverCa });
    expect(real.response.status).toBe(409);
    expect(real.response.headers['location']).toBe(`/api/v1/clients/${clientId}`);
    expect(real.response.json()).toMatchObject({ clientId, proofOfPossession: true });
    expect(await onboardingRequests(wfm)).toEqual([
      expect.objectContaining({ clientId, proofOfPossession: true }),
    ]);

    // the operator approves; the device authenticates with its key under that clientId
    const approve = await wfm.call(`/operator/v1/clients/${clientId}/approve`, {
      method: 'POST',
      headers: bearer(wfm.adminToken),
    });
    expect(approve.json()).toMatchObject({ state: 'active', proofOfPossession: true });
    const client = new LegacyClient({ baseUrl: wfm.url, ca: wfm.serverCa, identity: device, clientId });
    const whoami = await client.call('GET', `/api/v1/clients/${clientId}/_probe/whoami`);
    expect(whoami.status).toBe(200);
    expect(whoami.json()).toMatchObject({ externalId: clientId });
    client.close();
  });

  it('an operator rejecting an unproven upload does not lock the real device out: its signed onboarding reopens it', async () => {
    const device = await issueDeviceCertificate('rejected-squat');
    const squat = await uploadUnsigned(wfm, device.certPem, '127.0.0.9');
    const clientId = squat.json<{ clientId: string }>().clientId;
    const reject = await wfm.call(`/operator/v1/clients/${clientId}/reject`, {
      method: 'POST',
      headers: bearer(wfm.adminToken),
    });
    expect(reject.json()).toMatchObject({ state: 'rejected', proofOfPossession: false });
    // unsigned: nothing changes
    expect((await uploadUnsigned(wfm, device.certPem)).status).toBe(409);
    expect(await onboardingRequests(wfm)).not.toContainEqual(expect.objectContaining({ clientId }));
    // signed by the key holder: pending again, proven, for the operator to decide anew
    const real = await LegacyClient.onboard(wfm.url, device, { ca: wfm.serverCa });
    expect(real.response.json()).toMatchObject({ status: 409, clientId, proofOfPossession: true });
    expect(await onboardingRequests(wfm)).toContainEqual(
      expect.objectContaining({ clientId, proofOfPossession: true }),
    );
    // once proven, a rejection stands
    await wfm.call(`/operator/v1/clients/${clientId}/reject`, {
      method: 'POST',
      headers: bearer(wfm.adminToken),
    });
    await LegacyClient.onboard(wfm.url, device, { ca: wfm.serverCa });
    expect(await onboardingRequests(wfm)).not.toContainEqual(expect.objectContaining({ clientId }));
  });

  it('a signed first onboarding is proven at once', async () => {
    const { response, client } = await onboard(wfm);
    expect(response.status).toBe(201);
    expect(response.headers['location']).toBe(`/api/v1/clients/${client.clientId}`);
    expect(await onboardingRequests(wfm)).toContainEqual(
      expect.objectContaining({ clientId: client.clientId, proofOfPossession: true }),
    );
    client.close();
  });
});

describe('legacy onboarding: per-address rate limit (issue #13, finding 2)', () => {
  let wfm: TestService;
  beforeAll(async () => {
    wfm = await startTestService(
      { WFM_ONBOARDING_PER_MINUTE: '1', WFM_ONBOARDING_BURST: '5', WFM_ONBOARDING_MODE: 'auto' },
      [ProbeModule],
    );
  });
  afterAll(async () => {
    await wfm?.stop();
  });

  it('a flood from one address gets 429 with Retry-After after the burst; another address still onboards', async () => {
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof uploadUnsigned>> | undefined;
    for (let i = 0; i < 12; i++) {
      const res = await uploadUnsigned(
        wfm,
        (await issueDeviceCertificate(`flood-${i}`)).certPem,
        '127.0.0.3',
      );
      statuses.push(res.status);
      if (res.status === 429) limited = res;
    }
    expect(statuses).toEqual([...Array<number>(5).fill(201), ...Array<number>(7).fill(429)]);
    expect(limited!.headers['content-type']).toContain('application/problem+json');
    expect(Number(limited!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(limited!.json()).toMatchObject({ status: 429, detail: expect.stringContaining('onboarding') });

    const other = await uploadUnsigned(wfm, (await issueDeviceCertificate('elsewhere')).certPem, '127.0.0.4');
    expect(other.status).toBe(201);
  });
});

describe('legacy onboarding: the approval queue is capped (issue #13, finding 2)', () => {
  let wfm: TestService;
  beforeAll(async () => {
    wfm = await startTestService({ WFM_ONBOARDING_PENDING_MAX: '3' }, [ProbeModule]);
  });
  afterAll(async () => {
    await wfm?.stop();
  });

  it('answers 503 with Retry-After once WFM_ONBOARDING_PENDING_MAX requests wait, and admits again after a decision', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await uploadUnsigned(
        wfm,
        (await issueDeviceCertificate(`queued-${i}`)).certPem,
        `127.0.1.${i}`,
      );
      expect(res.status).toBe(201);
      ids.push(res.json<{ clientId: string }>().clientId);
    }
    const full = await uploadUnsigned(
      wfm,
      (await issueDeviceCertificate('one-too-many')).certPem,
      '127.0.1.9',
    );
    expect(full.status).toBe(503);
    expect(full.headers['content-type']).toContain('application/problem+json');
    expect(full.headers['retry-after']).toBeDefined();
    expect(full.json()).toMatchObject({ detail: expect.stringContaining('queue is full') });
    // nothing was queued beyond the cap
    expect(await onboardingRequests(wfm)).toHaveLength(3);

    await wfm.call(`/operator/v1/clients/${ids[0]}/reject`, {
      method: 'POST',
      headers: bearer(wfm.adminToken),
    });
    const room = await uploadUnsigned(
      wfm,
      (await issueDeviceCertificate('after-decision')).certPem,
      '127.0.1.9',
    );
    expect(room.status).toBe(201);
  });
});

describe('legacy profile, onboarding mode "preauthorized"', () => {
  let wfm: TestService;
  beforeAll(async () => {
    wfm = await startTestService({ WFM_ONBOARDING_MODE: 'preauthorized' }, [ProbeModule]);
  });
  afterAll(async () => {
    await wfm?.stop();
  });

  it('admits only certificates an operator registered (others 403)', async () => {
    const known = await issueDeviceCertificate('known');
    const unknown = await issueDeviceCertificate('unknown');
    const reg = await wfm.call('/operator/v1/preauthorized-certificates', {
      method: 'POST',
      headers: { ...bearer(wfm.adminToken), 'content-type': 'application/json' },
      body: JSON.stringify({ certificate: known.certPem, note: 'line 3 PLC' }),
    });
    expect(reg.status).toBe(201);
    const refused = await LegacyClient.onboard(wfm.url, unknown, { ca: wfm.serverCa });
    expect(refused.response.status).toBe(403);
    const admitted = await LegacyClient.onboard(wfm.url, known, { ca: wfm.serverCa });
    expect(admitted.response.status).toBe(201);
    expect(
      (await admitted.client!.call('GET', `/api/v1/clients/${admitted.client!.clientId}/_probe/whoami`))
        .status,
    ).toBe(200);
    const list = await wfm.call('/operator/v1/preauthorized-certificates', {
      headers: bearer(wfm.adminToken),
    });
    expect(list.json<{ items: { usedAt: string | null }[] }>().items[0].usedAt).not.toBeNull();
    admitted.client!.close();
  });
});
