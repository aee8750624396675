import { Controller, Param, Post, Req, Res } from '@nestjs/common';
import {
  ApiBody,
  ApiCreatedResponse,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import type { RawBodyRequest } from '../../common/http/body-reader.middleware.js';
import { jsonBody } from '../../common/http/json-body.js';
import { STATUS_REPORT_EXAMPLE } from '../../common/openapi/examples.js';
import { ApiProblems } from '../../common/openapi/api-problems.decorator.js';
import type { AuthenticatedClient } from '../enrollment/auth/authenticated-client.js';
import { CurrentClient, LegacyDevice, Rc3Device } from '../enrollment/auth/guards.js';
import { DeploymentStatusManifestDto } from './dto/status.dto.js';
import { StatusService } from './status.service.js';

/** The optional Idempotency-Key header of the status routes (see docs/decisions.md, issue 15). */
const IdempotencyKeyHeader = () =>
  ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description:
      'Optional (draft-ietf-httpapi-idempotency-key-header): a unique value per report, such as a UUID, sent ' +
      'again unchanged when the report is resent. A resend of a report already stored is answered 200 and ' +
      'stores nothing again, so an answer lost to a connection or service failure never duplicates history.',
    schema: { type: 'string', minLength: 1, maxLength: 255, example: '8e03978e-40d5-43e8-bc93-6894a57f9324' },
  });

@ApiTags('Device API (rc.3)')
@Controller('api/v1/deployments')
export class Rc3StatusController {
  constructor(private readonly status: StatusService) {}

  @Post(':deploymentId/status')
  @Rc3Device()
  @ApiOperation({ summary: 'Report the status of an ApplicationDeployment (201 first report, 200 after)' })
  @ApiBody({ type: DeploymentStatusManifestDto, examples: { installed: { value: STATUS_REPORT_EXAMPLE } } })
  @ApiCreatedResponse({ description: 'First report of this (deployment, device); stored' })
  @ApiOkResponse({ description: 'Stored (or stored before: a resend with the same Idempotency-Key)' })
  @IdempotencyKeyHeader()
  @ApiProblems(400, 413, 422, 503)
  async postStatus(
    @CurrentClient() client: AuthenticatedClient,
    @Param('deploymentId') deploymentId: string,
    @Req() req: RawBodyRequest,
    @Res() res: Response,
  ): Promise<void> {
    const outcome = await this.status.report(
      client,
      deploymentId,
      jsonBody(req),
      req.rawBody ?? Buffer.alloc(0),
      req.header('idempotency-key'),
    );
    // D12: an orphan report is accepted with 200, never 201
    res.status(outcome.first && !outcome.orphan ? 201 : 200).end();
  }
}

@ApiTags('Device API (legacy profile)')
@Controller('api/v1/clients/:clientId')
export class LegacyStatusController {
  constructor(private readonly status: StatusService) {}

  private async handle(
    client: AuthenticatedClient,
    deploymentId: string,
    req: RawBodyRequest,
    res: Response,
  ) {
    await this.status.report(
      client,
      deploymentId,
      jsonBody(req),
      req.rawBody ?? Buffer.alloc(0),
      req.header('idempotency-key'),
    );
    res.status(200).end();
  }

  @Post('deployments/:deploymentId/status')
  @LegacyDevice()
  @ApiOperation({
    summary: 'Report the status of an ApplicationDeployment (200, as the legacy contract says)',
  })
  @ApiBody({ type: DeploymentStatusManifestDto, examples: { installed: { value: STATUS_REPORT_EXAMPLE } } })
  @ApiOkResponse({ description: 'Stored' })
  @IdempotencyKeyHeader()
  @ApiProblems(400, 413, 422, 503)
  postLegacyStatus(
    @CurrentClient() client: AuthenticatedClient,
    @Param('deploymentId') deploymentId: string,
    @Req() req: RawBodyRequest,
    @Res() res: Response,
  ): Promise<void> {
    return this.handle(client, deploymentId, req, res);
  }

  @Post('deployment/:deploymentId/status')
  @LegacyDevice()
  @ApiOperation({ summary: 'The same, at the singular path older agents use' })
  @ApiBody({ type: DeploymentStatusManifestDto, examples: { installed: { value: STATUS_REPORT_EXAMPLE } } })
  @ApiOkResponse({ description: 'Stored' })
  @IdempotencyKeyHeader()
  @ApiProblems(400, 413, 422, 503)
  postLegacyStatusSingular(
    @CurrentClient() client: AuthenticatedClient,
    @Param('deploymentId') deploymentId: string,
    @Req() req: RawBodyRequest,
    @Res() res: Response,
  ): Promise<void> {
    return this.handle(client, deploymentId, req, res);
  }
}
