import { type DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '../../config/config.js';
import { QueueModule } from '../../infra/queue/queue.module.js';
import { RECOMPUTE_QUEUE } from '../device-capability/device-capability.jobs.js';
import { DeviceCapabilityModule } from '../device-capability/device-capability.module.js';
import { RecomputeProcessor } from './recompute.processor.js';

/** What should run where: application packages, placement, rendering and the state manifest. */
@Module({})
export class DeploymentSpecModule {
  static forRoot(roles: AppConfig['roles']): DynamicModule {
    return {
      module: DeploymentSpecModule,
      imports: [DeviceCapabilityModule.forRoot(roles), QueueModule.registerQueue(RECOMPUTE_QUEUE)],
      providers: [...(roles.worker ? [RecomputeProcessor] : [])],
    };
  }
}
