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
  Req,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBody,
  ApiConsumes,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import type { RawBodyRequest } from '../../common/http/body-reader.middleware.js';
import { type Page, PageDto, PageQueryDto } from '../../common/http/page.js';
import {
  DEPLOYMENT_CREATE_EXAMPLES,
  DEPLOYMENT_PATCH_EXAMPLES,
  PACKAGE_YAML_EXAMPLE,
} from '../../common/openapi/examples.js';
import { ApiProblems } from '../../common/openapi/api-problems.decorator.js';
import type { OperatorPrincipal } from '../enrollment/auth/authenticated-client.js';
import { CurrentOperator, OperatorAuth } from '../enrollment/auth/guards.js';
import { DeploymentsService } from './deployments.service.js';
import {
  DeploymentCreateDto,
  DeploymentDto,
  DeploymentListQueryDto,
  DeploymentPatchDto,
  DeploymentSummaryPageDto,
  DeploymentTargetDto,
  DeploymentTargetPageDto,
  DeploymentTargetQueryDto,
  ParameterOverridesDto,
} from './dto/deployment.dto.js';
import { PackageDto } from './dto/package.dto.js';
import { PackagesService } from './packages.service.js';

@ApiTags('Operator: application packages')
@Controller('operator/v1/applications')
export class OperatorPackagesController {
  constructor(private readonly packages: PackagesService) {}

  @Post()
  @OperatorAuth('operator')
  @ApiOperation({
    summary: 'Publish an application package version: an ApplicationDescription (margo.yaml) as YAML or JSON',
  })
  @ApiConsumes('application/yaml', 'application/json')
  @ApiBody({
    description: 'ApplicationDescription (margo.yaml)',
    schema: { type: 'string', example: PACKAGE_YAML_EXAMPLE },
  })
  @ApiCreatedResponse({ type: PackageDto })
  @ApiProblems(400, 409, 413, 422)
  publishPackage(@Req() req: RawBodyRequest, @CurrentOperator() by: OperatorPrincipal): Promise<PackageDto> {
    return this.packages.upload(req.rawBody ?? Buffer.alloc(0), req.headers['content-type'], by.name);
  }

  @Get()
  @OperatorAuth('viewer')
  @ApiOperation({ summary: 'All package versions' })
  @ApiOkResponse({ type: PageDto(PackageDto) })
  @ApiProblems(422)
  listPackages(@Query() query: PageQueryDto): Promise<Page<PackageDto>> {
    return this.packages.list(query);
  }

  @Get(':applicationId/versions/:version')
  @OperatorAuth('viewer')
  @ApiOperation({ summary: 'One package version' })
  @ApiOkResponse({ type: PackageDto })
  @ApiProblems(404)
  getPackage(
    @Param('applicationId') applicationId: string,
    @Param('version') version: string,
  ): Promise<PackageDto> {
    return this.packages.get(applicationId, version);
  }

  @Delete(':applicationId/versions/:version')
  @HttpCode(204)
  @OperatorAuth('operator')
  @ApiOperation({ summary: 'Delete a package version (409 while deployments use it)' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiProblems(404, 409)
  deletePackage(
    @Param('applicationId') applicationId: string,
    @Param('version') version: string,
  ): Promise<void> {
    return this.packages.remove(applicationId, version);
  }
}

@ApiTags('Operator: deployments')
@Controller('operator/v1/deployments')
export class OperatorDeploymentsController {
  constructor(private readonly deployments: DeploymentsService) {}

  @Post()
  @OperatorAuth('operator')
  @ApiOperation({
    summary: 'Deploy a package to one device or to every device a selector matches (now and later)',
  })
  @ApiBody({ type: DeploymentCreateDto, examples: DEPLOYMENT_CREATE_EXAMPLES })
  @ApiCreatedResponse({ type: DeploymentDto, description: 'Created; targets are placed shortly' })
  @ApiProblems(404, 422)
  createDeployment(@Body() body: DeploymentCreateDto): Promise<DeploymentDto> {
    return this.deployments.create(body);
  }

  @Get()
  @OperatorAuth('viewer')
  @ApiOperation({ summary: 'List deployments (without their targets: a count per placement)' })
  @ApiOkResponse({ type: DeploymentSummaryPageDto })
  @ApiProblems(422)
  listDeployments(@Query() query: DeploymentListQueryDto): Promise<DeploymentSummaryPageDto> {
    return this.deployments.list(query);
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
  ): Promise<DeploymentTargetPageDto> {
    return this.deployments.targets(id, query);
  }

  @Get(':id')
  @OperatorAuth('viewer')
  @ApiOperation({
    summary: 'One deployment with every target: placement, reasons, digest, effective parameters',
  })
  @ApiOkResponse({ type: DeploymentDto })
  @ApiProblems(404)
  getDeployment(@Param('id', new ParseUUIDPipe()) id: string): Promise<DeploymentDto> {
    return this.deployments.get(id);
  }

  @Patch(':id')
  @OperatorAuth('operator')
  @ApiOperation({
    summary: 'Change parameters, package version, profile or policy (immutable settings stay as installed)',
    description:
      'The body is a JSON Merge Patch (RFC 7396), as `application/merge-patch+json` or `application/json`: ' +
      'members left out stay as they are; `parameters` merges into the deployment-level values, a key set ' +
      'to null removes that value (the package default applies again), object values merge recursively.',
  })
  @ApiConsumes('application/merge-patch+json', 'application/json')
  @ApiBody({ type: DeploymentPatchDto, examples: DEPLOYMENT_PATCH_EXAMPLES })
  @ApiOkResponse({ type: DeploymentDto, description: 'The deployment after the change' })
  @ApiProblems(404, 422)
  updateDeployment(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() body: DeploymentPatchDto,
  ): Promise<DeploymentDto> {
    return this.deployments.patch(id, body);
  }

  @Delete(':id')
  @HttpCode(202)
  @OperatorAuth('operator')
  @ApiOperation({ summary: 'Delete a deployment; it leaves the affected manifests shortly (202)' })
  @ApiAcceptedResponse()
  @ApiProblems(404)
  deleteDeployment(@Param('id', new ParseUUIDPipe()) id: string): Promise<void> {
    return this.deployments.remove(id);
  }

  @Put(':id/devices/:clientId/*deviceId/parameters')
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
  ): Promise<DeploymentTargetDto> {
    const device = Array.isArray(deviceId) ? deviceId.join('/') : deviceId;
    return this.deployments.setOverrides(id, clientId, device, body.parameters);
  }
}
