import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query, Res } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { AuditAction } from '../../infra/audit/audit-action.decorator.js';
import type { Response } from 'express';
import { ApiProblems } from '../../common/openapi/api-problems.decorator.js';
import type { OperatorPrincipal } from './auth/authenticated-client.js';
import { CurrentOperator, OperatorAuth } from './auth/guards.js';
import { ClientsService } from './clients.service.js';
import { ClientDto, ClientListQueryDto, ClientPageDto, ClientProfileQueryDto } from './dto/client.dto.js';
import { ClientSettingsDto, ClientSettingsUpdateDto } from './dto/settings.dto.js';

@ApiTags('Operator: clients')
@Controller('operator/v1')
export class OperatorClientsController {
  constructor(private readonly clients: ClientsService) {}

  @Get('clients')
  @OperatorAuth('viewer')
  @ApiOperation({ summary: 'List clients of both profiles (filter by profile and state; paginated)' })
  @ApiOkResponse({ type: ClientPageDto })
  @ApiProblems(422)
  listClients(
    @Query() query: ClientListQueryDto,
    @CurrentOperator() by: OperatorPrincipal,
  ): Promise<ClientPageDto> {
    return this.clients.list(query, by.scope);
  }

  @Get('onboarding-requests')
  @OperatorAuth('viewer')
  @ApiOperation({
    summary: 'Legacy clients waiting for approval (same as GET /clients?profile=legacy&state=pending)',
  })
  @ApiOkResponse({ type: ClientPageDto })
  @ApiProblems(422)
  listOnboardingRequests(
    @Query() query: ClientListQueryDto,
    @CurrentOperator() by: OperatorPrincipal,
  ): Promise<ClientPageDto> {
    return this.clients.list({ ...query, profile: 'legacy', state: 'pending' }, by.scope);
  }

  @Get('clients/:clientId')
  @OperatorAuth('viewer')
  @ApiOperation({ summary: 'One client' })
  @ApiOkResponse({ type: ClientDto })
  @ApiProblems(404, 409)
  getClient(
    @Param('clientId') clientId: string,
    @Query() { profile }: ClientProfileQueryDto,
    @CurrentOperator() by: OperatorPrincipal,
  ): Promise<ClientDto> {
    return this.clients.get(clientId, profile, by.scope);
  }

  @Put('clients/:clientId')
  @AuditAction('client.accept', 'client', 'clientId')
  @OperatorAuth('operator', { unscoped: true })
  @ApiOperation({
    summary:
      'Accept an rc.3 wfm-client-id into the accepted-client policy (idempotent; re-activates a retired one)',
  })
  @ApiCreatedResponse({ type: ClientDto, description: 'Accepted now' })
  @ApiOkResponse({ type: ClientDto, description: 'Already known; now active' })
  @ApiProblems(422)
  async acceptClient(
    @Param('clientId') clientId: string,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ClientDto> {
    const { client, created } = await this.clients.accept(clientId);
    res.status(created ? 201 : 200);
    return client;
  }

  @Delete('clients/:clientId')
  @HttpCode(204)
  @AuditAction('client.retire', 'client', 'clientId')
  @OperatorAuth('operator')
  @ApiOperation({
    summary: 'Retire a client (either profile): its requests are refused with 403 from now on',
  })
  @ApiNoContentResponse()
  @ApiProblems(404, 409)
  retireClient(
    @Param('clientId') clientId: string,
    @Query() { profile }: ClientProfileQueryDto,
    @CurrentOperator() by: OperatorPrincipal,
  ): Promise<void> {
    return this.clients.retire(clientId, profile, by.scope);
  }

  @Post('clients/:clientId/approve')
  @HttpCode(200)
  @AuditAction('client.approve', 'client', 'clientId')
  @OperatorAuth('operator')
  @ApiOperation({ summary: 'Approve a pending (or rejected) legacy onboarding' })
  @ApiOkResponse({ type: ClientDto })
  @ApiProblems(404, 409)
  approveClient(
    @Param('clientId') clientId: string,
    @CurrentOperator() by: OperatorPrincipal,
  ): Promise<ClientDto> {
    return this.clients.approve(clientId, by.scope);
  }

  @Post('clients/:clientId/reject')
  @HttpCode(200)
  @AuditAction('client.reject', 'client', 'clientId')
  @OperatorAuth('operator')
  @ApiOperation({ summary: 'Reject a pending (or revoke an active) legacy client' })
  @ApiOkResponse({ type: ClientDto })
  @ApiProblems(404, 409)
  rejectClient(
    @Param('clientId') clientId: string,
    @CurrentOperator() by: OperatorPrincipal,
  ): Promise<ClientDto> {
    return this.clients.reject(clientId, by.scope);
  }

  @Get('clients/:clientId/settings')
  @OperatorAuth('viewer')
  @ApiOperation({ summary: "A client's effective polling and downtime settings, and which layer set each" })
  @ApiOkResponse({ type: ClientSettingsDto })
  @ApiProblems(404, 409)
  getClientSettings(
    @Param('clientId') clientId: string,
    @Query() { profile }: ClientProfileQueryDto,
    @CurrentOperator() by: OperatorPrincipal,
  ): Promise<ClientSettingsDto> {
    return this.clients.settings(clientId, profile, by.scope);
  }

  @Put('clients/:clientId/settings')
  @AuditAction('client-settings.update', 'client', 'clientId')
  @OperatorAuth('operator')
  @ApiOperation({
    summary: "Set a client's polling interval, polling period and downtime windows (null = fleet default)",
  })
  @ApiOkResponse({ type: ClientSettingsDto })
  @ApiProblems(404, 409, 422)
  updateClientSettings(
    @Param('clientId') clientId: string,
    @Body() body: ClientSettingsUpdateDto,
    @Query() { profile }: ClientProfileQueryDto,
    @CurrentOperator() by: OperatorPrincipal,
  ): Promise<ClientSettingsDto> {
    return this.clients.updateSettings(clientId, body, profile, by.scope);
  }

  @Get('fleet-settings')
  @OperatorAuth('viewer')
  @ApiOperation({ summary: 'Fleet-wide defaults of the client settings' })
  @ApiOkResponse({ type: ClientSettingsDto })
  getFleetSettings(): Promise<ClientSettingsDto> {
    return this.clients.fleetSettings();
  }

  @Put('fleet-settings')
  @AuditAction('fleet-settings.update', 'fleet-settings')
  @OperatorAuth('admin', { unscoped: true })
  @ApiOperation({ summary: 'Change the fleet-wide defaults of the client settings' })
  @ApiOkResponse({ type: ClientSettingsDto })
  @ApiProblems(422)
  updateFleetSettings(@Body() body: ClientSettingsUpdateDto): Promise<ClientSettingsDto> {
    return this.clients.updateFleetSettings(body);
  }
}
