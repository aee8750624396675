import { type DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '../../config/config.js';
import { QueueModule } from '../../infra/queue/queue.module.js';
import { RECOMPUTE_QUEUE } from '../../infra/queue/recompute-queue.js';
import { DeviceCapabilityModule } from '../device-capability/device-capability.module.js';
import { EnrollmentModule } from '../enrollment/enrollment.module.js';
import { DeploymentJobs } from './deployments/deployment.jobs.js';
import { DeploymentPreviewController } from './deployments/deployment-preview.controller.js';
import { DeploymentPreviewService } from './deployments/deployment-preview.service.js';
import { DeploymentRepository } from './deployments/deployment.repository.js';
import { DeploymentsService } from './deployments/deployments.service.js';
import { DeviceLabelsBulkService } from './deployments/device-labels-bulk.service.js';
import { ListedTargetsAdapter } from './deployments/listed-targets.adapter.js';
import { OperatorDeviceLabelsController } from './deployments/operator-device-labels.controller.js';
import { DeploymentPackageUsage } from './deployments/package-usage.adapter.js';
import { RecomputeProcessor } from './deployments/recompute.processor.js';
import { RecomputeService } from './deployments/recompute.service.js';
import { RolloutMetrics } from './deployments/rollout/rollout.metrics.js';
import { RolloutRepository } from './deployments/rollout/rollout.repository.js';
import { RolloutService } from './deployments/rollout/rollout.service.js';
import { LISTED_TARGETS } from './manifests/listed-targets.port.js';
import { ManifestRepository } from './manifests/manifest.repository.js';
import { ManifestService } from './manifests/manifest.service.js';
import { LegacyStateController, Rc3StateController } from './manifests/state.controller.js';
import { OperatorPackagesController } from './packages/operator-packages.controller.js';
import { PackageRepository } from './packages/package.repository.js';
import { PACKAGE_USAGE } from './packages/package-usage.port.js';
import { PackagesService } from './packages/packages.service.js';

const modules = new Map<string, DynamicModule>();

/**
 * What should run where, in three parts that talk through services and the two ports bound below
 * (each folder owns its tables; none reads another's):
 *
 * - `packages/` — application packages: ApplicationDescription validation (`application-description.ts`),
 *   parameter values, `PackagesService`, `POST/GET/DELETE /operator/v1/applications`
 *   (`operator-packages.controller.ts`). Table `application_package`. Asks deployments/ how often a
 *   version is used through `PACKAGE_USAGE`.
 * - `manifests/` — what each device polls: `ManifestService` (compose, issue, poll, documents, bundles,
 *   purge), its Redis poll cache, RFC 8785 / bundle rendering, HTTP conditions, and the device routes
 *   `GET /api/v1/deployments…` (`state.controller.ts`, which also documents the device fast path,
 *   `device-fast-path.ts`), the in-memory document cache (`document-cache.ts`). Tables `client_manifest`, `manifest_issue`, `bundle`, `rendered_document`.
 *   Learns which targets a manifest lists through `LISTED_TARGETS` (`listed-targets.port.ts`).
 * - `deployments/` — operator intent and placement: `DeploymentsService` (create, patch, delete,
 *   overrides), `RecomputeService` (load, decide, write, announce) with its pure decision core in
 *   `placement/` (`decision.ts`, `placement.ts`, `eligibility.ts`) and YAML rendering in `render/`;
 *   the `recompute` queue's producer (`deployment.jobs.ts`) and consumer (`recompute.processor.ts`,
 *   worker role; catalogue in infra/queue/recompute-queue.ts); the bulk operator-label call
 *   `POST /operator/v1/devices/labels` (`operator-device-labels.controller.ts`: its selector is a
 *   deployment selector; device-capability's DeviceLabelsService makes the change). Tables
 *   `deployment`, `deployment_target`.
 *   Staged rollouts in `deployments/rollout/` (issue 16): revisions and their pins, wave planning,
 *   gates and the state machine (pure: `policy.ts`, `pins.ts`, `waves.ts`, `gate.ts`, `machine.ts`)
 *   behind `RolloutService`; tables `deployment_revision`, `deployment_rollout`, `rollout_wave`,
 *   `rollout_action`. Gates read derived states through `TargetHealthSource`
 *   (`target-health.port.ts`), which the status module implements and passes in: its worker tick
 *   (`rollout.processor.ts`) and its rollout routes (`operator-rollouts.controller.ts`) call
 *   RolloutService.
 *
 * The operator deployment routes (`/operator/v1/deployments`) are served by the status module, which
 * adds each target's status to DeploymentsService's answers. Exports the deployment and manifest
 * services for it.
 */
@Module({})
export class DeploymentSpecModule {
  /** One module per roles (AppModule and StatusModule import the same one). */
  static forRoot(roles: AppConfig['roles']): DynamicModule {
    const key = `${roles.api}|${roles.worker}`;
    const existing = modules.get(key);
    if (existing) return existing;
    const module: DynamicModule = {
      module: DeploymentSpecModule,
      imports: [
        EnrollmentModule,
        DeviceCapabilityModule.forRoot(roles),
        QueueModule.registerQueue(RECOMPUTE_QUEUE),
      ],
      controllers: [
        Rc3StateController,
        LegacyStateController,
        OperatorPackagesController,
        DeploymentPreviewController,
        OperatorDeviceLabelsController,
      ],
      providers: [
        PackageRepository,
        PackagesService,
        { provide: PACKAGE_USAGE, useExisting: DeploymentPackageUsage },
        ManifestRepository,
        ManifestService,
        { provide: LISTED_TARGETS, useExisting: ListedTargetsAdapter },
        DeploymentRepository,
        DeploymentPackageUsage,
        ListedTargetsAdapter,
        DeploymentsService,
        DeploymentPreviewService,
        RolloutRepository,
        RolloutMetrics,
        RolloutService,
        DeviceLabelsBulkService,
        RecomputeService,
        DeploymentJobs,
        ...(roles.worker ? [RecomputeProcessor] : []),
      ],
      exports: [ManifestService, DeploymentsService, RolloutService],
    };
    modules.set(key, module);
    return module;
  }
}
