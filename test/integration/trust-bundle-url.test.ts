import https from 'node:https';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueClientSvid } from '../../src/client/identities.js';
import { Rc3Client } from '../../src/client/margo-client.js';
import { createCa, type IssuedCertificate, issueCertificate } from '../../src/infra/tls/pki.js';
import { TrustStore } from '../../src/modules/enrollment/identity/trust-store.service.js';
import { acceptClient } from '../support/identities.js';
import { ProbeModule } from '../support/probe.module.js';
import { type TestService, startTestService } from '../support/service.js';

/** A loopback Margo trust-bundle server (the MIS role): discovery document + SPIFFE bundle. */
describe('trust anchors from a Margo trust-bundle endpoint', () => {
  let mis: https.Server;
  let misUrl: string;
  let dir: string;
  let wfm: TestService;
  let state: { status: number; bundle: unknown };
  let ca1: IssuedCertificate;
  let ca2: IssuedCertificate;

  const bundleOf = (cas: IssuedCertificate[], sequence: number) => ({
    spiffe_sequence: sequence,
    spiffe_refresh_hint: 3600,
    keys: cas.map((ca) => ({ use: 'x509-svid', x5c: [Buffer.from(ca.cert.rawData).toString('base64')] })),
  });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wfm-mis-'));
    const misCa = await createCa({ commonName: 'MIS server CA' });
    const misCert = await issueCertificate({
      issuer: misCa,
      commonName: 'localhost',
      ips: ['127.0.0.1'],
      serverAuth: true,
    });
    await writeFile(join(dir, 'mis-ca.pem'), misCa.certPem);
    ca1 = await createCa({ commonName: 'trust domain CA 1' });
    ca2 = await createCa({ commonName: 'trust domain CA 2' });
    state = { status: 200, bundle: bundleOf([ca1], 1) };
    mis = https.createServer({ cert: misCert.certPem, key: misCert.keyPem }, (req, res) => {
      if (req.url === '/.well-known/margo') {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ trustDomain: 'wfm.local', trustBundleUri: '/bundle.json' }));
        return;
      }
      res.statusCode = state.status;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(state.bundle));
    });
    await new Promise<void>((r) => mis.listen(0, '127.0.0.1', () => r()));
    misUrl = `https://127.0.0.1:${(mis.address() as AddressInfo).port}/.well-known/margo`;
  });

  afterAll(async () => {
    await wfm?.stop();
    await new Promise<void>((r) => mis.close(() => r()));
    await rm(dir, { recursive: true, force: true });
  });

  const clientOf = async (ca: IssuedCertificate, id: string) =>
    new Rc3Client({
      baseUrl: wfm.url,
      ca: wfm.serverCa!,
      ...(await issueClientSvid({ trustDomain: 'wfm.local', wfmId: 'wfm-1', ca }, id)),
      wfmSpiffeId: wfm.config.identity.spiffeId,
    });

  it('refuses to start without a usable first bundle (fail closed)', async () => {
    state = { status: 200, bundle: { keys: [] } };
    await expect(
      startTestService({
        WFM_TRUST_BUNDLE_URL: misUrl,
        WFM_TRUST_BUNDLE_URL_CA_FILE: join(dir, 'mis-ca.pem'),
      }),
    ).rejects.toThrow();
  });

  it('admits clients of the bundle, replaces the anchors on refresh, keeps them when a refresh fails or is empty', async () => {
    state = { status: 200, bundle: bundleOf([ca1], 1) };
    wfm = await startTestService(
      { WFM_TRUST_BUNDLE_URL: misUrl, WFM_TRUST_BUNDLE_URL_CA_FILE: join(dir, 'mis-ca.pem') },
      [ProbeModule],
    );
    await acceptClient(wfm, 'one');
    await acceptClient(wfm, 'two');
    const one = await clientOf(ca1, 'one');
    const two = await clientOf(ca2, 'two');
    expect((await one.call('GET', '/api/v1/_probe/whoami')).status).toBe(200);
    expect((await two.call('GET', '/api/v1/_probe/whoami')).status).toBe(401);

    const store = wfm.app.get(TrustStore);
    state = { status: 200, bundle: bundleOf([ca2], 2) };
    await store.refreshFromUrl();
    expect((await one.call('GET', '/api/v1/_probe/whoami')).status).toBe(401); // replaced, not merged
    const twoAgain = await clientOf(ca2, 'two');
    expect((await twoAgain.call('GET', '/api/v1/_probe/whoami')).status).toBe(200);

    state = { status: 500, bundle: {} };
    await expect(store.refreshFromUrl()).rejects.toThrow();
    state = { status: 200, bundle: { spiffe_sequence: 3, keys: [{ use: 'jwt-svid', kty: 'EC' }] } };
    await expect(store.refreshFromUrl()).rejects.toThrow();
    expect((await twoAgain.call('GET', '/api/v1/_probe/whoami')).status).toBe(200); // last good bundle kept
    for (const c of [one, two, twoAgain]) c.close();
  });
});
