import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { decodeKey, type Page, type PageQueryDto, pageOf } from '../../common/http/page.js';
import { AuditService } from '../../infra/audit/audit.service.js';
import type { OperatorPrincipal } from './auth/authenticated-client.js';
import { hashToken } from './auth/operator-auth.service.js';
import type {
  OperatorTokenCreateDto,
  OperatorTokenCreatedDto,
  OperatorTokenDto,
} from './dto/operator.dto.js';
import { TokenNotFoundError } from './enrollment.errors.js';
import { toOperatorTokenDto } from './enrollment.mapper.js';
import { OperatorTokenRepository } from './operator-token.repository.js';

/** Operator tokens created by an admin: shown once, stored hashed, revocable. */
@Injectable()
export class OperatorTokensService {
  constructor(
    private readonly tokens: OperatorTokenRepository,
    private readonly audit: AuditService,
  ) {}

  async create(input: OperatorTokenCreateDto, by: OperatorPrincipal): Promise<OperatorTokenCreatedDto> {
    const token = `wfm_${input.role}_${randomBytes(24).toString('base64url')}`;
    const row = await this.tokens.transaction(async (tx) => {
      const created = await this.tokens.create(
        {
          name: input.name,
          role: input.role,
          tokenHash: hashToken(token),
          prefix: token.slice(0, 12),
          createdBy: by.name,
          ...(input.scope !== undefined ? { scope: input.scope } : {}),
        },
        tx,
      );
      // the token itself and its hash never reach the audit log; the 12-character prefix is shown anyway
      await this.audit.record(tx, {
        action: 'token.create',
        resource: { type: 'operator-token', id: created.id },
        summary: {
          after: {
            name: created.name,
            role: created.role,
            prefix: created.prefix,
            ...(input.scope !== undefined ? { scope: input.scope } : {}),
          },
        },
      });
      return created;
    });
    return { ...toOperatorTokenDto(row), token };
  }

  async list(query: PageQueryDto): Promise<Page<OperatorTokenDto>> {
    const after = query.after ? decodeKey(query.after, ['date', 'uuid'] as const) : undefined;
    const rows = await this.tokens.list({ after, take: query.limit + 1 });
    return pageOf(rows, query.limit, (r) => [r.createdAt, r.id], toOperatorTokenDto);
  }

  async revoke(id: string): Promise<void> {
    const row = await this.tokens.findById(id);
    if (!row) throw new TokenNotFoundError(id);
    if (row.revokedAt) return;
    await this.tokens.transaction(async (tx) => {
      await this.tokens.revoke(id, tx);
      await this.audit.record(tx, {
        action: 'token.revoke',
        resource: { type: 'operator-token', id },
        summary: { name: row.name, role: row.role, before: { revoked: false }, after: { revoked: true } },
      });
    });
  }
}
