import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { AuditAction } from '../../infra/audit/audit-action.decorator.js';
import { type Page, PageDto, PageQueryDto } from '../../common/http/page.js';
import { ApiProblems } from '../../common/openapi/api-problems.decorator.js';
import type { OperatorPrincipal } from './auth/authenticated-client.js';
import { CurrentOperator, OperatorAuth } from './auth/guards.js';
import { ClientsService } from './clients.service.js';
import {
  OperatorMeDto,
  OperatorTokenCreateDto,
  OperatorTokenCreatedDto,
  OperatorTokenDto,
  PreauthorizedCertificateCreateDto,
  PreauthorizedCertificateDto,
} from './dto/operator.dto.js';
import { OperatorTokensService } from './operator-tokens.service.js';

@ApiTags('Operator: access')
@Controller('operator/v1')
export class OperatorAccessController {
  constructor(
    private readonly tokens: OperatorTokensService,
    private readonly clients: ClientsService,
  ) {}

  @Get('me')
  @OperatorAuth('viewer')
  @ApiOperation({ summary: 'Who the caller is: name, role, how it signed in and its scope' })
  @ApiOkResponse({ type: OperatorMeDto })
  me(@CurrentOperator() principal: OperatorPrincipal): OperatorMeDto {
    return {
      name: principal.name,
      role: principal.role,
      via: principal.via,
      ...(principal.tokenId !== undefined ? { tokenId: principal.tokenId } : {}),
      ...(principal.subject !== undefined ? { subject: principal.subject } : {}),
      ...(principal.issuer !== undefined ? { issuer: principal.issuer } : {}),
      ...(principal.scope !== undefined ? { scope: principal.scope } : {}),
    };
  }

  @Post('tokens')
  @AuditAction('token.create', 'operator-token')
  @OperatorAuth('admin', { unscoped: true })
  @ApiOperation({
    summary: 'Create an operator token (role admin, operator or viewer); the token is shown once',
  })
  @ApiCreatedResponse({ type: OperatorTokenCreatedDto })
  @ApiProblems(422)
  createOperatorToken(
    @Body() body: OperatorTokenCreateDto,
    @CurrentOperator() by: OperatorPrincipal,
  ): Promise<OperatorTokenCreatedDto> {
    return this.tokens.create(body, by);
  }

  @Get('tokens')
  @OperatorAuth('admin', { unscoped: true })
  @ApiOperation({ summary: 'List operator tokens (never the secrets)' })
  @ApiOkResponse({ type: PageDto(OperatorTokenDto) })
  @ApiProblems(422)
  listOperatorTokens(@Query() query: PageQueryDto): Promise<Page<OperatorTokenDto>> {
    return this.tokens.list(query);
  }

  @Delete('tokens/:id')
  @HttpCode(204)
  @AuditAction('token.revoke', 'operator-token', 'id')
  @OperatorAuth('admin', { unscoped: true })
  @ApiOperation({ summary: 'Revoke an operator token (effective immediately)' })
  @ApiNoContentResponse()
  @ApiProblems(404)
  revokeOperatorToken(@Param('id', new ParseUUIDPipe()) id: string): Promise<void> {
    return this.tokens.revoke(id);
  }

  @Post('preauthorized-certificates')
  @AuditAction('preauthorized-certificate.create', 'preauthorized-certificate')
  @OperatorAuth('operator', { unscoped: true })
  @ApiOperation({
    summary:
      'Pre-register a certificate (fingerprint or certificate) for the "preauthorized" onboarding mode',
  })
  @ApiCreatedResponse({ type: PreauthorizedCertificateDto })
  @ApiProblems(422)
  preauthorizeCertificate(
    @Body() body: PreauthorizedCertificateCreateDto,
  ): Promise<PreauthorizedCertificateDto> {
    return this.clients.preauthorize(body);
  }

  @Get('preauthorized-certificates')
  @OperatorAuth('viewer', { unscoped: true })
  @ApiOperation({ summary: 'List pre-registered certificates' })
  @ApiOkResponse({ type: PageDto(PreauthorizedCertificateDto) })
  @ApiProblems(422)
  listPreauthorizedCertificates(@Query() query: PageQueryDto): Promise<Page<PreauthorizedCertificateDto>> {
    return this.clients.listPreauthorized(query);
  }

  @Delete('preauthorized-certificates/:fingerprint')
  @HttpCode(204)
  @AuditAction('preauthorized-certificate.delete', 'preauthorized-certificate', 'fingerprint')
  @OperatorAuth('operator', { unscoped: true })
  @ApiOperation({ summary: 'Remove a pre-registered certificate' })
  @ApiNoContentResponse()
  @ApiProblems(404)
  removePreauthorizedCertificate(@Param('fingerprint') fingerprint: string): Promise<void> {
    return this.clients.removePreauthorized(fingerprint);
  }
}
