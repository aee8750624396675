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
 *                               IP 127.0.0.1 and ::1, plus the names and addresses of WFM_TLS_SANS),
 *                               re-issued when the identity or the names change, or it nears expiry
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

/** Names beyond the defaults (WFM_TLS_SANS) for the development server certificate. */
export interface ExtraSans {
  dnsNames?: readonly string[];
  ips?: readonly string[];
}

/** The SAN entries the server certificate must carry, in Node's `subjectAltName` spelling. */
export function expectedSans(spiffeId: string, extra: ExtraSans = {}) {
  const dnsNames = [...new Set(['localhost', ...(extra.dnsNames ?? [])])];
  const ips = [...new Set(['127.0.0.1', '::1', ...(extra.ips ?? [])].map(canonicalIp))];
  return { uris: [spiffeId], dnsNames, ips };
}

/** Node prints IPv6 SANs in full lower-case form (`0:0:…:1`); compare in one canonical form. */
function canonicalIp(ip: string): string {
  if (!ip.includes(':')) return ip;
  return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
}

function sanSet(subjectAltName: string | undefined): Set<string> {
  const entries = (subjectAltName ?? '').split(', ').filter((e) => e !== '');
  return new Set(entries.map((e) => (e.startsWith('IP Address:') ? `IP:${canonicalIp(e.slice(11))}` : e)));
}

function sameSans(actual: string | undefined, wanted: ReturnType<typeof expectedSans>): boolean {
  const want = new Set([
    ...wanted.uris.map((u) => `URI:${u}`),
    ...wanted.dnsNames.map((d) => `DNS:${d}`),
    ...wanted.ips.map((i) => `IP:${i}`),
  ]);
  const have = sanSet(actual);
  return have.size === want.size && [...want].every((e) => have.has(e));
}

export async function ensureDevPki(
  dataDir: string,
  trustDomain: string,
  spiffeId: string,
  extra: ExtraSans = {},
): Promise<DevPki> {
  const sans = expectedSans(spiffeId, extra);
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
      !sameSans(current.subjectAltName, sans) ||
      new Date(current.validTo).getTime() - Date.now() < RENEW_BEFORE_MS ||
      !current.checkIssued(ca) ||
      !current.verify(ca.publicKey);
  }
  if (renew) {
    const ca = await loadCa(caPem, await readFile(paths.caKeyPath, 'utf8'));
    const server = await issueCertificate({
      issuer: ca,
      commonName: 'localhost',
      uris: sans.uris,
      dnsNames: sans.dnsNames,
      ips: sans.ips,
      serverAuth: true,
      clientAuth: true,
    });
    await writeFile(paths.serverCertPath, server.certPem + caPem);
    await writePrivate(paths.serverKeyPath, server.keyPem);
    created.push(paths.serverCertPath);
  }
  return { ...paths, created };
}
