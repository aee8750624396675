import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { issueClientSvid, loadIssuer, type SvidIssuer } from '../../src/client/identities.js';
import { Rc3Client } from '../../src/client/margo-client.js';
import type { TestService } from './service.js';

/** The development CA of a running test service, as an SVID issuer. */
export async function devIssuer(wfm: TestService): Promise<SvidIssuer> {
  const dir = join(wfm.dataDir, 'pki');
  return loadIssuer(
    await readFile(join(dir, 'ca.pem'), 'utf8'),
    await readFile(join(dir, 'ca-key.pem'), 'utf8'),
    wfm.config.identity.trustDomain,
    wfm.config.identity.wfmId,
  );
}

/** Accepts a client through the operator API. */
export async function acceptClient(wfm: TestService, clientId: string): Promise<void> {
  const res = await wfm.call(`/operator/v1/clients/${clientId}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${wfm.adminToken}` },
  });
  if (res.status !== 201 && res.status !== 200) {
    throw new Error(`accept ${clientId}: ${res.status} ${res.text()}`);
  }
}

/** Mints an SVID from the dev CA, optionally accepts it, and returns a client for it. */
export async function rc3Client(wfm: TestService, clientId: string, accept = true): Promise<Rc3Client> {
  const svid = await issueClientSvid(await devIssuer(wfm), clientId);
  if (accept) await acceptClient(wfm, clientId);
  return new Rc3Client({
    baseUrl: wfm.url,
    ca: wfm.serverCa!,
    certChainPem: svid.certChainPem,
    keyPem: svid.keyPem,
    wfmSpiffeId: wfm.config.identity.spiffeId,
  });
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}
