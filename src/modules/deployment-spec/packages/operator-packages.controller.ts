import { Controller, Delete, Get, HttpCode, Param, Post, Query, Req } from '@nestjs/common';
import {
  ApiBody,
  ApiConsumes,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { AuditAction } from '../../../infra/audit/audit-action.decorator.js';
import type { RawBodyRequest } from '../../../common/http/body-reader.middleware.js';
import { type Page, PageDto, PageQueryDto } from '../../../common/http/page.js';
import { PACKAGE_YAML_EXAMPLE } from '../../../common/openapi/examples.js';
import { ApiProblems } from '../../../common/openapi/api-problems.decorator.js';
import type { OperatorPrincipal } from '../../enrollment/auth/authenticated-client.js';
import { CurrentOperator, OperatorAuth } from '../../enrollment/auth/guards.js';
import { PackageDto } from './dto/package.dto.js';
import { PackagesService } from './packages.service.js';

@ApiTags('Operator: application packages')
@Controller('operator/v1/applications')
export class OperatorPackagesController {
  constructor(private readonly packages: PackagesService) {}

  @Post()
  @AuditAction('package.publish', 'package')
  @OperatorAuth('operator', { unscoped: true })
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
  @AuditAction('package.delete', 'package', 'applicationId')
  @OperatorAuth('operator', { unscoped: true })
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
