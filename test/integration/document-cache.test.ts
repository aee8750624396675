import { afterAll, describe, expect, it } from 'vitest';
import { sha256Digest } from '../../src/client/digest.js';
import type { Rc3Client } from '../../src/client/margo-client.js';
import { PrismaService } from '../../src/infra/database/prisma.service.js';
import { capabilities } from '../support/capabilities.js';
import { bearer, rc3Client } from '../support/identities.js';
import { linePackage } from '../support/packages.js';
import { type TestService, startTestService } from '../support/service.js';

interface Manifest {
  bundle: { digest: string } | null;
  deployments: { deploymentId: string; digest: string }[];
}

/**
 * Issue 15 item 4: YAML and bundles by digest are answered from memory once read. The proof that no
 * Postgres read happens: the stored rows are deleted underneath, and the answers stay the same bytes
 * — for the client they belong to only.
 */
describe('digest-addressed downloads from the in-memory document cache', () => {
  const services: TestService[] = [];
  const devices: Rc3Client[] = [];
  afterAll(async () => {
    for (const d of devices) d.close();
    await Promise.all(services.map((s) => s.stop()));
  });

  /** A service with one deployment placed on line-a/press-1; answers its manifest entry. */
  async function placed(env: Record<string, string>) {
    const wfm = await startTestService({ WFM_ONBOARDING_MODE: 'auto', ...env });
    services.push(wfm);
    const admin = { ...bearer(wfm.adminToken), 'content-type': 'application/json' };
    const pkg = await wfm.call('/operator/v1/applications', {
      method: 'POST',
      headers: { ...bearer(wfm.adminToken), 'content-type': 'application/yaml' },
      body: linePackage(),
    });
    expect(pkg.status, pkg.text()).toBe(201);
    const device = await rc3Client(wfm, 'line-a');
    const other = await rc3Client(wfm, 'line-b');
    devices.push(device, other);
    const caps = capabilities('press-1', { supportedDeploymentTypes: ['compose'] });
    expect((await device.putCapabilities('press-1', caps)).status).toBe(201);
    const created = await wfm.call('/operator/v1/deployments', {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({
        applicationId: 'com-example-line-monitor',
        parameters: { greeting: 'Hi', siteId: 'DE-001' },
        target: { clientId: 'line-a', deviceId: 'press-1' },
      }),
    });
    expect(created.status, created.text()).toBe(201);
    const end = Date.now() + 15_000;
    let manifest = (await device.getManifest()).json<Manifest>();
    while (manifest.deployments.length === 0 && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 100));
      manifest = (await device.getManifest()).json<Manifest>();
    }
    expect(manifest.deployments).toHaveLength(1);
    const prisma = wfm.app.get(PrismaService);
    const dropStored = async () => {
      await prisma.$executeRaw`DELETE FROM rendered_document`;
      await prisma.$executeRaw`DELETE FROM bundle`;
    };
    return { wfm, device, other, entry: manifest.deployments[0], bundle: manifest.bundle!, dropStored };
  }

  it('keeps answering the same bytes, in every encoding, after the stored rows are gone', async () => {
    const { device, other, entry, bundle, dropStored } = await placed({});
    const plain = await device.getDeploymentYaml(entry.deploymentId, entry.digest);
    expect(plain.status).toBe(200);
    expect(plain.headers['x-request-id']).toEqual(expect.any(String));
    const gzip = await device.getDeploymentYaml(entry.deploymentId, entry.digest, {
      'accept-encoding': 'gzip',
    });
    const tar = await device.getBundle(bundle.digest);
    expect(tar.status).toBe(200);

    await dropStored();

    const again = await device.getDeploymentYaml(entry.deploymentId, entry.digest);
    expect(again.status).toBe(200);
    expect(again.body.equals(plain.body)).toBe(true);
    expect(sha256Digest(again.body)).toBe(entry.digest);
    expect(again.headers).toMatchObject({
      'content-type': 'application/yaml',
      'cache-control': 'private, max-age=31536000, immutable',
      etag: `"${entry.digest}"`,
      vary: 'Accept-Encoding',
    });
    const gzipAgain = await device.getDeploymentYaml(entry.deploymentId, entry.digest, {
      'accept-encoding': 'gzip',
    });
    expect(gzipAgain.headers['content-encoding']).toBe('gzip');
    expect(gzipAgain.body.equals(gzip.body)).toBe(true);
    // br was never asked for before the rows went: compressed from the cached bytes
    const br = await device.getDeploymentYaml(entry.deploymentId, entry.digest, { 'accept-encoding': 'br' });
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.body.equals(plain.body)).toBe(true);
    expect(
      (
        await device.getDeploymentYaml(entry.deploymentId, entry.digest, {
          'if-none-match': `"${entry.digest}"`,
        })
      ).status,
    ).toBe(304);
    const tarAgain = await device.getBundle(bundle.digest);
    expect(tarAgain.status).toBe(200);
    expect(tarAgain.body.equals(tar.body)).toBe(true);

    // another client asking for the same paths: 404 problems, never the cached bytes
    const foreign = await other.getDeploymentYaml(entry.deploymentId, entry.digest);
    expect(foreign.status).toBe(404);
    expect(foreign.headers['content-type']).toBe('application/problem+json');
    expect((await other.getBundle(bundle.digest)).status).toBe(404);
    // the right client, a wrong deployment id for the digest: 404 as before
    expect(
      (await device.getDeploymentYaml('00000000-0000-4000-8000-000000000000', entry.digest)).status,
    ).toBe(404);
  });

  it('reads Postgres on every request when WFM_DOCUMENT_CACHE_MB=0', async () => {
    const { device, entry, bundle, dropStored } = await placed({ WFM_DOCUMENT_CACHE_MB: '0' });
    expect((await device.getDeploymentYaml(entry.deploymentId, entry.digest)).status).toBe(200);
    expect((await device.getBundle(bundle.digest)).status).toBe(200);
    await dropStored();
    const gone = await device.getDeploymentYaml(entry.deploymentId, entry.digest);
    expect(gone.status).toBe(404);
    expect(gone.json()).toMatchObject({ status: 404 });
    expect((await device.getBundle(bundle.digest)).status).toBe(404);
  });
});
