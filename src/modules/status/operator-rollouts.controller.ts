import { Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiProblems } from '../../common/openapi/api-problems.decorator.js';
import { InvalidRequestError } from '../../common/problem/domain-error.js';
import type { OperatorPrincipal } from '../enrollment/auth/authenticated-client.js';
import { CurrentOperator, OperatorAuth } from '../enrollment/auth/guards.js';
import {
  DeploymentRolloutViewDto,
  RolloutActionQueryDto,
} from '../deployment-spec/deployments/rollout/dto/rollout.dto.js';
import { RolloutService } from '../deployment-spec/deployments/rollout/rollout.service.js';
import { AuditAction } from '../../infra/audit/audit-action.decorator.js';
import { StatusService } from './status.service.js';

const ACTIONS = ['approve', 'pause', 'resume', 'abort', 'rollback'] as const;

/**
 * Operator control of staged rollouts (issue 16, item 6). Served by the status module beside the
 * other deployment routes, because the view counts each wave's targets by derived state (which
 * status owns); RolloutService (deployment-spec) does the work, with StatusService as its
 * TargetHealthSource.
 */
@ApiTags('Operator: deployments')
@Controller('operator/v1/deployments/:id/rollout')
export class OperatorRolloutsController {
  constructor(
    private readonly rollouts: RolloutService,
    private readonly status: StatusService,
  ) {}

  @Get()
  @OperatorAuth('viewer')
  @ApiOperation({
    summary:
      "A deployment's rollout: state, waves with their members and counts by derived state, who did what, revisions",
  })
  @ApiOkResponse({ type: DeploymentRolloutViewDto })
  @ApiProblems(404)
  getRollout(
    @Param('id', new ParseUUIDPipe()) id: string,
    @CurrentOperator() operator: OperatorPrincipal,
  ): Promise<DeploymentRolloutViewDto> {
    return this.rollouts.view(id, this.status, operator.scope);
  }

  @Post(':action')
  @HttpCode(200)
  @AuditAction('rollout.{action}', 'deployment', 'id')
  @OperatorAuth('operator')
  @ApiOperation({
    summary: 'approve | pause | resume | abort | rollback the deployment’s rollout',
    description:
      '`approve` starts a wave that waits for approval, or accepts a wave that paused by itself (threshold, ' +
      'timeout) and moves on; `pause`/`resume` stop and continue (a resumed wave’s timeout starts again); ' +
      '`abort` stops for good (reached targets keep the new revision, the others the old one); `rollback` ' +
      'puts every target back on the previous revision at once (a new revision with its content: the same bytes ' +
      'and digests as before), or with `?staged=true` as a new rollout with the same policy. 409 with the ' +
      'rollout’s state when the action does not apply.',
  })
  @ApiParam({ name: 'action', enum: ACTIONS })
  @ApiOkResponse({ type: DeploymentRolloutViewDto, description: 'The rollout after the action' })
  @ApiProblems(400, 404, 409)
  actOnRollout(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Param('action') action: string,
    @Query() query: RolloutActionQueryDto,
    @CurrentOperator() operator: OperatorPrincipal,
  ): Promise<DeploymentRolloutViewDto> {
    if (!(ACTIONS as readonly string[]).includes(action)) {
      throw new InvalidRequestError(`Unknown rollout action ${action} (${ACTIONS.join(', ')})`, [
        { field: '/action', message: `must be one of ${ACTIONS.join(', ')}` },
      ]);
    }
    if (query.staged !== undefined && action !== 'rollback') {
      throw new InvalidRequestError('Only rollback takes ?staged', [
        { field: '/staged', message: 'only for rollback' },
      ]);
    }
    return this.rollouts.act(id, action as (typeof ACTIONS)[number], operator.name, this.status, {
      staged: query.staged === 'true',
      scope: operator.scope,
    });
  }
}
