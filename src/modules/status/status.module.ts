import { type DynamicModule, Global, Module } from '@nestjs/common';
import { TARGET_STATUS } from '../deployment-spec/target-status.port.js';
import { EnrollmentModule } from '../enrollment/enrollment.module.js';
import { OperatorStatusController } from './operator-status.controller.js';
import { LegacyStatusController, Rc3StatusController } from './status.controller.js';
import { StatusMetrics } from './status.metrics.js';
import { StatusGauges } from './status-gauges.js';
import { StatusQueryService } from './status-query.service.js';
import { StatusRepository } from './status.repository.js';
import { StatusService } from './status.service.js';
import { StatusBatcher } from './status-batcher.js';

/**
 * What actually happened: the Margo status-reporting API (both profiles), the current and
 * historical status per target, derived states and fleet rollups. Global so that it can provide
 * TARGET_STATUS to the deployment-spec module it depends on.
 */
@Global()
@Module({})
export class StatusModule {
  static forRoot(deploymentSpec: DynamicModule): DynamicModule {
    return {
      module: StatusModule,
      imports: [EnrollmentModule, deploymentSpec],
      controllers: [Rc3StatusController, LegacyStatusController, OperatorStatusController],
      providers: [
        StatusRepository,
        StatusService,
        StatusBatcher,
        StatusQueryService,
        StatusMetrics,
        StatusGauges,
        { provide: TARGET_STATUS, useExisting: StatusService },
      ],
      exports: [TARGET_STATUS],
    };
  }
}
