import { type DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '../../config/config.js';
import { DeploymentSpecModule } from '../deployment-spec/deployment-spec.module.js';
import { DeviceCapabilityModule } from '../device-capability/device-capability.module.js';
import { EnrollmentModule } from '../enrollment/enrollment.module.js';
import { DeploymentViewsService } from './deployment-views.service.js';
import { OperatorDeploymentsController } from './operator-deployments.controller.js';
import { OperatorStatusController } from './operator-status.controller.js';
import { OperatorRolloutsController } from './operator-rollouts.controller.js';
import { RolloutProcessor } from './rollout.processor.js';
import { RolloutTrigger } from './rollout-trigger.js';
import { QueueModule } from '../../infra/queue/queue.module.js';
import { ROLLOUT_QUEUE } from '../../infra/queue/rollout-queue.js';
import { LegacyStatusController, Rc3StatusController } from './status.controller.js';
import { StatusMetrics } from './status.metrics.js';
import { StatusGauges } from './status-gauges.js';
import { StatusQueryService } from './status-query.service.js';
import { StatusRepository } from './status.repository.js';
import { StatusService } from './status.service.js';
import { StatusBatcher } from './status-batcher.js';

/**
 * What actually happened: the Margo status-reporting API (both profiles), the current and
 * historical status per target, derived states and fleet rollups, and the operator deployment routes
 * (`operator-deployments.controller.ts`), whose answers show each target's status next to the
 * deployment-spec module's intent (`deployment-views.service.ts`), and the rollout routes and worker
 * tick (`operator-rollouts.controller.ts`, `rollout.processor.ts`), which hand deployment-spec's
 * RolloutService the derived states its gates read. Depends on deployment-spec, never the reverse. Tables `deployment_status`, `deployment_status_report`.
 */
@Module({})
export class StatusModule {
  static forRoot(roles: AppConfig['roles']): DynamicModule {
    return {
      module: StatusModule,
      imports: [
        EnrollmentModule,
        DeploymentSpecModule.forRoot(roles),
        DeviceCapabilityModule.forRoot(roles),
        QueueModule.registerQueue(ROLLOUT_QUEUE),
      ],
      controllers: [
        OperatorDeploymentsController,
        OperatorRolloutsController,
        Rc3StatusController,
        LegacyStatusController,
        OperatorStatusController,
      ],
      providers: [
        StatusRepository,
        StatusService,
        StatusBatcher,
        StatusQueryService,
        DeploymentViewsService,
        StatusMetrics,
        StatusGauges,
        RolloutTrigger,
        ...(roles.worker ? [RolloutProcessor] : []),
      ],
    };
  }
}
