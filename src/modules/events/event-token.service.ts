import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { AuditService } from '../../infra/audit/audit.service.js';
import type { OperatorPrincipal } from '../enrollment/auth/authenticated-client.js';
import { OperatorAuthService } from '../enrollment/auth/operator-auth.service.js';
import { InvalidCredentialsError } from '../enrollment/enrollment.errors.js';
import { StreamKeyRepository } from './stream-key.repository.js';

/** Lifetime of a stream token (and of its cookie). */
export const STREAM_TOKEN_TTL_SECONDS = 300;
export const STREAM_COOKIE = 'wfm_sse';
export const STREAM_PATH = '/operator/v1/events';
const TOKEN_PREFIX = 'wfm_sse';
/** The HMAC key lives in wfm_meta, so every instance sharing the database verifies every token. */
const KEY_NAME = 'events.stream-token-key';
const SIGNING_CONTEXT = 'wfm-sse-token.v1.';
const ROLES: readonly OperatorPrincipal['role'][] = ['viewer', 'operator', 'admin'];

interface StreamTokenClaims {
  /** Operator name. */
  sub: string;
  role: OperatorPrincipal['role'];
  /** The operator token it was obtained with (absent for the bootstrap admin token and OIDC). */
  tid?: string;
  /** Obtained with an OIDC token: that token's `sub` and `iss`. */
  osub?: string;
  oiss?: string;
  /** The principal's label scope (a scoped principal's stream token stays scoped). */
  scp?: Record<string, string>;
  /** Expiry, epoch seconds. */
  exp: number;
}

function isScope(value: unknown): value is Record<string, string> {
  return (
    !!value &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    Object.values(value as Record<string, unknown>).every((v) => typeof v === 'string')
  );
}

export interface StreamToken {
  token: string;
  expiresAt: Date;
}

function isClaims(value: unknown): value is StreamTokenClaims {
  if (!value || typeof value !== 'object') return false;
  const claims = value as Record<string, unknown>;
  return (
    typeof claims.sub === 'string' &&
    typeof claims.exp === 'number' &&
    ROLES.includes(claims.role as OperatorPrincipal['role']) &&
    (claims.tid === undefined || typeof claims.tid === 'string') &&
    (claims.osub === undefined || typeof claims.osub === 'string') &&
    (claims.oiss === undefined || typeof claims.oiss === 'string') &&
    (claims.scp === undefined || isScope(claims.scp))
  );
}

/** The value of one cookie from a Cookie header. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at < 0 || part.slice(0, at).trim() !== name) continue;
    const raw = part.slice(at + 1).trim();
    try {
      return decodeURIComponent(raw);
    } catch {
      return raw;
    }
  }
  return undefined;
}

/** The Set-Cookie value that carries a stream token to GET /operator/v1/events. */
export function streamCookie(token: StreamToken): string {
  return [
    `${STREAM_COOKIE}=${token.token}`,
    `Max-Age=${STREAM_TOKEN_TTL_SECONDS}`,
    `Path=${STREAM_PATH}`,
    'HttpOnly',
    'Secure',
    'SameSite=None',
  ].join('; ');
}

/**
 * Short-lived stream tokens for browsers, whose EventSource cannot send an Authorization header:
 * `wfm_sse.<base64url claims>.<base64url HMAC-SHA256>`, claims `{sub, role, tid?, osub?, oiss?, scp?, exp}`
 * (`scp`: the principal's label scope, so a scoped principal's stream stays scoped). The key is
 * 32 random bytes stored once in `wfm_meta` (every instance sharing the database uses it; deriving
 * it from the admin token would break with instances holding different admin tokens). A token
 * obtained with an operator token is refused as soon as that token is revoked.
 */
@Injectable()
export class EventTokenService {
  private key?: Promise<Buffer>;

  constructor(
    private readonly keys: StreamKeyRepository,
    private readonly operators: OperatorAuthService,
    private readonly audit: AuditService,
  ) {}

  /** Issues a stream token for the operator. */
  async issue(principal: OperatorPrincipal, now = Date.now()): Promise<StreamToken> {
    const exp = Math.floor(now / 1000) + STREAM_TOKEN_TTL_SECONDS;
    const claims: StreamTokenClaims = {
      sub: principal.name,
      role: principal.role,
      ...(principal.tokenId !== undefined ? { tid: principal.tokenId } : {}),
      ...(principal.via === 'oidc' && principal.subject !== undefined ? { osub: principal.subject } : {}),
      ...(principal.via === 'oidc' && principal.issuer !== undefined ? { oiss: principal.issuer } : {}),
      ...(principal.scope !== undefined ? { scp: principal.scope } : {}),
      exp,
    };
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    const signature = await this.sign(payload);
    const expiresAt = new Date(exp * 1000);
    // a credential handed out: recorded (never the token), and refused when it cannot be recorded
    await this.audit.recordAlone({
      action: 'stream-token.issue',
      resource: { type: 'stream-token' },
      summary: { after: { role: principal.role, expiresAt } },
    });
    return { token: `${TOKEN_PREFIX}.${payload}.${signature}`, expiresAt };
  }

  /** Checks a stream token's signature, expiry and the operator token behind it. */
  async verify(token: string, now = Date.now()): Promise<OperatorPrincipal> {
    const [prefix, payload, signature, extra] = token.split('.');
    if (prefix !== TOKEN_PREFIX || !payload || !signature || extra !== undefined) {
      throw new InvalidCredentialsError('The stream token is malformed');
    }
    const expected = Buffer.from(await this.sign(payload));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
      throw new InvalidCredentialsError('The stream token signature is invalid');
    }
    const claims = this.decode(payload);
    if (claims.exp * 1000 <= now) throw new InvalidCredentialsError('The stream token has expired');
    if (claims.tid !== undefined) await this.ensureNotRevoked(claims.tid);
    return {
      kind: 'operator',
      name: claims.sub,
      role: claims.role,
      // one with an OIDC subject came from an OIDC token, one with a token id from a created token
      via: claims.osub !== undefined ? 'oidc' : claims.tid !== undefined ? 'token' : 'bootstrap',
      ...(claims.tid !== undefined ? { tokenId: claims.tid } : {}),
      ...(claims.osub !== undefined ? { subject: claims.osub } : {}),
      ...(claims.oiss !== undefined ? { issuer: claims.oiss } : {}),
      ...(claims.scp !== undefined ? { scope: claims.scp } : {}),
    };
  }

  /**
   * The caller of the stream: `Authorization: Bearer <operator token or stream token>`, else
   * `?token=<stream token>`, else the `wfm_sse` cookie. A credential that is present but bad is
   * refused (no fall-through to the next one).
   */
  async authenticate(req: Request): Promise<OperatorPrincipal> {
    const header = req.headers.authorization;
    if (header !== undefined) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (!match) throw new InvalidCredentialsError('Authorization must be "Bearer <token>"');
      const token = match[1];
      return token.startsWith(`${TOKEN_PREFIX}.`) ? this.verify(token) : this.operators.authenticate(token);
    }
    const query = (req.query as Record<string, unknown>).token;
    if (query !== undefined) {
      if (typeof query !== 'string') throw new InvalidCredentialsError('Give one ?token=');
      return this.verify(query);
    }
    const cookie = readCookie(req.headers.cookie, STREAM_COOKIE);
    if (cookie !== undefined) return this.verify(cookie);
    throw new InvalidCredentialsError(
      'An operator bearer token or a stream token (?token= or the wfm_sse cookie, from POST /operator/v1/events/token) is required',
    );
  }

  private decode(payload: string): StreamTokenClaims {
    let claims: unknown;
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      claims = undefined;
    }
    if (!isClaims(claims)) throw new InvalidCredentialsError('The stream token is malformed');
    return claims;
  }

  private async ensureNotRevoked(tokenId: string): Promise<void> {
    if (!(await this.operators.isActive(tokenId))) {
      throw new InvalidCredentialsError('The operator token behind this stream token is revoked');
    }
  }

  private async sign(payload: string): Promise<string> {
    const key = await this.signingKey();
    return createHmac('sha256', key)
      .update(SIGNING_CONTEXT + payload)
      .digest('base64url');
  }

  /** Loads (creating on first use) the shared key; a failed load is retried on the next call. */
  private signingKey(): Promise<Buffer> {
    this.key ??= this.keys
      .metaValue(KEY_NAME, randomBytes(32).toString('base64url'))
      .then((value) => Buffer.from(value, 'base64url'))
      .catch((error: unknown) => {
        this.key = undefined;
        throw error;
      });
    return this.key;
  }
}
