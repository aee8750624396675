import { type DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '../../config/config.js';
import { QueueModule } from '../../infra/queue/queue.module.js';
import { EnrollmentModule } from '../enrollment/enrollment.module.js';
import { Rc3CapabilitiesController, LegacyCapabilitiesController } from './capabilities.controller.js';
import { CapabilitySweepProcessor } from './capability-sweep.processor.js';
import { CapabilityMetrics } from './capability.metrics.js';
import { RECOMPUTE_QUEUE, RecomputeProducer, SWEEP_QUEUE } from './device-capability.jobs.js';
import { DeviceCapabilityService } from './device-capability.service.js';
import { DeviceInventoryService } from './device-inventory.service.js';
import { DeviceRepository } from './device.repository.js';
import { OperatorDevicesController } from './operator-devices.controller.js';
import { SweepQueueErrorLogger } from './queue-error-logger.js';

/**
 * What each device has: the Margo capability-reporting API (both profiles), the device inventory
 * with history, and the `recompute-device` trigger. Exports DeviceCapabilityService for the
 * deployment-spec module (which consumes the recompute queue).
 */
@Module({})
export class DeviceCapabilityModule {
  /** Imported once per application, by DeploymentSpecModule (which consumes its recompute queue). */
  static forRoot(roles: AppConfig['roles']): DynamicModule {
    return {
      module: DeviceCapabilityModule,
      imports: [
        EnrollmentModule,
        QueueModule.registerQueue(RECOMPUTE_QUEUE),
        QueueModule.registerQueue(SWEEP_QUEUE),
      ],
      controllers: [Rc3CapabilitiesController, LegacyCapabilitiesController, OperatorDevicesController],
      providers: [
        DeviceRepository,
        DeviceCapabilityService,
        DeviceInventoryService,
        RecomputeProducer,
        CapabilityMetrics,
        SweepQueueErrorLogger,
        ...(roles.worker ? [CapabilitySweepProcessor] : []),
      ],
      exports: [DeviceCapabilityService],
    };
  }
}
