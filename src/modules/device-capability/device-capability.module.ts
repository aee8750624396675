import { type DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '../../config/config.js';
import { QueueModule } from '../../infra/queue/queue.module.js';
import { RECOMPUTE_QUEUE } from '../../infra/queue/recompute-queue.js';
import { EnrollmentModule } from '../enrollment/enrollment.module.js';
import { Rc3CapabilitiesController, LegacyCapabilitiesController } from './capabilities.controller.js';
import { CapabilitySweepProcessor } from './capability-sweep.processor.js';
import { CapabilityMetrics } from './capability.metrics.js';
import { RecomputeProducer, SWEEP_QUEUE } from './device-capability.jobs.js';
import { DeviceCapabilityService } from './device-capability.service.js';
import { DeviceInventoryService } from './device-inventory.service.js';
import { DeviceLabelsService } from './device-labels.service.js';
import { DeviceRepository } from './device.repository.js';
import { OperatorDevicesController } from './operator-devices.controller.js';
import { SweepQueueErrorLogger } from './queue-error-logger.js';

const modules = new Map<string, DynamicModule>();

/**
 * What each device has: the Margo capability-reporting API (both profiles), the device inventory
 * with history, the facts placement reads (`device-facts.ts`), and the `recompute-device` trigger on
 * the `recompute` queue (infra/queue/recompute-queue.ts), and operator-set labels
 * (`DeviceLabelsService`, `PUT/PATCH /operator/v1/devices/{clientId}/{deviceId}/labels`). Tables
 * `device`, `device_capability_change`, `device_operator_label`. Exports DeviceCapabilityService for the
 * deployment-spec and status modules, and DeviceLabelsService for deployment-spec's bulk label call.
 */
@Module({})
export class DeviceCapabilityModule {
  /** One module per roles (AppModule, DeploymentSpecModule and StatusModule import the same one). */
  static forRoot(roles: AppConfig['roles']): DynamicModule {
    const key = `${roles.api}|${roles.worker}`;
    const existing = modules.get(key);
    if (existing) return existing;
    const module: DynamicModule = {
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
        DeviceLabelsService,
        RecomputeProducer,
        CapabilityMetrics,
        SweepQueueErrorLogger,
        ...(roles.worker ? [CapabilitySweepProcessor] : []),
      ],
      exports: [DeviceCapabilityService, DeviceLabelsService],
    };
    modules.set(key, module);
    return module;
  }
}
