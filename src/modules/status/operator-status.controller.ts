import { Controller, Get, Param, ParseUUIDPipe, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString } from 'class-validator';
import { type Page, PageDto, PageQueryDto } from '../../common/http/page.js';
import { ApiProblems } from '../../common/openapi/api-problems.decorator.js';
import type { OperatorPrincipal } from '../enrollment/auth/authenticated-client.js';
import { CurrentOperator, OperatorAuth } from '../enrollment/auth/guards.js';
import { StatusEntryDto, StatusSummaryDto } from './dto/status.dto.js';
import { StatusQueryService } from './status-query.service.js';

class HistoryQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'One target device' }) @IsOptional() @IsString() deviceId?: string;
}

@ApiTags('Operator: status')
@Controller('operator/v1')
export class OperatorStatusController {
  constructor(private readonly query: StatusQueryService) {}

  @Get('deployments/:id/status-history')
  @OperatorAuth('viewer')
  @ApiOperation({
    summary:
      "Status reports of a deployment's targets, newest first (every report, also those that did not apply)",
  })
  @ApiOkResponse({ type: PageDto(StatusEntryDto) })
  @ApiProblems(404, 422)
  getStatusHistory(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Query() query: HistoryQueryDto,
    @CurrentOperator() by: OperatorPrincipal,
  ): Promise<Page<StatusEntryDto>> {
    return this.query.history(id, query.deviceId, query, by.scope);
  }

  @Get('status/summary')
  @OperatorAuth('viewer')
  @ApiOperation({
    summary:
      'Fleet rollup: targets by derived state, overall and per deployment, application and label value',
  })
  @ApiOkResponse({ type: StatusSummaryDto })
  getStatusSummary(@CurrentOperator() by: OperatorPrincipal): Promise<StatusSummaryDto> {
    return this.query.summary(by.scope);
  }

  @Get('status/failing')
  @OperatorAuth('viewer')
  @ApiOperation({ summary: 'Targets whose device reports failed, with error codes and messages' })
  @ApiOkResponse({ type: PageDto(StatusEntryDto) })
  listFailingTargets(
    @Query() query: PageQueryDto,
    @CurrentOperator() by: OperatorPrincipal,
  ): Promise<Page<StatusEntryDto>> {
    return this.query.failing(query, by.scope);
  }

  @Get('status/orphans')
  @OperatorAuth('viewer')
  @ApiOperation({
    summary: 'Orphan reports: devices report a deployment this WFM does not know for them',
  })
  @ApiOkResponse({ type: PageDto(StatusEntryDto) })
  listOrphanReports(
    @Query() query: PageQueryDto,
    @CurrentOperator() by: OperatorPrincipal,
  ): Promise<Page<StatusEntryDto>> {
    return this.query.orphans(query, by.scope);
  }
}
