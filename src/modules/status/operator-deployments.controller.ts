import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Patch,
  Post,
  Put,
  Query,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBody,
  ApiConsumes,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { AuditAction } from '../../infra/audit/audit-action.decorator.js';
import { DEPLOYMENT_CREATE_EXAMPLES, DEPLOYMENT_PATCH_EXAMPLES } from '../../common/openapi/examples.js';
import { ApiProblems } from '../../common/openapi/api-problems.decorator.js';
import type { OperatorPrincipal } from '../enrollment/auth/authenticated-client.js';
import { CurrentOperator, OperatorAuth } from '../enrollment/auth/guards.js';
import { DeploymentsService } from '../deployment-spec/deployments/deployments.service.js';
import {
  DeploymentCreateDto,
  DeploymentDto,
  DeploymentListQueryDto,
  DeploymentPatchDto,
  DeploymentPatchQueryDto,
  DeploymentSummaryPageDto,
  DeploymentTargetDto,
  DeploymentTargetPageDto,
  DeploymentTargetQueryDto,
  ParameterOverridesDto,
} from '../deployment-spec/deployments/dto/deployment.dto.js';
import { DeploymentViewsService } from './deployment-views.service.js';

/**
 * The operator deployments API. It is served by the status module, not by deployment-spec, because
 * its answers show each target's reported and derived status next to the intent: deployment-spec
 * owns the intent (DeploymentsService, which these routes call for every change) and status adds
 * what devices reported (DeploymentViewsService). Status depends on deployment-spec, never the reverse.
 */
@ApiTags('Operator: deployments')
@Controller('operator/v1/deployments')
export class OperatorDeploymentsController {
  constructor(
    private readonly deployments: DeploymentsService,
    private readonly views: DeploymentViewsService,
  ) {}

  @Post()
  @AuditAction('deployment.create', 'deployment')
  @OperatorAuth('operator')
  @ApiOperation({
    summary: 'Deploy a package to one device or to every device a selector matches (now and later)',
  })
  @ApiBody({ type: DeploymentCreateDto, examples: DEPLOYMENT_CREATE_EXAMPLES })
  @ApiCreatedResponse({ type: DeploymentDto, description: 'Created; targets are placed shortly' })
  @ApiProblems(404, 422)
  createDeployment(
    @Body() body: DeploymentCreateDto,
    @CurrentOperator() by: OperatorPrincipal,
  ): Promise<DeploymentDto> {
    return this.views.create(body, by.scope, by.name);
  }

  @Get()
  @OperatorAuth('viewer')
  @ApiOperation({ summary: 'List deployments (without their targets: a count per placement)' })
  @ApiOkResponse({ type: DeploymentSummaryPageDto })
  @ApiProblems(422)
  listDeployments(
    @Query() query: DeploymentListQueryDto,
    @CurrentOperator() by: OperatorPrincipal,
  ): Promise<DeploymentSummaryPageDto> {
    return this.deployments.list(query, by.scope);
  }

  @Get(':id/targets')
  @OperatorAuth('viewer')
  @ApiOperation({
    summary: "A page of a deployment's targets (keyset pagination; optionally one placement)",
  })
  @ApiOkResponse({ type: DeploymentTargetPageDto })
  @ApiProblems(404, 422)
  listTargets(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Query() query: DeploymentTargetQueryDto,
    @CurrentOperator() by: OperatorPrincipal,
  ): Promise<DeploymentTargetPageDto> {
    return this.views.targets(id, query, by.scope);
  }

  @Get(':id')
  @OperatorAuth('viewer')
  @ApiOperation({
    summary: 'One deployment with every target: placement, reasons, digest, effective parameters',
  })
  @ApiOkResponse({ type: DeploymentDto })
  @ApiProblems(404)
  getDeployment(
    @Param('id', new ParseUUIDPipe()) id: string,
    @CurrentOperator() by: OperatorPrincipal,
  ): Promise<DeploymentDto> {
    return this.views.get(id, by.scope);
  }

  @Patch(':id')
  @AuditAction('deployment.update', 'deployment', 'id')
  @OperatorAuth('operator')
  @ApiOperation({
    summary: 'Change parameters, package version, profile or policy (immutable settings stay as installed)',
    description:
      'The body is a JSON Merge Patch (RFC 7396), as `application/merge-patch+json` or `application/json`: ' +
      'members left out stay as they are; `parameters` merges into the deployment-level values, a key set ' +
      'to null removes that value (the package default applies again), object values merge recursively. ' +
      'A change of what devices get is a new revision; with a `rollout` policy it reaches the targets in ' +
      'waves (`GET …/rollout`). While a rollout is unfinished a change is refused with 409 (the problem ' +
      'has the rollout’s state) unless `?supersede=true`.',
  })
  @ApiConsumes('application/merge-patch+json', 'application/json')
  @ApiBody({ type: DeploymentPatchDto, examples: DEPLOYMENT_PATCH_EXAMPLES })
  @ApiOkResponse({ type: DeploymentDto, description: 'The deployment after the change' })
  @ApiProblems(404, 409, 422)
  updateDeployment(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() body: DeploymentPatchDto,
    @Query() query: DeploymentPatchQueryDto,
    @CurrentOperator() by: OperatorPrincipal,
  ): Promise<DeploymentDto> {
    return this.views.patch(id, body, {
      supersede: query.supersede === 'true',
      actor: by.name,
      scope: by.scope,
    });
  }

  @Delete(':id')
  @HttpCode(202)
  @AuditAction('deployment.delete', 'deployment', 'id')
  @OperatorAuth('operator')
  @ApiOperation({ summary: 'Delete a deployment; it leaves the affected manifests shortly (202)' })
  @ApiAcceptedResponse()
  @ApiProblems(404)
  deleteDeployment(
    @Param('id', new ParseUUIDPipe()) id: string,
    @CurrentOperator() by: OperatorPrincipal,
  ): Promise<void> {
    return this.deployments.remove(id, by.scope);
  }

  @Put(':id/devices/:clientId/*deviceId/parameters')
  @AuditAction('deployment.override', 'deployment', 'id')
  @OperatorAuth('operator')
  @ApiOperation({
    summary: 'Device-level parameter overrides for one target (layered over the deployment values)',
  })
  @ApiParam({ name: 'deviceId', description: 'May contain / (gateway hierarchy)' })
  @ApiOkResponse({ type: DeploymentTargetDto })
  @ApiProblems(404, 422)
  setDeviceParameters(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Param('clientId') clientId: string,
    @Param('deviceId') deviceId: string | string[],
    @Body() body: ParameterOverridesDto,
    @CurrentOperator() by: OperatorPrincipal,
  ): Promise<DeploymentTargetDto> {
    const device = Array.isArray(deviceId) ? deviceId.join('/') : deviceId;
    return this.deployments.setOverrides(id, clientId, device, body.parameters, by.scope);
  }
}
