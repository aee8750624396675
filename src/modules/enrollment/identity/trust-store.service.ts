import { type X509Certificate } from 'node:crypto';
import { unwatchFile, watchFile } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type https from 'node:https';
import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../../config/config.js';
import type { TlsMaterial } from '../../../infra/tls/tls-material.js';
import { TrustBundleSource } from '../trust/trust-bundle-source.js';
import { parsePemBundle } from './svid.js';

const FILE_POLL_MS = 1_000;

/**
 * The current trust anchors for client certificates: from WFM_TRUST_BUNDLE_URL (a Margo trust-bundle
 * endpoint, refreshed per its hint), else WFM_TRUST_BUNDLE_FILE or the development CA (the file is
 * watched). A new set replaces the old one entirely (never merged), an empty set is refused (fail
 * closed), and the HTTPS server's TLS context is swapped so new handshakes use it at once. `version`
 * changes with every accepted set, so per-request checks re-validate callers on kept-alive or
 * resumed connections.
 */
@Injectable()
export class TrustStore implements OnModuleDestroy {
  private readonly logger = new Logger(TrustStore.name);
  private anchors: X509Certificate[] = [];
  private pem = '';
  private watchedFile?: string;
  private urlSource?: TrustBundleSource;
  private server?: https.Server;
  private material?: TlsMaterial;
  version = 0;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  /** Loads the first anchor set; throws when none can be had (the service must not start open). */
  async initialize(material: TlsMaterial): Promise<void> {
    this.material = material;
    const url = this.config.tls.trustBundleUrl;
    if (url) {
      const ca = this.config.tls.trustBundleUrlCaFile
        ? await readFile(this.config.tls.trustBundleUrlCaFile, 'utf8')
        : undefined;
      this.urlSource = new TrustBundleSource({
        discoveryUrl: url,
        expectedTrustDomain: this.config.identity.trustDomain,
        ca,
        onUpdate: (bundle) => this.replace(bundle.anchorsPem.join('\n'), bundle.sourceUri),
        onError: (error) =>
          this.logger.warn({
            msg: 'trust bundle refresh failed; keeping the last good bundle',
            error: error.message,
          }),
      });
      await this.urlSource.start();
      return;
    }
    this.replace(material.trustBundlePem, material.trustBundleSource);
    this.watch(material.trustBundleSource);
  }

  /**
   * The DNS names and IP addresses (lower-case, IPv6 compressed) in the WFM's own server certificate:
   * devices address the WFM by them, so they are default public hosts (WFM_PUBLIC_HOSTS unset).
   */
  serverNames(): string[] | undefined {
    if (!this.material) return undefined;
    const leaf = parsePemBundle(this.material.certChainPem)[0];
    const names: string[] = [];
    for (const entry of leaf?.subjectAltName?.split(', ') ?? []) {
      if (entry.startsWith('DNS:')) names.push(entry.slice(4).toLowerCase());
      else if (entry.startsWith('IP Address:')) names.push(normalizeIp(entry.slice(11)));
    }
    return names;
  }

  /** Fetches the trust bundle now (URL mode); rejects, keeping the current anchors, when that fails. */
  async refreshFromUrl(): Promise<void> {
    if (!this.urlSource) throw new Error('no WFM_TRUST_BUNDLE_URL is configured');
    await this.urlSource.refreshNow();
  }

  current(): readonly X509Certificate[] {
    return this.anchors;
  }

  currentPem(): string {
    return this.pem;
  }

  /** The HTTPS server whose TLS context follows the anchors. */
  attachServer(server: https.Server): void {
    this.server = server;
  }

  /** Installs a new anchor set (PEM bundle); returns false (and keeps the old set) when it is unusable. */
  replace(pem: string, source: string): boolean {
    let anchors: X509Certificate[];
    try {
      anchors = parsePemBundle(pem).filter((c) => c.ca);
    } catch (error) {
      this.logger.error({
        msg: 'trust bundle does not parse; keeping the current anchors',
        source,
        error: String(error),
      });
      return false;
    }
    if (anchors.length === 0) {
      this.logger.error({
        msg: 'trust bundle has no CA certificate; refused (fail closed), keeping the current anchors',
        source,
      });
      return false;
    }
    this.anchors = anchors;
    this.pem = anchors.map((a) => a.toString()).join('\n');
    this.version += 1;
    if (this.server && this.material) {
      this.server.setSecureContext({ ...tlsContextOptions(this.material, this.config), ca: this.pem });
    }
    this.logger.log({ msg: 'trust anchors loaded', source, anchors: anchors.length, version: this.version });
    return true;
  }

  private watch(path: string): void {
    this.watchedFile = path;
    watchFile(path, { interval: FILE_POLL_MS, persistent: false }, (curr, prev) => {
      if (curr.mtimeMs === prev.mtimeMs && curr.size === prev.size) return;
      readFile(path, 'utf8').then(
        (pem) => this.replace(pem, path),
        (error: unknown) =>
          this.logger.warn({ msg: 'cannot read the trust bundle file', path, error: String(error) }),
      );
    });
  }

  onModuleDestroy(): void {
    if (this.watchedFile) unwatchFile(this.watchedFile);
    this.urlSource?.stop();
  }
}

/** TLS options of the device/operator port (also used when the context is swapped). */
function normalizeIp(ip: string): string {
  return ip.includes(':') ? new URL(`http://[${ip}]/`).hostname.slice(1, -1) : ip;
}

export function tlsContextOptions(material: TlsMaterial, config: AppConfig) {
  return {
    cert: material.certChainPem,
    key: material.keyPem,
    minVersion: 'TLSv1.2' as const,
    sessionTimeout: config.tls.sessionLifetimeSeconds,
  };
}
