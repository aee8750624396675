import type { ApplicationPackage } from '../../../generated/prisma/client.js';

/** A stored package version (the `application_package` row). */
export type PackageRow = ApplicationPackage;
