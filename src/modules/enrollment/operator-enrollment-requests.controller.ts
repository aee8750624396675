import { Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblems } from '../../common/openapi/api-problems.decorator.js';
import { AuditAction } from '../../infra/audit/audit-action.decorator.js';
import type { OperatorPrincipal } from './auth/authenticated-client.js';
import { CurrentOperator, OperatorAuth } from './auth/guards.js';
import {
  EnrollmentRequestDto,
  EnrollmentRequestListQueryDto,
  EnrollmentRequestPageDto,
} from './dto/enrollment-request.dto.js';
import { EnrollmentRequestsService } from './enrollment-requests.service.js';

@ApiTags('Operator: clients')
@Controller('operator/v1/enrollment-requests')
export class OperatorEnrollmentRequestsController {
  constructor(private readonly requests: EnrollmentRequestsService) {}

  @Get()
  @OperatorAuth('viewer', { unscoped: true })
  @ApiOperation({
    summary:
      'rc.3 clients with a valid X.509-SVID but an unaccepted client id, one per certificate (filter by state; paginated)',
  })
  @ApiOkResponse({ type: EnrollmentRequestPageDto })
  @ApiProblems(422)
  listEnrollmentRequests(@Query() query: EnrollmentRequestListQueryDto): Promise<EnrollmentRequestPageDto> {
    return this.requests.list(query);
  }

  @Get(':id')
  @OperatorAuth('viewer', { unscoped: true })
  @ApiOperation({ summary: 'One enrollment request' })
  @ApiOkResponse({ type: EnrollmentRequestDto })
  @ApiProblems(404)
  getEnrollmentRequest(@Param('id', new ParseUUIDPipe()) id: string): Promise<EnrollmentRequestDto> {
    return this.requests.get(id);
  }

  @Post(':id/approve')
  @HttpCode(200)
  @AuditAction('enrollment-request.approve', 'enrollment-request', 'id')
  @OperatorAuth('operator', { unscoped: true })
  @ApiOperation({
    summary:
      "Approve: the client id joins the accepted-client policy (its next request succeeds); the id's other pending requests are approved too",
  })
  @ApiOkResponse({ type: EnrollmentRequestDto })
  @ApiProblems(404)
  approveEnrollmentRequest(
    @Param('id', new ParseUUIDPipe()) id: string,
    @CurrentOperator() by: OperatorPrincipal,
  ): Promise<EnrollmentRequestDto> {
    return this.requests.approve(id, by);
  }

  @Post(':id/reject')
  @HttpCode(200)
  @AuditAction('enrollment-request.reject', 'enrollment-request', 'id')
  @OperatorAuth('operator', { unscoped: true })
  @ApiOperation({
    summary:
      "Reject: the client keeps getting 403 (its requests are still counted); the id's other pending requests are rejected too",
  })
  @ApiOkResponse({ type: EnrollmentRequestDto })
  @ApiProblems(404, 409)
  rejectEnrollmentRequest(
    @Param('id', new ParseUUIDPipe()) id: string,
    @CurrentOperator() by: OperatorPrincipal,
  ): Promise<EnrollmentRequestDto> {
    return this.requests.reject(id, by);
  }
}
