import { Controller, Get, Param, ParseUUIDPipe, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, Min } from 'class-validator';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ApiProblems } from '../../common/openapi/api-problems.decorator.js';
import { OperatorAuth } from '../enrollment/auth/guards.js';
import { StatusEntryDto, StatusSummaryDto } from './dto/status.dto.js';
import { StatusQueryService } from './status-query.service.js';

class HistoryQueryDto {
  @ApiPropertyOptional({ description: 'One target device' }) @IsOptional() @IsString() deviceId?: string;
  @ApiPropertyOptional({ default: 100, maximum: 1000 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit: number = 100;
}

class LimitQueryDto {
  @ApiProperty({ default: 100, maximum: 1000, required: false })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit: number = 100;
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
  @ApiOkResponse({ type: [StatusEntryDto] })
  @ApiProblems(404, 422)
  getStatusHistory(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Query() query: HistoryQueryDto,
  ): Promise<StatusEntryDto[]> {
    return this.query.history(id, query.deviceId, query.limit);
  }

  @Get('status/summary')
  @OperatorAuth('viewer')
  @ApiOperation({
    summary:
      'Fleet rollup: targets by derived state, overall and per deployment, application and label value',
  })
  @ApiOkResponse({ type: StatusSummaryDto })
  getStatusSummary(): Promise<StatusSummaryDto> {
    return this.query.summary();
  }

  @Get('status/failing')
  @OperatorAuth('viewer')
  @ApiOperation({ summary: 'Targets whose device reports failed, with error codes and messages' })
  @ApiOkResponse({ type: [StatusEntryDto] })
  listFailingTargets(@Query() query: LimitQueryDto): Promise<StatusEntryDto[]> {
    return this.query.failing(query.limit);
  }

  @Get('status/orphans')
  @OperatorAuth('viewer')
  @ApiOperation({
    summary: 'Orphan reports: devices report a deployment this WFM does not know for them (D12)',
  })
  @ApiOkResponse({ type: [StatusEntryDto] })
  listOrphanReports(@Query() query: LimitQueryDto): Promise<StatusEntryDto[]> {
    return this.query.orphans(query.limit);
  }
}
