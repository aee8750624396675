import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Page } from '../../common/http/page.js';
import { ApiProblems } from '../../common/openapi/api-problems.decorator.js';
import { OperatorAuth } from '../enrollment/auth/guards.js';
import { AuditQueryService } from './audit-query.service.js';
import { type AuditEntryDto, AuditPageDto, AuditQueryDto } from './dto/audit.dto.js';

@ApiTags('Operator: audit')
@Controller('operator/v1')
export class AuditController {
  constructor(private readonly audit: AuditQueryService) {}

  @Get('audit')
  @OperatorAuth('admin', { unscoped: true })
  @ApiOperation({
    summary: 'The audit log of operator changes and refused attempts, newest first (filters; paginated)',
  })
  @ApiOkResponse({ type: AuditPageDto })
  @ApiProblems(422)
  listAuditEntries(@Query() query: AuditQueryDto): Promise<Page<AuditEntryDto>> {
    return this.audit.list(query);
  }
}
