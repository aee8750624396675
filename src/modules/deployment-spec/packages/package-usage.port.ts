/**
 * Which deployments use a package version: packages/ asks, deployments/ answers (it depends on
 * packages/, so the answer comes through this port; bound in deployment-spec.module.ts).
 */
export const PACKAGE_USAGE = Symbol('PACKAGE_USAGE');

export interface PackageUsage {
  /** Live deployments of this package version. */
  deploymentsUsing(packageId: string): Promise<number>;
}
