import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblems } from '../../../common/openapi/api-problems.decorator.js';
import { DEPLOYMENT_CREATE_EXAMPLES } from '../../../common/openapi/examples.js';
import type { OperatorPrincipal } from '../../enrollment/auth/authenticated-client.js';
import { CurrentOperator, OperatorAuth } from '../../enrollment/auth/guards.js';
import { DeploymentPreviewService, PREVIEW_MAX_DEVICES } from './deployment-preview.service.js';
import { DeploymentCreateDto } from './dto/deployment.dto.js';
import { DeploymentPreviewDto } from './dto/deployment-preview.dto.js';

@ApiTags('Operator: deployments')
@Controller('operator/v1/deployments')
export class DeploymentPreviewController {
  constructor(private readonly previews: DeploymentPreviewService) {}

  @Post('preview')
  @HttpCode(200)
  @OperatorAuth('viewer')
  @ApiOperation({
    summary: 'What a deployment would do now: devices matched, placeable, and why not (writes nothing)',
    description: `The same body as POST /operator/v1/deployments, validated the same way. The selector's labels and client are counted in SQL; placement is decided for at most ${PREVIEW_MAX_DEVICES.toLocaleString('en')} of those devices (\`sampled\` says when there were more), against the capacity that existing deployments take on them. A scoped token previews only devices inside its scope, as its deployments would target.`,
  })
  @ApiBody({ type: DeploymentCreateDto, examples: DEPLOYMENT_CREATE_EXAMPLES })
  @ApiOkResponse({ type: DeploymentPreviewDto })
  @ApiProblems(404, 422)
  previewDeployment(
    @Body() body: DeploymentCreateDto,
    @CurrentOperator() by: OperatorPrincipal,
  ): Promise<DeploymentPreviewDto> {
    return this.previews.preview(body, by.scope);
  }
}
