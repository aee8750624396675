import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { verifyRequestSignature } from '../../../common/http-signatures/index.js';
import type { RawBodyRequest } from '../../../common/http/body-reader.middleware.js';
import { InvalidRequestError, TooManyRequestsError } from '../../../common/problem/domain-error.js';
import { APP_CONFIG, type AppConfig, type PublicHost } from '../../../config/config.js';
import { RedisService } from '../../../infra/redis/redis.module.js';
import { ClientDirectory } from '../client-directory.service.js';
import { EnrollmentRequestRecorder } from '../enrollment-request.recorder.js';
import { AUTO_ACCEPT, EnrollmentRequestsService } from '../enrollment-requests.service.js';
import {
  ClientNotAuthorizedError,
  InvalidCredentialsError,
  UnknownClientError,
} from '../enrollment.errors.js';
import { parseClientCertHeaders } from '../identity/client-cert-header.js';
import { clientIdFromSpiffeId, type SvidResult, validateSvid } from '../identity/svid.js';
import { TrustStore } from '../identity/trust-store.service.js';
import type { AuthenticatedClient, ClientRecord } from './authenticated-client.js';
import { checkAuthority } from './authority.js';
import { FailedAuthLimiter } from './failed-auth-limiter.service.js';
import { RateLimiter } from './rate-limiter.js';
import { ReplayCache } from './replay-cache.js';
import { TrustedProxies } from './trusted-proxies.js';

const SVID_CACHE_MAX = 50_000;
/** Covered-component sets a legacy signature must include one of (D19, RFC 9421). */
const REQUIRED_COMPONENTS = [
  ['@method', '@target-uri'],
  ['@method', '@authority', '@path'],
];

/**
 * Authenticates device requests for both Margo profiles. rc.3: the caller's X.509-SVID (from the TLS
 * session, or from a trusted TLS-offloading proxy's RFC 9440 Client-Cert header) is validated
 * against the current anchors, its SPIFFE ID must be this WFM's client shape, and the client must be
 * in the accepted-client policy — re-evaluated on every request from in-memory caches, so the poll
 * path makes no Postgres query. Legacy: RFC 9421 signature + RFC 9530 Content-Digest with the key of
 * the certificate onboarded for the path's clientId.
 */
@Injectable()
export class DeviceAuthService {
  private readonly trustedProxies: TrustedProxies;
  private readonly svidCache = new Map<string, { version: number; result: SvidResult; notAfter: number }>();
  private readonly socketChains = new WeakMap<TLSSocket, X509Certificate[]>();
  private readonly limiter: RateLimiter;
  private readonly replays: ReplayCache;
  private hosts?: readonly PublicHost[];

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly trust: TrustStore,
    private readonly directory: ClientDirectory,
    private readonly failures: FailedAuthLimiter,
    private readonly recorder: EnrollmentRequestRecorder,
    private readonly enrollment: EnrollmentRequestsService,
    redis: RedisService,
  ) {
    this.trustedProxies = new TrustedProxies(config.tls.trustedProxies);
    this.limiter = new RateLimiter(config.rateLimit.perMinute, config.rateLimit.burst);
    this.replays = new ReplayCache(redis.client, config.queue.prefix);
  }

  /**
   * rc.3 authentication. Failures (401) count against the source address's failed-authentication
   * budget, and a valid SVID of an unaccepted client id is noted as an enrollment request, unless
   * `countFailures` is false (the poll fast path, whose failures the Nest pipeline retries and counts).
   */
  authenticateRc3(req: Request, countFailures = true): Promise<AuthenticatedClient> {
    return this.failures.run(req, () => this.rc3(req, countFailures), countFailures);
  }

  /** Legacy authentication; a 401 or an unknown clientId counts as a failed authentication. */
  authenticateLegacy(req: RawBodyRequest): Promise<AuthenticatedClient> {
    return this.failures.run(req, () => this.legacy(req));
  }

  private async rc3(req: Request, record: boolean): Promise<AuthenticatedClient> {
    const chain = this.presentedChain(req);
    if (chain === undefined) {
      throw new InvalidCredentialsError('The forwarded Client-Cert header is malformed');
    }
    if (chain.length === 0) {
      throw new InvalidCredentialsError(
        'This route requires mutual TLS with a WFM Client X.509-SVID; none was presented',
      );
    }
    const svid = this.validate(chain);
    if (!svid.ok) {
      throw new InvalidCredentialsError(`The client certificate is not a valid X.509-SVID: ${svid.reason}`);
    }
    const { trustDomain, wfmId } = this.config.identity;
    const clientId = clientIdFromSpiffeId(svid.spiffeId, trustDomain, wfmId);
    if (clientId === undefined) {
      throw new ClientNotAuthorizedError(
        `${svid.spiffeId} is not a WFM client identity of this WFM (expected spiffe://${trustDomain}/margo/wfm/${wfmId}/client/<wfm-client-id>)`,
      );
    }
    let client = await this.directory.find('rc3', clientId);
    if (client?.state === 'retired') {
      throw new ClientNotAuthorizedError(`The relationship with client ${clientId} has been retired`, true);
    }
    if (!client || client.state !== 'active') {
      const auto = this.enrollment.autoAccepts(clientId);
      // an enrollment request: noted in memory only (written in batches, off this request's path)
      if (record || auto) this.noteRequest(req, chain[0], clientId, svid.spiffeId, auto);
      if (auto) client = await this.enrollment.autoAccept(clientId);
      if (client?.state !== 'active') {
        throw new ClientNotAuthorizedError(`Client ${clientId} is not in this WFM's accepted-client policy`);
      }
    }
    return this.admit(client, req, svid.spiffeId);
  }

  private async legacy(req: RawBodyRequest): Promise<AuthenticatedClient> {
    const clientId = String(req.params.clientId ?? '');
    const client = await this.directory.find('legacy', clientId);
    if (!client) throw new UnknownClientError(clientId);
    if (!client.publicKey) throw new ClientNotAuthorizedError(`Client ${clientId} has no usable certificate`);

    const result = verifyRequestSignature({
      method: req.method,
      targetUri: this.targetUri(req),
      headers: req.headers,
      body: req.rawBody,
      publicKey: client.publicKey,
      expectedKeyId: client.keyId ?? undefined,
      nowSeconds: Math.floor(Date.now() / 1000),
      maxSkewSeconds: this.config.auth.signatureMaxSkewSeconds,
      requiredComponents: REQUIRED_COMPONENTS,
      requireContentDigestWhenBody: true,
    });
    if (!result.ok) {
      if (result.status === 400) throw new InvalidRequestError(result.message);
      throw new InvalidCredentialsError(result.message);
    }
    const fresh = await this.replays.firstUse(
      client.keyId ?? client.id,
      result.canonicalSignature,
      this.config.auth.signatureMaxSkewSeconds * 2,
    );
    if (!fresh) throw new InvalidCredentialsError('This signature was already used (replay)');
    if (client.state !== 'active') {
      throw new ClientNotAuthorizedError(
        client.state === 'pending'
          ? `Client ${clientId} is waiting for an operator's approval`
          : `Client ${clientId} is ${client.state === 'rejected' ? 'rejected' : 'retired'}`,
        client.state === 'retired',
      );
    }
    return this.admit(client, req);
  }

  /**
   * The absolute URL the client addressed (RFC 9421 @target-uri), honouring a trusted proxy's headers.
   * Its authority comes from Host / X-Forwarded-Host, which the caller chooses, so it must be one of
   * the WFM's own names (WFM_PUBLIC_HOSTS): otherwise a signature made for another service would verify.
   */
  targetUri(req: Request): string {
    const proxied = this.fromTrustedProxy(req);
    const forwardedProto = proxied ? firstHeader(req.headers['x-forwarded-proto']) : undefined;
    const forwardedHost = proxied ? firstHeader(req.headers['x-forwarded-host']) : undefined;
    const scheme = forwardedProto ?? (this.config.http.plainHttp ? 'http' : 'https');
    const host = forwardedHost ?? req.headers.host ?? '';
    const authority = checkAuthority(host, scheme === 'http' ? 'http' : 'https', this.publicHosts());
    if (!authority.ok) throw new InvalidCredentialsError(authority.reason);
    return `${scheme}://${host}${req.originalUrl}`;
  }

  /** WFM_PUBLIC_HOSTS; by default also the names in the server certificate (known once TLS is loaded). */
  private publicHosts(): readonly PublicHost[] {
    if (this.hosts) return this.hosts;
    const { publicHosts, publicHostsConfigured } = this.config.http;
    if (publicHostsConfigured) return (this.hosts = publicHosts);
    const names = this.trust.serverNames();
    if (names === undefined) return publicHosts; // TLS material not loaded yet: do not cache
    const known = new Set(publicHosts.map((h) => h.host));
    const extra = names.filter((name) => !known.has(name)).map((host) => ({ host }));
    return (this.hosts = [...publicHosts, ...extra]);
  }

  private admit(client: ClientRecord, req: Request, spiffeId?: string): AuthenticatedClient {
    const limit = this.limiter.consume(client.id);
    if (!limit.ok) {
      throw new TooManyRequestsError(
        `Client ${client.externalId} is over its request rate limit`,
        limit.retryAfterSeconds,
      );
    }
    this.directory.touch(client.id, req.socket.remoteAddress);
    return {
      id: client.id,
      profile: client.profile,
      externalId: client.externalId,
      ...(spiffeId ? { spiffeId } : {}),
    };
  }

  private noteRequest(
    req: Request,
    leaf: X509Certificate,
    clientId: string,
    spiffeId: string,
    auto: boolean,
  ): void {
    this.recorder.note({
      clientId,
      spiffeId,
      leaf,
      deviceId: attemptedDeviceId(req),
      address: this.trustedProxies.sourceAddress(req),
      ...(auto ? { approvedBy: AUTO_ACCEPT } : {}),
    });
  }

  private fromTrustedProxy(req: Request): boolean {
    return this.trustedProxies.isProxy(req);
  }

  /** The caller's certificate chain: from a trusted proxy's header, else from the TLS session. */
  private presentedChain(req: Request): X509Certificate[] | undefined {
    if (this.fromTrustedProxy(req) && req.headers['client-cert'] !== undefined) {
      return parseClientCertHeaders(req.headers['client-cert'], req.headers['client-cert-chain']);
    }
    const socket = req.socket as TLSSocket;
    if (typeof socket.getPeerCertificate !== 'function') return [];
    let chain = this.socketChains.get(socket);
    if (!chain) {
      chain = [];
      const seen = new Set<string>();
      let peer = socket.getPeerCertificate(true) as
        (ReturnType<TLSSocket['getPeerCertificate']> & { issuerCertificate?: unknown }) | undefined;
      while (peer?.raw && !seen.has(peer.fingerprint256)) {
        seen.add(peer.fingerprint256);
        chain.push(new X509Certificate(peer.raw));
        peer = peer.issuerCertificate as typeof peer;
      }
      this.socketChains.set(socket, chain);
    }
    return chain;
  }

  /** validateSvid with a cache keyed by the leaf and the anchor-set version. */
  private validate(chain: X509Certificate[]): SvidResult {
    const key = chain.map((c) => c.fingerprint256).join('|');
    const now = Date.now();
    const hit = this.svidCache.get(key);
    if (hit && hit.version === this.trust.version && now <= hit.notAfter) return hit.result;
    const result = validateSvid(chain, this.trust.current(), new Date(now));
    if (this.svidCache.size >= SVID_CACHE_MAX) this.svidCache.delete(this.svidCache.keys().next().value!);
    const notAfter = Math.min(...chain.map((c) => new Date(c.validTo).getTime()));
    this.svidCache.set(key, { version: this.trust.version, result, notAfter });
    return result;
  }
}

const CAPABILITIES_PATH = '/api/v1/capabilities/';

/** The device id a refused rc.3 request tried to report: the capabilities path, or a status body's `deviceId`. */
function attemptedDeviceId(req: Request): string | undefined {
  const path = (req.originalUrl ?? req.url ?? '').split('?')[0];
  if (path.startsWith(CAPABILITIES_PATH)) {
    try {
      return decodeURIComponent(path.slice(CAPABILITIES_PATH.length));
    } catch {
      return undefined;
    }
  }
  const body = (req as { body?: unknown }).body;
  if (body && typeof body === 'object' && typeof (body as { deviceId?: unknown }).deviceId === 'string') {
    return (body as { deviceId: string }).deviceId;
  }
  return undefined;
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  return raw?.split(',')[0]?.trim() || undefined;
}
