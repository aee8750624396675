/** Test data: DeviceCapabilitiesManifests (rc.3 shape) with overridable fields. */
export function capabilities(
  id: string,
  overrides: Record<string, unknown> = {},
  labels: Record<string, unknown> = {},
) {
  return {
    apiVersion: 'device.margo.org/v1alpha1',
    kind: 'DeviceCapabilitiesManifest',
    properties: {
      id,
      vendor: 'Acme Industrial',
      modelNumber: 'EDGE-4',
      serialNumber: `SN-${id}`,
      cpus: [{ cores: 4, architecture: 'arm64' }],
      memory: '8Gi',
      storage: '64Gi',
      peripherals: [],
      interfaces: [{ type: 'ethernet' }],
      otelCollector: true,
      supportedRuntimes: ['oci'],
      supportedDeploymentTypes: ['compose'],
      ...overrides,
    },
    labels,
  };
}

/** A non-hosting see-thru gateway: identity fields only. */
export function gateway(id: string) {
  return {
    apiVersion: 'device.margo.org/v1alpha1',
    kind: 'DeviceCapabilitiesManifest',
    properties: { id, vendor: 'Acme', modelNumber: 'GW-1', serialNumber: `SN-${id}` },
  };
}
