import { Injectable } from '@nestjs/common';
import { decodeKey, type Page, pageOf } from '../../common/http/page.js';
import { AuditService, toAuditView } from '../../infra/audit/audit.service.js';
import type { AuditEntryDto, AuditQueryDto } from './dto/audit.dto.js';

/** The operator query over the audit log: filters and keyset pages, newest first. */
@Injectable()
export class AuditQueryService {
  constructor(private readonly audit: AuditService) {}

  async list(query: AuditQueryDto): Promise<Page<AuditEntryDto>> {
    const before = query.after ? decodeKey(query.after, ['bigint'] as const)[0] : undefined;
    const rows = await this.audit.list({
      actor: query.actor,
      resourceType: query.resourceType,
      resourceId: query.resourceId,
      action: query.action,
      from: query.from !== undefined ? new Date(query.from) : undefined,
      to: query.to !== undefined ? new Date(query.to) : undefined,
      beforeId: before,
      take: query.limit + 1,
    });
    return pageOf(rows, query.limit, (r) => [r.id], toAuditView);
  }
}
