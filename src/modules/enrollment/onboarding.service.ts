import { type KeyObject, randomUUID, X509Certificate } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { verifyRequestSignature } from '../../common/http-signatures/index.js';
import type { RawBodyRequest } from '../../common/http/body-reader.middleware.js';
import { NotAuthorizedError } from '../../common/problem/domain-error.js';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import { DeviceAuthService } from './auth/device-auth.service.js';
import { RateLimiter } from './auth/rate-limiter.js';
import { TrustedProxies } from './auth/trusted-proxies.js';
import { type ClientRow, ClientRepository } from './client.repository.js';
import {
  CertificateAlreadyOnboardedError,
  InvalidCredentialsError,
  InvalidOnboardingRequestError,
  OnboardingQueueFullError,
  OnboardingRateLimitedError,
} from './enrollment.errors.js';
import { onboardingAddressKey } from './onboarding-address.js';
import { certificateFingerprint, parseCertificateInput, spkiKeyId } from './identity/certificate-input.js';
import { TrustStore } from './identity/trust-store.service.js';

/** Issued by itself and signed by its own key. */
function isSelfSigned(cert: X509Certificate): boolean {
  try {
    return cert.checkIssued(cert) && cert.verify(cert.publicKey);
  } catch {
    return false;
  }
}

/** Why a certificate's key is too weak to identify a client, or undefined when it is acceptable. */
function weakKeyReason(key: KeyObject): string | undefined {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  if (type === 'rsa' || type === 'rsa-pss') {
    return (details.modulusLength ?? 0) >= 2048 ? undefined : 'an RSA key must have at least 2048 bits';
  }
  if (type === 'ec') {
    return ['prime256v1', 'secp384r1', 'secp521r1'].includes(details.namedCurve ?? '')
      ? undefined
      : `the EC curve ${details.namedCurve ?? 'unknown'} is not allowed (P-256, P-384, P-521)`;
  }
  if (type === 'ed25519') return undefined;
  return `the key type ${type ?? 'unknown'} is not allowed (EC P-256/P-384/P-521, RSA ≥ 2048, Ed25519)`;
}

export const ONBOARDING_API_VERSION = 'onboarding.margo.org/v1alpha1';

export interface OnboardingResult {
  clientId: string;
  /** The request used the oldest draft's shape (`public_certificate`); answer with `client_id` too. */
  olderShape: boolean;
}

/**
 * Legacy-profile onboarding (spec §1.2, D19): a device uploads its certificate and receives a
 * clientId. Modes: `auto` admits any well-formed certificate, `approval` (default) admits it pending
 * an operator's decision, `preauthorized` only certificates an operator registered beforehand.
 *
 * Proof of possession (docs/decisions.md, "Onboarding: proof of possession and limits"): an upload
 * proves nothing, since only the certificate's key authenticates later requests. An onboarding signed
 * with that key (RFC 9421) proves possession and is recorded; a repeated onboarding answers 409 with
 * the existing clientId so that the real device continues even when someone uploaded its certificate
 * first. Unauthenticated onboarding is rate-limited per source address and the approval queue capped.
 */
@Injectable()
export class OnboardingService {
  private readonly logger = new Logger(OnboardingService.name);
  private readonly limiter: RateLimiter;
  private readonly proxies: TrustedProxies;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly clients: ClientRepository,
    private readonly trust: TrustStore,
    private readonly deviceAuth: DeviceAuthService,
  ) {
    this.limiter = new RateLimiter(config.onboarding.perMinute, config.onboarding.burst);
    this.proxies = new TrustedProxies(config.tls.trustedProxies);
  }

  /** The WFM root CA, base64 of PEM (`GET /api/v1/onboarding/certificate`). */
  rootCertificate(): string {
    return Buffer.from(this.trust.currentPem() + '\n').toString('base64');
  }

  async onboard(body: unknown, req: RawBodyRequest): Promise<OnboardingResult> {
    // First, before any parsing or signature work: nobody is authenticated yet.
    const admitted = this.limiter.consume(onboardingAddressKey(this.proxies.sourceAddress(req)));
    if (!admitted.ok) throw new OnboardingRateLimitedError(admitted.retryAfterSeconds);
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new InvalidOnboardingRequestError('The onboarding request must be a JSON object');
    }
    const fields = body as Record<string, unknown>;
    const olderShape = fields.certificate === undefined && fields.public_certificate !== undefined;
    if (!olderShape || fields.apiVersion !== undefined) {
      if (fields.apiVersion !== ONBOARDING_API_VERSION) {
        throw new InvalidOnboardingRequestError(
          `Unsupported API version ${JSON.stringify(fields.apiVersion ?? null)}: apiVersion must be ${ONBOARDING_API_VERSION}`,
          [{ field: '/apiVersion', message: `must be ${ONBOARDING_API_VERSION}` }],
        );
      }
      if (fields.kind !== 'OnboardingRequest') {
        throw new InvalidOnboardingRequestError(
          `kind must be OnboardingRequest, not ${JSON.stringify(fields.kind ?? null)}`,
          [{ field: '/kind', message: 'must be OnboardingRequest' }],
        );
      }
    }
    const field = olderShape ? 'public_certificate' : 'certificate';
    const raw = fields[field];
    const cert = typeof raw === 'string' ? parseCertificateInput(raw) : undefined;
    if (!cert) {
      throw new InvalidOnboardingRequestError(
        'Invalid certificate: expected an X.509 certificate as base64 of PEM or DER',
        [{ field: `/${field}`, message: 'is not an X.509 certificate' }],
      );
    }
    const now = new Date();
    if (now < new Date(cert.validFrom) || now > new Date(cert.validTo)) {
      throw new InvalidOnboardingRequestError(
        `Invalid certificate: valid from ${cert.validFrom} to ${cert.validTo}, not now`,
        [{ field: `/${field}`, message: 'is expired or not yet valid' }],
      );
    }
    // Real legacy agents (and the upstream conformance runner) mint their identity with
    // `openssl req -new -x509` and the stock openssl.cnf, i.e. self-signed with CA:TRUE. Such a
    // certificate identifies only itself; a CA certificate that chains elsewhere does not.
    if (cert.ca && !isSelfSigned(cert)) {
      throw new InvalidOnboardingRequestError(
        'Invalid certificate: a CA certificate cannot identify a client unless it is self-signed',
        [{ field: `/${field}`, message: 'is a CA certificate that is not self-signed' }],
      );
    }
    const weak = weakKeyReason(cert.publicKey);
    if (weak !== undefined) {
      throw new InvalidOnboardingRequestError(`Invalid certificate: ${weak}`, [
        { field: `/${field}`, message: weak },
      ]);
    }
    const proven = this.checkProofOfPossession(req, cert.publicKey);

    const fingerprint = certificateFingerprint(cert);
    const mode = this.config.auth.onboardingMode;
    if (mode === 'preauthorized' && !(await this.clients.findPreauthorized(fingerprint))) {
      throw new NotAuthorizedError(
        `Client rejected: certificate ${fingerprint} is not pre-authorized at this WFM (onboarding mode "preauthorized")`,
      );
    }
    const existing = await this.clients.findByFingerprint(fingerprint);
    if (existing) return this.alreadyOnboarded(existing, fingerprint, proven);
    const state = mode === 'approval' ? 'pending' : 'active';
    const { pendingMax } = this.config.onboarding;
    if (state === 'pending' && pendingMax > 0 && (await this.clients.countPendingLegacy()) >= pendingMax) {
      throw new OnboardingQueueFullError(pendingMax);
    }
    const row = await this.clients.createLegacy({
      externalId: randomUUID(),
      state,
      certFingerprint: fingerprint,
      certificatePem: cert.toString(),
      keyId: spkiKeyId(cert),
      possessionProvenAt: proven ? new Date() : null,
    });
    if (!row) {
      // onboarded concurrently
      const raced = await this.clients.findByFingerprint(fingerprint);
      if (raced) return this.alreadyOnboarded(raced, fingerprint, proven);
      throw new CertificateAlreadyOnboardedError(fingerprint, 'unknown', false);
    }
    if (mode === 'preauthorized') await this.clients.markPreauthorizedUsed(fingerprint);
    this.logger.log({
      msg: 'legacy client onboarded',
      clientId: row.externalId,
      state: row.state,
      fingerprint,
      proofOfPossession: proven,
    });
    return { clientId: row.externalId, olderShape };
  }

  /**
   * A repeated onboarding: always 409 with the existing clientId (the upstream suite's step 1.3). When
   * signed with the certificate's key, it first records the proof; a client an operator rejected while
   * its possession was unproven returns to pending, so an uploader cannot have the real device rejected.
   */
  private async alreadyOnboarded(row: ClientRow, fingerprint: string, proven: boolean): Promise<never> {
    if (proven && row.profile === 'legacy' && row.possessionProvenAt === null) {
      const reopen = row.state === 'rejected';
      row = await this.clients.markPossessionProven(row.id, reopen);
      this.logger.log({
        msg: 'legacy client proved possession of its key',
        clientId: row.externalId,
        state: row.state,
        fingerprint,
        reopened: reopen,
      });
    }
    throw new CertificateAlreadyOnboardedError(fingerprint, row.externalId, row.possessionProvenAt !== null);
  }

  /**
   * Agents sign the onboarding POST with the key of the certificate they upload; when they do, it must
   * verify, and then it proves possession (true). Unsigned: false.
   */
  private checkProofOfPossession(req: RawBodyRequest, publicKey: KeyObject): boolean {
    if (req.headers['signature'] === undefined && req.headers['signature-input'] === undefined) return false;
    const result = verifyRequestSignature({
      method: req.method,
      targetUri: this.deviceAuth.targetUri(req),
      headers: req.headers,
      body: req.rawBody,
      publicKey,
      nowSeconds: Math.floor(Date.now() / 1000),
      maxSkewSeconds: this.config.auth.signatureMaxSkewSeconds,
      requiredComponents: [['@method']],
      requireContentDigestWhenBody: true,
    });
    if (!result.ok && result.status === 401) {
      throw new InvalidCredentialsError(
        `The onboarding request is signed, but not with the uploaded certificate's key: ${result.message}`,
      );
    }
    if (!result.ok) throw new InvalidOnboardingRequestError(result.message);
    return true;
  }
}
