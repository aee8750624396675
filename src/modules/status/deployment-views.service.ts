import { Injectable } from '@nestjs/common';
import {
  type DeploymentDetail,
  DeploymentsService,
} from '../deployment-spec/deployments/deployments.service.js';
import type { TargetRow } from '../deployment-spec/deployments/deployment-rows.js';
import type {
  DeploymentCreateDto,
  DeploymentDto,
  DeploymentPatchDto,
  DeploymentTargetDto,
  DeploymentTargetPageDto,
  DeploymentTargetQueryDto,
} from '../deployment-spec/deployments/dto/deployment.dto.js';
import { StatusService, type TargetStatusView } from './status.service.js';

/** A target as the operator sees it: its reported status and derived state first, then the intent. */
function withStatus(dto: DeploymentTargetDto, view: TargetStatusView | undefined): DeploymentTargetDto {
  return view ? { status: view.status, derivedState: view.derivedState, ...dto } : dto;
}

/**
 * The operator's view of deployments: what deployment-spec says should run (DeploymentsService),
 * each target with what its device reported and the state derived from it.
 */
@Injectable()
export class DeploymentViewsService {
  constructor(
    private readonly deployments: DeploymentsService,
    private readonly status: StatusService,
  ) {}

  // `scope`: the caller's label scope (see DeploymentsService): only deployments created within it
  async create(
    input: DeploymentCreateDto,
    scope?: Record<string, string>,
    actor: string | null = null,
  ): Promise<DeploymentDto> {
    return this.withStatus(await this.deployments.create(input, scope, actor));
  }

  async get(id: string, scope?: Record<string, string>): Promise<DeploymentDto> {
    return this.withStatus(await this.deployments.get(id, scope));
  }

  async patch(
    id: string,
    input: DeploymentPatchDto,
    options: { supersede?: boolean; actor?: string | null; scope?: Record<string, string> } = {},
  ): Promise<DeploymentDto> {
    return this.withStatus(await this.deployments.patch(id, input, options));
  }

  async targets(
    id: string,
    query: DeploymentTargetQueryDto,
    scope?: Record<string, string>,
  ): Promise<DeploymentTargetPageDto> {
    const { page, rows } = await this.deployments.targets(id, query, scope);
    const views = await this.views(rows);
    return { ...page, items: page.items.map((t, i) => withStatus(t, views.get(rows[i].id))) };
  }

  private async withStatus({ dto, targets }: DeploymentDetail): Promise<DeploymentDto> {
    const views = await this.views(targets);
    return { ...dto, targets: dto.targets.map((t, i) => withStatus(t, views.get(targets[i].id))) };
  }

  private views(targets: TargetRow[]): Promise<Map<string, TargetStatusView>> {
    return this.status.viewOf(targets);
  }
}
