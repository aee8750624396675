import { createPrivateKey } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signRequest } from '../../src/client/http-signature-signer.js';
import { issueDeviceCertificate } from '../../src/client/identities.js';
import { LegacyClient } from '../../src/client/margo-client.js';
import { request } from '../../src/client/transport.js';
import { createCa, issueCertificate } from '../../src/infra/tls/pki.js';
import { ProbeModule } from '../support/probe.module.js';
import { type TestService, startTestService } from '../support/service.js';

/**
 * Issue #13 finding 8, with the WFM's own server certificate (WFM_TLS_CERT_FILE) and no
 * WFM_PUBLIC_HOSTS: a legacy device that addresses the WFM by a name of that certificate signs
 * `@authority` with it, and is accepted; another authority is not.
 */
describe('signature authority with an operator-provided server certificate', () => {
  const NAME = 'wfm.plant.example';
  let dir: string;
  let ca: string;
  let wfm: TestService;
  let client: LegacyClient;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wfm-authority-'));
    const root = await createCa({ commonName: 'Plant CA' });
    const server = await issueCertificate({
      issuer: root,
      commonName: NAME,
      dnsNames: [NAME],
      ips: ['127.0.0.1'],
      serverAuth: true,
    });
    await writeFile(join(dir, 'server.pem'), server.certPem);
    await writeFile(join(dir, 'server.key'), server.keyPem);
    ca = root.certPem;
    wfm = await startTestService(
      {
        WFM_TLS_CERT_FILE: join(dir, 'server.pem'),
        WFM_TLS_KEY_FILE: join(dir, 'server.key'),
        WFM_ONBOARDING_MODE: 'auto',
      },
      [ProbeModule],
    );
    const identity = await issueDeviceCertificate('authority-device', 'P-256');
    const onboarded = await LegacyClient.onboard(wfm.url, identity, { ca });
    expect(onboarded.response.status, onboarded.response.text()).toBe(201);
    client = onboarded.client!;
  });
  afterAll(async () => {
    client?.close();
    await wfm?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const call = (authority: string) => {
    const path = `/api/v1/clients/${client.clientId}/_probe/whoami`;
    const headers = signRequest({
      method: 'GET',
      url: `https://${authority}${path}`,
      privateKey: createPrivateKey(client.options.identity.keyPem),
    });
    return request(`${wfm.url}${path}`, { ca, servername: NAME, headers: { ...headers, host: authority } });
  };

  it('accepts a signature made for a name in the server certificate, with and without the port', async () => {
    const port = new URL(wfm.url).port;
    for (const authority of [`${NAME}:${port}`, NAME]) {
      const res = await call(authority);
      expect(res.status, `${authority}: ${res.text()}`).toBe(200);
    }
  });

  it('refuses a signature for another authority, naming the certificate name among ours', async () => {
    const res = await call('evil.example');
    expect(res.status).toBe(401);
    expect(res.json<{ detail: string }>().detail).toContain(NAME);
  });
});
