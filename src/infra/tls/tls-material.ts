import { readFile } from 'node:fs/promises';
import type { AppConfig } from '../../config/config.js';
import { ensureDevPki } from './dev-pki.js';

/** What the HTTPS server needs: its own certificate chain and key, and the current trust anchors. */
export interface TlsMaterial {
  certChainPem: string;
  keyPem: string;
  trustBundlePem: string;
  /** Where the anchors came from (a file path), for log lines. */
  trustBundleSource: string;
  /** Set when the development PKI is in use. */
  devCaPath?: string;
}

export async function loadTlsMaterial(config: AppConfig, log: (msg: string) => void): Promise<TlsMaterial> {
  const { certFile, keyFile, trustBundleFile } = config.tls;
  if (certFile && keyFile) {
    const certChainPem = await readFile(certFile, 'utf8');
    const bundlePath = trustBundleFile ?? certFile;
    return {
      certChainPem,
      keyPem: await readFile(keyFile, 'utf8'),
      trustBundlePem: await readFile(bundlePath, 'utf8'),
      trustBundleSource: bundlePath,
    };
  }
  const pki = await ensureDevPki(config.dataDir, config.identity.trustDomain, config.identity.spiffeId, {
    dnsNames: config.devTls.extraDnsNames,
    ips: config.devTls.extraIps,
  });
  for (const path of pki.created) log(`development PKI: created ${path}`);
  log(
    `development PKI in use: trust ${pki.caPath} (e.g. curl --cacert ${pki.caPath} https://localhost:${config.http.port}/health/ready)`,
  );
  return {
    certChainPem: await readFile(pki.serverCertPath, 'utf8'),
    keyPem: await readFile(pki.serverKeyPath, 'utf8'),
    trustBundlePem: trustBundleFile
      ? await readFile(trustBundleFile, 'utf8')
      : await readFile(pki.caPath, 'utf8'),
    trustBundleSource: trustBundleFile ?? pki.caPath,
    devCaPath: pki.caPath,
  };
}
