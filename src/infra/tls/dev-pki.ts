import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createCa, issueCertificate, loadCa } from './pki.js';

/**
 * The development PKI, created on first start under `<data>/pki/` when no certificate files are
 * configured, and reused afterwards:
 *   ca.pem / ca-key.pem         trust-domain CA (the trust bundle devices and curl use)
 *   server.pem / server-key.pem the WFM's X.509-SVID (spiffe://<td>/margo/wfm/<wfm-id>, DNS localhost,
 *                               IP 127.0.0.1), re-issued when the identity changes or it nears expiry
 */
export interface DevPki {
  dir: string;
  caPath: string;
  caKeyPath: string;
  serverCertPath: string;
  serverKeyPath: string;
  created: string[];
}

const RENEW_BEFORE_MS = 30 * 86_400_000;

export function devPkiPaths(dataDir: string) {
  const dir = join(dataDir, 'pki');
  return {
    dir,
    caPath: join(dir, 'ca.pem'),
    caKeyPath: join(dir, 'ca-key.pem'),
    serverCertPath: join(dir, 'server.pem'),
    serverKeyPath: join(dir, 'server-key.pem'),
  };
}

async function writePrivate(path: string, content: string): Promise<void> {
  await writeFile(path, content, { mode: 0o600 });
}

export async function ensureDevPki(dataDir: string, trustDomain: string, spiffeId: string): Promise<DevPki> {
  const paths = devPkiPaths(dataDir);
  const created: string[] = [];
  await mkdir(paths.dir, { recursive: true, mode: 0o700 });

  if (!existsSync(paths.caPath) || !existsSync(paths.caKeyPath)) {
    const ca = await createCa({ commonName: `margo-wfm development CA (${trustDomain})` });
    await writeFile(paths.caPath, ca.certPem);
    await writePrivate(paths.caKeyPath, ca.keyPem);
    created.push(paths.caPath);
  }
  const caPem = await readFile(paths.caPath, 'utf8');

  let renew = !existsSync(paths.serverCertPath) || !existsSync(paths.serverKeyPath);
  if (!renew) {
    const current = new X509Certificate(await readFile(paths.serverCertPath));
    const ca = new X509Certificate(caPem);
    renew =
      current.subjectAltName?.includes(`URI:${spiffeId}`) !== true ||
      new Date(current.validTo).getTime() - Date.now() < RENEW_BEFORE_MS ||
      !current.checkIssued(ca) ||
      !current.verify(ca.publicKey);
  }
  if (renew) {
    const ca = await loadCa(caPem, await readFile(paths.caKeyPath, 'utf8'));
    const server = await issueCertificate({
      issuer: ca,
      commonName: 'localhost',
      uris: [spiffeId],
      dnsNames: ['localhost'],
      ips: ['127.0.0.1', '::1'],
      serverAuth: true,
      clientAuth: true,
    });
    await writeFile(paths.serverCertPath, server.certPem + caPem);
    await writePrivate(paths.serverKeyPath, server.keyPem);
    created.push(paths.serverCertPath);
  }
  return { ...paths, created };
}
