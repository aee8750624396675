import type { JsonValue } from '../../common/json-value.js';

/** What placement needs to know about a device (read by the deployment-spec module through DeviceCapabilityService.facts). */
export interface DeviceFacts {
  clientId: string;
  deviceId: string;
  hosting: boolean;
  cpus: { cores: number; architecture: string | null }[];
  memoryBytes: bigint | null;
  memoryText: string | null;
  storageBytes: bigint | null;
  storageText: string | null;
  peripherals: { type: string; manufacturer?: string; model?: string }[];
  interfaceTypes: string[];
  deploymentTypes: string[];
  labels: { [key: string]: JsonValue };
  /** The reported `properties` object (for propertySelector pointers). */
  properties: { [key: string]: JsonValue };
}
