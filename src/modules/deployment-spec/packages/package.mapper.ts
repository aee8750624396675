import { formatBytes } from '../../device-capability/quantity.js';
import type { ApplicationPackage } from './domain.js';
import type { PackageDto } from './dto/package.dto.js';
import type { PackageRow } from './package-row.js';

export function toPackageDto(row: PackageRow, pkg: ApplicationPackage, deployments: number): PackageDto {
  return {
    id: row.id,
    applicationId: row.applicationId,
    version: row.version,
    name: row.name,
    ...(pkg.description ? { description: pkg.description } : {}),
    profiles: pkg.profiles.map((p) => ({
      id: p.id,
      type: p.type,
      components: p.componentNames,
      requirements: {
        ...(p.requirements.cores !== undefined ? { cores: p.requirements.cores } : {}),
        ...(p.requirements.architectures ? { architectures: p.requirements.architectures } : {}),
        ...(p.requirements.memoryBytes !== undefined
          ? { memory: formatBytes(p.requirements.memoryBytes) }
          : {}),
        ...(p.requirements.storageBytes !== undefined
          ? { storage: formatBytes(p.requirements.storageBytes) }
          : {}),
        ...(p.requirements.peripherals.length ? { peripherals: p.requirements.peripherals } : {}),
        ...(p.requirements.interfaces.length ? { interfaces: p.requirements.interfaces } : {}),
      },
      eligibilityRules: p.eligibilityRules.length,
    })),
    parameters: Object.keys(pkg.parameters).sort(),
    deployments,
    createdAt: row.createdAt.toISOString(),
    createdBy: row.createdBy,
    document: row.document,
  };
}
