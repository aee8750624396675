import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  createLocalJWKSet,
  errors,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWSHeaderParameters,
  type JWTPayload,
  jwtVerify,
} from 'jose';
import { ServiceUnavailableError } from '../../../common/problem/domain-error.js';
import { APP_CONFIG, type AppConfig, type OidcConfig, type OidcRole } from '../../../config/config.js';
import { InvalidCredentialsError } from '../enrollment.errors.js';
import type { OperatorPrincipal } from './authenticated-client.js';

/** Only asymmetric signatures: `none` and HMAC (e.g. HS256 "signed" with the public key) never verify. */
export const OIDC_ALGORITHMS = ['RS256', 'ES256', 'PS256', 'EdDSA'] as const;
/** Keys are re-read at the next token after this long, even when every `kid` is known. */
const JWKS_MAX_AGE_MS = 10 * 60_000;
/** After a failed discovery or key fetch, tokens are answered 503 at once for this long. */
const FETCH_FAILURE_BACKOFF_MS = 5_000;
const MAX_DOCUMENT_BYTES = 512 * 1024;
const RANK: Record<OidcRole, number> = { viewer: 0, operator: 1, admin: 2 };

/** Whether a bearer token has the shape of a JWS compact serialisation (`eyJ….….…`). */
export function looksLikeJwt(token: string): boolean {
  return /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);
}

/** The value at a dotted claim path (`realm_access.roles`); a top-level claim with dots wins. */
export function claimAt(payload: JWTPayload, path: string): unknown {
  if (path in payload) return payload[path];
  let value: unknown = payload;
  for (const part of path.split('.')) {
    if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** The role the role claim's values map to (the highest one), or undefined. */
export function mapRole(config: Pick<OidcConfig, 'roleMap'>, claim: unknown): OidcRole | undefined {
  const values = new Set(
    (Array.isArray(claim) ? claim : claim === undefined || claim === null ? [] : [claim])
      .filter((v): v is string | number | boolean => ['string', 'number', 'boolean'].includes(typeof v))
      .flatMap((v) => (typeof v === 'string' ? v.split(/[\s,]+/) : [String(v)]))
      .filter((v) => v !== ''),
  );
  let role: OidcRole | undefined;
  for (const entry of config.roleMap) {
    if ((entry.value === '*' || values.has(entry.value)) && (!role || RANK[entry.role] > RANK[role])) {
      role = entry.role;
    }
  }
  return role;
}

/**
 * A scope claim as a label scope: `"site=DE-001"` (several: `"site=DE-001,line=3"`), a list of such
 * strings, or an object of string values. Undefined when absent; throws on anything else.
 */
export function parseScope(claim: unknown): Record<string, string> | undefined {
  if (claim === undefined || claim === null) return undefined;
  const scope: Record<string, string> = {};
  const add = (pair: string): boolean => {
    const at = pair.indexOf('=');
    const key = pair.slice(0, at).trim();
    const value = pair.slice(at + 1).trim();
    if (at <= 0 || key === '' || value === '') return false;
    scope[key] = value;
    return true;
  };
  let ok: boolean;
  if (typeof claim === 'string') ok = claim.split(',').every((p) => add(p));
  else if (Array.isArray(claim)) ok = claim.every((p) => typeof p === 'string' && add(p));
  else if (typeof claim === 'object') {
    ok = Object.entries(claim as Record<string, unknown>).every(
      ([k, v]) => typeof v === 'string' && add(`${k}=${v}`),
    );
  } else ok = false;
  if (!ok || Object.keys(scope).length === 0) {
    throw new InvalidCredentialsError(
      'The OIDC token has an invalid scope claim: expected "key=value[,key=value]" or an object of strings',
    );
  }
  return scope;
}

class FetchFailed extends Error {}

/**
 * Verifies operator OIDC bearer tokens (issue 17): the issuer's discovery document and JWKS are
 * fetched on first use, with a timeout, and cached; a token signed with an unknown `kid` makes one
 * refetch of the keys (at most one per WFM_OIDC_JWKS_COOLDOWN seconds, so random `kid`s cannot make
 * the WFM hammer the issuer); keys older than 10 min are re-read at the next token (a failed re-read
 * keeps the old keys). Signature (asymmetric algorithms only), `iss`, `aud`, `exp` and `nbf` (with
 * WFM_OIDC_CLOCK_SKEW) are checked by `jose`; each failure is a 401 with its own detail.
 */
@Injectable()
export class OidcVerifier {
  private readonly logger = new Logger(OidcVerifier.name);
  private readonly config?: OidcConfig;
  private jwksUri?: URL;
  private keys?: { get: ReturnType<typeof createLocalJWKSet>; kids: Set<string>; at: number };
  private lastUnknownKidFetch = -Infinity;
  private failedAt = -Infinity;
  private inflight?: Promise<void>;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.config = config.auth.oidc;
  }

  get enabled(): boolean {
    return this.config !== undefined;
  }

  async verify(token: string): Promise<OperatorPrincipal> {
    const config = this.config;
    if (!config) throw new InvalidCredentialsError('OIDC sign-in is not configured at this WFM');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, (header, jws) => this.keyFor(header, jws), {
        issuer: config.issuer,
        audience: config.audience,
        algorithms: [...OIDC_ALGORITHMS],
        clockTolerance: config.clockSkewSeconds,
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (error) {
      throw this.translate(error);
    }
    const role = mapRole(config, claimAt(payload, config.roleClaim));
    if (!role) {
      throw new InvalidCredentialsError(
        `The OIDC token maps to no role: its ${config.roleClaim} claim has none of the values in WFM_OIDC_ROLE_MAP`,
      );
    }
    const scope = config.scopeClaim ? parseScope(claimAt(payload, config.scopeClaim)) : undefined;
    const name = [payload.preferred_username, payload.email, payload.name].find(
      (v): v is string => typeof v === 'string' && v !== '',
    );
    return {
      kind: 'operator',
      via: 'oidc',
      name: (name ?? payload.sub!).slice(0, 200),
      role,
      subject: payload.sub!,
      issuer: config.issuer,
      ...(scope ? { scope } : {}),
    };
  }

  /** The key for a token header: from the cached set, refetched when stale or (rate-limited) for a new kid. */
  private async keyFor(header: JWSHeaderParameters, jws: FlattenedJWSInput): Promise<CryptoKey> {
    const kid = header.kid;
    const now = Date.now();
    if (!this.keys) await this.load(true);
    else if (now - this.keys.at > JWKS_MAX_AGE_MS) await this.load(false);
    else if (
      kid !== undefined &&
      !this.keys.kids.has(kid) &&
      now - this.lastUnknownKidFetch >= this.config!.jwksCooldownSeconds * 1000
    ) {
      this.lastUnknownKidFetch = now;
      await this.load(false);
    }
    return this.keys!.get(header, jws);
  }

  /** Fetches discovery (once) and the key set, one fetch at a time; `required`: no old keys to fall back on. */
  private async load(required: boolean): Promise<void> {
    if (Date.now() - this.failedAt < FETCH_FAILURE_BACKOFF_MS) {
      if (required || !this.keys) throw this.unavailable();
      return;
    }
    this.inflight ??= this.fetchKeys().finally(() => (this.inflight = undefined));
    try {
      await this.inflight;
    } catch (error) {
      this.failedAt = Date.now();
      this.logger.warn({ msg: 'could not fetch the OIDC issuer keys', error: String(error) });
      if (required || !this.keys) throw this.unavailable();
    }
  }

  private async fetchKeys(): Promise<void> {
    const config = this.config!;
    if (!this.jwksUri) {
      const discoveryUrl = `${config.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
      const discovery = await this.fetchJson(discoveryUrl);
      if (discovery.issuer !== config.issuer) {
        throw new FetchFailed(
          `the discovery document names issuer ${JSON.stringify(discovery.issuer)}, not ${config.issuer}`,
        );
      }
      if (typeof discovery.jwks_uri !== 'string') {
        throw new FetchFailed('the discovery document has no jwks_uri');
      }
      this.jwksUri = new URL(discovery.jwks_uri);
    }
    let jwks: Record<string, unknown>;
    try {
      jwks = await this.fetchJson(this.jwksUri.toString());
    } catch (error) {
      this.jwksUri = undefined; // rediscover next time: the issuer may have moved its keys
      throw error;
    }
    if (!Array.isArray(jwks.keys)) throw new FetchFailed('the JWKS has no keys array');
    const set = jwks as unknown as JSONWebKeySet;
    this.keys = {
      get: createLocalJWKSet(set),
      kids: new Set(set.keys.map((k) => k.kid).filter((k): k is string => typeof k === 'string')),
      at: Date.now(),
    };
  }

  private async fetchJson(url: string): Promise<Record<string, unknown>> {
    const res = await fetch(url, {
      headers: { accept: 'application/json' },
      redirect: 'error',
      signal: AbortSignal.timeout(this.config!.fetchTimeoutMs),
    });
    if (!res.ok) throw new FetchFailed(`${url} answered ${res.status}`);
    const text = await res.text();
    if (text.length > MAX_DOCUMENT_BYTES) throw new FetchFailed(`${url} answered more than 512 KiB`);
    const value = JSON.parse(text) as unknown;
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
      throw new FetchFailed(`${url} answered no JSON object`);
    }
    return value as Record<string, unknown>;
  }

  private unavailable(): ServiceUnavailableError {
    return new ServiceUnavailableError(
      'The OIDC issuer cannot be reached to fetch its signing keys; try again shortly',
      Math.ceil(FETCH_FAILURE_BACKOFF_MS / 1000),
    );
  }

  /** One 401 detail per failure mode; fetch trouble stays a 503. */
  private translate(error: unknown): Error {
    const config = this.config!;
    if (error instanceof ServiceUnavailableError || error instanceof InvalidCredentialsError) return error;
    const reject = (detail: string) => new InvalidCredentialsError(`The OIDC token was refused: ${detail}`);
    if (error instanceof errors.JWTExpired) return reject('it has expired (exp is in the past)');
    if (error instanceof errors.JWTClaimValidationFailed) {
      switch (error.claim) {
        case 'nbf':
          return reject('it is not yet valid (nbf is in the future)');
        case 'iss':
          return reject(`wrong issuer (iss must be ${config.issuer})`);
        case 'aud':
          return reject(`wrong audience (aud must include ${config.audience})`);
        case 'iat':
          return reject('it was issued in the future (iat)');
        default:
          return reject(`the ${error.claim} claim is ${error.reason === 'missing' ? 'missing' : 'invalid'}`);
      }
    }
    if (error instanceof errors.JOSEAlgNotAllowed) {
      return reject(`disallowed signature algorithm (allowed: ${OIDC_ALGORITHMS.join(', ')})`);
    }
    if (error instanceof errors.JWKSNoMatchingKey) {
      return reject("unknown signing key (no key of the issuer's JWKS matches its kid and alg)");
    }
    if (error instanceof errors.JWKSMultipleMatchingKeys) {
      return reject('ambiguous signing key (the token names no kid and several keys match)');
    }
    if (error instanceof errors.JWSSignatureVerificationFailed) return reject('bad signature');
    if (error instanceof errors.JOSEError) return reject(`malformed token (${error.message})`);
    return reject('malformed token');
  }
}
