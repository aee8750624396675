import { type DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '../../config/config.js';
import { QueueModule } from '../../infra/queue/queue.module.js';
import { RECOMPUTE_QUEUE } from '../device-capability/device-capability.jobs.js';
import { DeviceCapabilityModule } from '../device-capability/device-capability.module.js';
import { EnrollmentModule } from '../enrollment/enrollment.module.js';
import { DeploymentRepository } from './deployment.repository.js';
import { DeploymentJobs } from './deployment-spec.jobs.js';
import { DeploymentsService } from './deployments.service.js';
import { ManifestRepository } from './manifest.repository.js';
import { ManifestService } from './manifest.service.js';
import {
  OperatorDeploymentsController,
  OperatorPackagesController,
} from './operator-deployments.controller.js';
import { PackageRepository } from './package.repository.js';
import { PackagesService } from './packages.service.js';
import { RecomputeProcessor } from './recompute.processor.js';
import { RecomputeService } from './recompute.service.js';
import { LegacyStateController, Rc3StateController } from './state.controller.js';

/**
 * What should run where: application packages, operator deployments, capability-aware placement,
 * per-device ApplicationDeployments, and the Margo state-manifest API. Consumes the `recompute` queue
 * (worker role). Exports the manifest and deployment services for the status module.
 */
@Module({})
export class DeploymentSpecModule {
  static forRoot(roles: AppConfig['roles']): DynamicModule {
    const deviceCapability = DeviceCapabilityModule.forRoot(roles);
    return {
      module: DeploymentSpecModule,
      imports: [EnrollmentModule, deviceCapability, QueueModule.registerQueue(RECOMPUTE_QUEUE)],
      controllers: [
        Rc3StateController,
        LegacyStateController,
        OperatorPackagesController,
        OperatorDeploymentsController,
      ],
      providers: [
        PackageRepository,
        DeploymentRepository,
        ManifestRepository,
        PackagesService,
        DeploymentsService,
        ManifestService,
        RecomputeService,
        DeploymentJobs,
        ...(roles.worker ? [RecomputeProcessor] : []),
      ],
      exports: [ManifestService, DeploymentsService, deviceCapability],
    };
  }
}
