import { Injectable } from '@nestjs/common';
import type { PackageUsage } from '../packages/package-usage.port.js';
import { DeploymentRepository } from './deployment.repository.js';

/** packages/'s PACKAGE_USAGE port: deployments count the uses of a package version. */
@Injectable()
export class DeploymentPackageUsage implements PackageUsage {
  constructor(private readonly deployments: DeploymentRepository) {}

  deploymentsUsing(packageId: string): Promise<number> {
    return this.deployments.countUsingPackage(packageId);
  }
}
