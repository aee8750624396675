import type { DeviceFacts } from './device-facts.js';
import type { JsonValue } from '../../common/json-value.js';
import type { DeviceChangeRow, DeviceFactsRow, DeviceRow } from './device.repository.js';
import type { DeviceChangeDto, DeviceDetailDto, DeviceSummaryDto } from './dto/device.dto.js';

const toNumber = (v: bigint | null): number | null => (v === null ? null : Number(v));
const iso = (d: Date | string): string => new Date(d).toISOString();

export function toDeviceSummary(row: DeviceRow): DeviceSummaryDto {
  return {
    clientId: row.clientExternalId,
    clientProfile: row.clientProfile,
    deviceId: row.deviceId,
    parentDeviceId: row.parentDeviceId,
    hosting: row.hosting,
    vendor: row.vendor,
    modelNumber: row.modelNumber,
    serialNumber: row.serialNumber,
    architectures: row.architectures,
    maxCores: row.maxCores,
    memory: row.memoryText,
    memoryBytes: toNumber(row.memoryBytes),
    storage: row.storageText,
    storageBytes: toNumber(row.storageBytes),
    peripheralTypes: row.peripheralTypes,
    interfaceTypes: row.interfaceTypes,
    runtimes: row.runtimes,
    deploymentTypes: row.deploymentTypes,
    labels: row.labels as Record<string, unknown>,
    capabilityVersion: row.capabilityVersion,
    recomputePending: row.capabilityVersion > row.recomputedVersion,
    firstReportedAt: iso(row.firstReportedAt),
    lastReportedAt: iso(row.lastReportedAt),
    changedAt: iso(row.changedAt),
  };
}

export function toDeviceChange(row: DeviceChangeRow): DeviceChangeDto {
  return {
    kind: row.kind,
    capabilityVersion: row.capabilityVersion,
    at: row.at.toISOString(),
    reportedBy: row.reportedBy,
    changes: row.changes as object[],
  };
}

export function toDeviceDetail(
  row: DeviceRow,
  children: string[],
  history: DeviceChangeRow[],
): DeviceDetailDto {
  let document: unknown;
  try {
    document = JSON.parse(Buffer.from(row.document).toString('utf8'));
  } catch {
    document = null;
  }
  return {
    ...toDeviceSummary(row),
    cpus: row.cpus as object[],
    otelCollector: row.otelCollector,
    extensions: row.extensions as Record<string, unknown>,
    document,
    children,
    history: history.map(toDeviceChange),
  };
}

/** The placement view of a device; `properties` comes from the exact document last received. */
export function toDeviceFacts(row: DeviceFactsRow): DeviceFacts {
  let properties: { [key: string]: JsonValue };
  try {
    const doc = JSON.parse(Buffer.from(row.document).toString('utf8')) as {
      properties?: { [key: string]: JsonValue };
    };
    properties = doc.properties ?? {};
  } catch {
    properties = {};
  }
  return {
    clientId: row.clientId,
    deviceId: row.deviceId,
    hosting: row.hosting,
    cpus: row.cpus as DeviceFacts['cpus'],
    memoryBytes: row.memoryBytes,
    memoryText: row.memoryText,
    storageBytes: row.storageBytes,
    storageText: row.storageText,
    peripherals:
      (properties.peripherals as DeviceFacts['peripherals'] | undefined) ??
      row.peripheralTypes.map((type) => ({ type })),
    interfaceTypes: row.interfaceTypes,
    deploymentTypes: row.deploymentTypes,
    labels: row.labels as { [key: string]: JsonValue },
    properties,
  };
}
