import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueClientSvid, type SvidIssuer } from '../../src/client/identities.js';
import { Rc3Client } from '../../src/client/margo-client.js';
import { request } from '../../src/client/transport.js';
import { createCa, ExtendedKeyUsage, KeyUsageFlags } from '../../src/infra/tls/pki.js';
import { ProbeModule } from '../support/probe.module.js';
import { acceptClient, bearer, devIssuer, rc3Client } from '../support/identities.js';
import { type TestService, startTestService } from '../support/service.js';

const NOT_AUTHORIZED = 'https://docs.margo.org/specification/problem-types#not-authorized';

function clientFor(wfm: TestService, svid: { certChainPem: string; keyPem: string }): Rc3Client {
  return new Rc3Client({
    baseUrl: wfm.url,
    ca: wfm.serverCa!,
    certChainPem: svid.certChainPem,
    keyPem: svid.keyPem,
    wfmSpiffeId: wfm.config.identity.spiffeId,
  });
}

describe('rc.3 identity: mutual TLS with X.509-SVIDs', () => {
  let wfm: TestService;
  let issuer: SvidIssuer;
  beforeAll(async () => {
    wfm = await startTestService({}, [ProbeModule]);
    issuer = await devIssuer(wfm);
  });
  afterAll(async () => {
    await wfm?.stop();
  });

  it('admits an accepted client and resolves it from its SPIFFE ID', async () => {
    const client = await rc3Client(wfm, 'device-a');
    const res = await client.call('GET', '/api/v1/_probe/whoami');
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({
      profile: 'rc3',
      externalId: 'device-a',
      spiffeId: 'spiffe://wfm.local/margo/wfm/wfm-1/client/device-a',
    });
    client.close();
  });

  it('verifies the WFM by its SPIFFE ID, and refuses a server with another one', async () => {
    const svid = await issueClientSvid(issuer, 'device-check');
    const wrong = new Rc3Client({
      ...{ baseUrl: wfm.url, ca: wfm.serverCa! },
      ...svid,
      wfmSpiffeId: 'spiffe://wfm.local/margo/wfm/other',
    });
    await expect(wrong.call('GET', '/health/live')).rejects.toThrow(/SPIFFE ID/);
    wrong.close();
  });

  it('answers 401 problem+json without a client certificate', async () => {
    const res = await wfm.call('/api/v1/_probe/whoami');
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(res.json()).toMatchObject({
      status: 401,
      retryable: false,
      detail: expect.stringContaining('none was presented'),
    });
  });

  it('answers 401 for a certificate from another CA', async () => {
    const otherCa = await createCa({ commonName: 'rogue CA' });
    const svid = await issueClientSvid({ ...issuer, ca: otherCa }, 'device-a');
    const client = clientFor(wfm, svid);
    const res = await client.call('GET', '/api/v1/_probe/whoami');
    expect(res.status).toBe(401);
    expect(res.json<{ detail: string }>().detail).toContain('does not chain to a current trust anchor');
    client.close();
  });

  it('answers 403 #not-authorized for a valid SVID of another shape, another trust domain, or not accepted', async () => {
    const cases = [
      await issueClientSvid(issuer, 'x', { spiffeId: 'spiffe://wfm.local/margo/wfm/wfm-1' }),
      await issueClientSvid(issuer, 'x', { spiffeId: 'spiffe://wfm.local/workload/x' }),
      await issueClientSvid(issuer, 'x', {
        spiffeId: 'spiffe://other.example/margo/wfm/wfm-1/client/device-a',
      }),
      await issueClientSvid(issuer, 'x', { spiffeId: 'spiffe://wfm.local/margo/wfm/wfm-2/client/device-a' }),
      await issueClientSvid(issuer, 'never-accepted'),
    ];
    for (const svid of cases) {
      const client = clientFor(wfm, svid);
      const res = await client.call('GET', '/api/v1/_probe/whoami');
      expect(res.status, svid.spiffeId).toBe(403);
      expect(res.json()).toMatchObject({ type: NOT_AUTHORIZED, status: 403 });
      client.close();
    }
  });

  it('refuses an expired certificate and a CA certificate presented as a client', async () => {
    const expired = await issueClientSvid(issuer, 'device-a', {
      notBefore: new Date(Date.now() - 10 * 86_400_000),
      notAfter: new Date(Date.now() - 86_400_000),
    });
    const client = clientFor(wfm, expired);
    expect((await client.call('GET', '/api/v1/_probe/whoami')).status).toBe(401);
    client.close();
  });

  it('refuses leaves that are not end-entity client certificates (X.509-SVID leaf rules)', async () => {
    await acceptClient(wfm, 'device-shape');
    const cases: Array<[string, Parameters<typeof issueClientSvid>[2], string]> = [
      [
        'CA:TRUE without keyCertSign',
        { shape: { basicConstraintsCa: true, keyUsage: KeyUsageFlags.digitalSignature } },
        'cA=true',
      ],
      ['EKU serverAuth only', { shape: { extendedKeyUsage: [ExtendedKeyUsage.serverAuth] } }, 'clientAuth'],
      ['EKU codeSigning only', { shape: { extendedKeyUsage: [ExtendedKeyUsage.codeSigning] } }, 'clientAuth'],
      [
        'key usage keyEncipherment only',
        { shape: { keyUsage: KeyUsageFlags.keyEncipherment } },
        'digitalSignature',
      ],
    ];
    for (const [name, options, detail] of cases) {
      const client = clientFor(wfm, await issueClientSvid(issuer, 'device-shape', options));
      const res = await client.call('GET', '/api/v1/_probe/whoami');
      expect(res.status, name).toBe(401);
      expect(res.headers['content-type'], name).toBe('application/problem+json');
      expect(res.json<{ detail: string }>().detail, name).toContain(detail);
      client.close();
    }
    // Control: the same client with a proper leaf, and one without key usage and EKU (both optional).
    for (const options of [{}, { shape: { keyUsage: null, extendedKeyUsage: [] } }]) {
      const client = clientFor(wfm, await issueClientSvid(issuer, 'device-shape', options));
      expect((await client.call('GET', '/api/v1/_probe/whoami')).status).toBe(200);
      client.close();
    }
  });

  it('refuses a client retired while its connection stays open, on its next request', async () => {
    const client = await rc3Client(wfm, 'device-retire');
    let handshakes = 0;
    const onHandshake = (socket: TLSSocket) => {
      if (socket.getPeerCertificate().subject?.CN === 'device-retire') handshakes += 1;
    };
    wfm.server!.on('secureConnection', onHandshake);
    expect((await client.call('GET', '/api/v1/_probe/whoami')).status).toBe(200);
    const retired = await wfm.call('/operator/v1/clients/device-retire', {
      method: 'DELETE',
      headers: bearer(wfm.adminToken),
    });
    expect(retired.status).toBe(204);
    const res = await client.call('GET', '/api/v1/_probe/whoami');
    expect(res.status).toBe(403);
    expect(res.json()).toMatchObject({ type: NOT_AUTHORIZED, title: 'Client Relationship Retired' });
    expect(handshakes).toBe(1); // the same kept-alive connection
    wfm.server!.off('secureConnection', onHandshake);
    await acceptClient(wfm, 'device-retire');
    expect((await client.call('GET', '/api/v1/_probe/whoami')).status).toBe(200);
    client.close();
  });

  it('ignores a Client-Cert header from an address that is not a trusted proxy', async () => {
    const svid = await issueClientSvid(issuer, 'device-a');
    const der = svid.cert.cert.rawData;
    const res = await wfm.call('/api/v1/_probe/whoami', {
      headers: { 'client-cert': `:${Buffer.from(der).toString('base64')}:` },
    });
    expect(res.status).toBe(401);
  });
});

describe('rc.3 identity behind a TLS-offloading proxy (RFC 9440 Client-Cert)', () => {
  let wfm: TestService;
  beforeAll(async () => {
    wfm = await startTestService({ WFM_TRUSTED_PROXIES: '127.0.0.1/32,::1' }, [ProbeModule]);
  });
  afterAll(async () => {
    await wfm?.stop();
  });

  it('honours the header from a trusted proxy address', async () => {
    await acceptClient(wfm, 'proxied');
    const svid = await issueClientSvid(await devIssuer(wfm), 'proxied');
    const header = `:${Buffer.from(svid.cert.cert.rawData).toString('base64')}:`;
    const res = await wfm.call('/api/v1/_probe/whoami', { headers: { 'client-cert': header } });
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ externalId: 'proxied' });
    const malformed = await wfm.call('/api/v1/_probe/whoami', { headers: { 'client-cert': 'garbage' } });
    expect(malformed.status).toBe(401);
  });
});

describe('trust anchors replaced at run time', () => {
  let wfm: TestService;
  let dir: string;
  let bundle: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wfm-anchors-'));
    bundle = join(dir, 'bundle.pem');
  });
  afterAll(async () => {
    await wfm?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a client of a removed CA and admits one of the new CA, without a restart', async () => {
    const oldCa = await createCa({ commonName: 'old CA' });
    const newCa = await createCa({ commonName: 'new CA' });
    await writeFile(bundle, oldCa.certPem);
    wfm = await startTestService({ WFM_TRUST_BUNDLE_FILE: bundle }, [ProbeModule]);
    await acceptClient(wfm, 'device-old');
    await acceptClient(wfm, 'device-new');
    const id = { trustDomain: 'wfm.local', wfmId: 'wfm-1' };
    const serverCa = wfm.serverCa!;
    const oldClient = new Rc3Client({
      baseUrl: wfm.url,
      ca: serverCa,
      ...(await issueClientSvid({ ...id, ca: oldCa }, 'device-old')),
      wfmSpiffeId: wfm.config.identity.spiffeId,
    });
    expect((await oldClient.call('GET', '/api/v1/_probe/whoami')).status).toBe(200);

    await writeFile(bundle, newCa.certPem);
    let status = 0;
    for (let i = 0; i < 50 && status !== 401; i += 1) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await oldClient.call('GET', '/api/v1/_probe/whoami')).status;
    }
    expect(status).toBe(401);

    const newClient = new Rc3Client({
      baseUrl: wfm.url,
      ca: serverCa,
      ...(await issueClientSvid({ ...id, ca: newCa }, 'device-new')),
      wfmSpiffeId: wfm.config.identity.spiffeId,
    });
    expect((await newClient.call('GET', '/api/v1/_probe/whoami')).status).toBe(200);

    await writeFile(bundle, 'not a certificate');
    await new Promise((r) => setTimeout(r, 2_500));
    expect((await newClient.call('GET', '/api/v1/_probe/whoami')).status).toBe(200); // an unusable bundle is refused
    oldClient.close();
    newClient.close();
    expect((await request(`${wfm.url}/health/live`, { ca: serverCa })).status).toBe(200);
  });
});

describe('device API paths that no route serves', () => {
  let wfm: TestService;
  beforeAll(async () => {
    wfm = await startTestService({ WFM_ONBOARDING_MODE: 'auto' });
  });
  afterAll(async () => {
    await wfm?.stop();
  });

  it('authenticate first: 401 without credentials, 404 problem once authenticated', async () => {
    expect((await wfm.call('/api/v1/no-such-thing')).status).toBe(401);
    expect((await wfm.call('/api/v1/clients/abc/no-such-thing')).status).toBe(404); // unknown clientId
    const client = await rc3Client(wfm, 'fallback');
    const res = await client.call('GET', '/api/v1/no-such-thing');
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toBe('application/problem+json');
    client.close();
    expect((await wfm.call('/api/v1/onboarding/certificate')).status).toBe(200);
  });
});
