import { createHash, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../../config/config.js';
import { InvalidCredentialsError } from '../enrollment.errors.js';
import { OperatorTokenRepository } from '../operator-token.repository.js';
import type { OperatorPrincipal } from './authenticated-client.js';
import { looksLikeJwt, OidcVerifier } from './oidc-verifier.js';

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * Resolves an operator bearer token: the bootstrap admin token, an OIDC token (a bearer shaped like a
 * JWT, when WFM_OIDC_ISSUER is set), else a created opaque token. Opaque tokens are looked up on
 * every call, so a revocation is immediate.
 */
@Injectable()
export class OperatorAuthService {
  private readonly adminHash?: Buffer;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly tokens: OperatorTokenRepository,
    private readonly oidc: OidcVerifier,
  ) {
    if (config.auth.adminToken) this.adminHash = Buffer.from(hashToken(config.auth.adminToken), 'hex');
  }

  async authenticate(token: string): Promise<OperatorPrincipal> {
    const hash = hashToken(token);
    if (this.adminHash && timingSafeEqual(this.adminHash, Buffer.from(hash, 'hex'))) {
      return { kind: 'operator', name: 'bootstrap-admin', role: 'admin', via: 'bootstrap' };
    }
    if (this.oidc.enabled && looksLikeJwt(token)) return this.oidc.verify(token);
    const row = await this.tokens.findActiveByHash(hash);
    if (!row) throw new InvalidCredentialsError('The operator token is unknown or revoked');
    void this.tokens.touch(row.id).catch(() => undefined);
    return {
      kind: 'operator',
      name: row.name,
      role: row.role,
      via: 'token',
      tokenId: row.id,
      ...(row.scope !== null ? { scope: row.scope as Record<string, string> } : {}),
    };
  }

  /** Whether a created operator token still exists and is not revoked (for credentials derived from it). */
  async isActive(tokenId: string): Promise<boolean> {
    const row = await this.tokens.findById(tokenId);
    return row !== null && row.revokedAt === null;
  }

  /** Which of these created operator tokens still exist and are not revoked (one query for all). */
  activeTokenIds(tokenIds: readonly string[]): Promise<Set<string>> {
    return this.tokens.activeIds(tokenIds);
  }
}
