import type { DeviceFacts } from './device-facts.js';
import type { JsonValue } from '../../common/json-value.js';
import type { DeviceChangeRow, DeviceFactsRow, DeviceRow, OperatorLabelRow } from './device.repository.js';
import type {
  DeviceChangeDto,
  DeviceDetailDto,
  DeviceLabelsDto,
  DeviceSummaryDto,
  OperatorLabelDto,
} from './dto/device.dto.js';

const toNumber = (v: bigint | null): number | null => (v === null ? null : Number(v));
const iso = (d: Date | string): string => new Date(d).toISOString();

/** Where each effective label comes from: the operator's keys win, the others are the device's. */
export function labelSources(
  effective: Record<string, unknown>,
  operatorKeys: Iterable<string>,
): Record<string, 'device' | 'operator'> {
  const operator = new Set(operatorKeys);
  return Object.fromEntries(
    Object.keys(effective)
      .sort()
      .map((key) => [key, operator.has(key) ? 'operator' : 'device']),
  );
}

export function toDeviceSummary(row: DeviceRow, operatorKeys: Iterable<string>): DeviceSummaryDto {
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
    labels: row.effectiveLabels as Record<string, unknown>,
    labelSources: labelSources(row.effectiveLabels as Record<string, unknown>, operatorKeys),
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

export function toOperatorLabel(row: OperatorLabelRow): OperatorLabelDto {
  return { key: row.key, value: row.value, setBy: row.setBy, setAt: iso(row.setAt) };
}

/** The labels view of a device: effective labels, their sources, what the device reported, what the operator set. */
export function toDeviceLabels(row: DeviceRow, operator: OperatorLabelRow[]): DeviceLabelsDto {
  const effective = row.effectiveLabels as Record<string, unknown>;
  return {
    clientId: row.clientExternalId,
    clientProfile: row.clientProfile,
    deviceId: row.deviceId,
    labels: effective,
    labelSources: labelSources(
      effective,
      operator.map((o) => o.key),
    ),
    reportedLabels: row.labels as Record<string, unknown>,
    operatorLabels: operator.map(toOperatorLabel),
    capabilityVersion: row.capabilityVersion,
    recomputePending: row.capabilityVersion > row.recomputedVersion,
  };
}

export function toDeviceDetail(
  row: DeviceRow,
  children: string[],
  history: DeviceChangeRow[],
  operator: OperatorLabelRow[],
): DeviceDetailDto {
  let document: unknown;
  try {
    document = JSON.parse(Buffer.from(row.document).toString('utf8'));
  } catch {
    document = null;
  }
  return {
    ...toDeviceSummary(
      row,
      operator.map((o) => o.key),
    ),
    reportedLabels: row.labels as Record<string, unknown>,
    operatorLabels: operator.map(toOperatorLabel),
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
