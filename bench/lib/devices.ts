/**
 * Device data for the benches: rc.3 DeviceCapabilitiesManifest bodies (the shape of
 * test/support/capabilities.ts) and the SQL that seeds devices straight into the `device` table,
 * with the columns the service derives from such a body.
 */
export interface CapabilityOptions {
  cores?: number;
  architecture?: string;
  memory?: string;
  storage?: string;
  deploymentTypes?: string[];
  peripherals?: { type: string }[];
  labels?: Record<string, string | number | boolean>;
}

export function capabilityBody(deviceId: string, o: CapabilityOptions = {}): string {
  return JSON.stringify({
    properties: {
      id: deviceId,
      vendor: 'Acme Industrial',
      modelNumber: 'EDGE-4',
      serialNumber: `SN-${deviceId}`,
      cpus: [{ cores: o.cores ?? 4, architecture: o.architecture ?? 'amd64' }],
      memory: o.memory ?? '8Gi',
      storage: o.storage ?? '64Gi',
      peripherals: o.peripherals ?? [],
      interfaces: [{ type: 'ethernet' }],
      otelCollector: true,
      supportedRuntimes: ['oci'],
      supportedDeploymentTypes: o.deploymentTypes ?? ['compose'],
    },
    labels: o.labels ?? {},
  });
}

/**
 * `INSERT INTO device … SELECT` over a row source that provides, per device: client_id (uuid),
 * client_external_id, device_id, parent_device_id (text or NULL), depth, hosting, vendor, model_number,
 * serial_number, arch (text or NULL), cores (int), mem_gi (int or NULL), storage_gi (int or NULL),
 * peripheral_types text[], interface_types text[], runtimes text[], deployment_types text[], labels
 * jsonb (also the effective labels: no operator labels), reported_at timestamptz. The capability document (bytea) is built from the same values, the
 * model hash is an md5 of it, and capability_version = recomputed_version = 1 (nothing pending for the
 * sweeper).
 */
export function insertDevicesSql(source: string): string {
  return `
    INSERT INTO device (id, client_id, client_external_id, client_profile, device_id, parent_device_id, depth,
                        hosting, vendor, model_number, serial_number, architectures, max_cores, cpus,
                        memory_bytes, memory_text, storage_bytes, storage_text, peripheral_types, interface_types,
                        runtimes, deployment_types, otel_collector, labels, effective_labels, extensions, document, model_hash,
                        capability_version, recomputed_version, first_reported_at, last_reported_at, changed_at)
    SELECT gen_random_uuid(), s.client_id, s.client_external_id, 'rc3', s.device_id, s.parent_device_id, s.depth,
           s.hosting, s.vendor, s.model_number, s.serial_number,
           CASE WHEN s.arch IS NULL THEN '{}'::text[] ELSE ARRAY[s.arch] END,
           s.cores,
           CASE WHEN s.arch IS NULL THEN '[]'::jsonb
                ELSE jsonb_build_array(jsonb_build_object('cores', s.cores, 'architecture', s.arch)) END,
           s.mem_gi::bigint * 1073741824, s.mem_gi || 'Gi', s.storage_gi::bigint * 1073741824, s.storage_gi || 'Gi',
           s.peripheral_types, s.interface_types, s.runtimes, s.deployment_types, s.hosting, s.labels, s.labels, '{}'::jsonb,
           convert_to(s.doc::text, 'UTF8'), md5(s.doc::text), 1, 1, s.reported_at, s.reported_at, s.reported_at
      FROM (
        SELECT src.*,
               jsonb_build_object(
                 'properties', jsonb_strip_nulls(jsonb_build_object(
                   'id', src.device_id, 'vendor', src.vendor, 'modelNumber', src.model_number,
                   'serialNumber', src.serial_number,
                   'cpus', CASE WHEN src.arch IS NULL THEN NULL
                                ELSE jsonb_build_array(jsonb_build_object('cores', src.cores, 'architecture', src.arch)) END,
                   'memory', src.mem_gi || 'Gi', 'storage', src.storage_gi || 'Gi',
                   'peripherals', (SELECT coalesce(jsonb_agg(jsonb_build_object('type', p)), '[]'::jsonb)
                                     FROM unnest(src.peripheral_types) p),
                   'interfaces', (SELECT coalesce(jsonb_agg(jsonb_build_object('type', i)), '[]'::jsonb)
                                    FROM unnest(src.interface_types) i),
                   'otelCollector', src.hosting,
                   'supportedRuntimes', to_jsonb(src.runtimes),
                   'supportedDeploymentTypes', to_jsonb(src.deployment_types))),
                 'labels', src.labels) AS doc
          FROM (${source}) src
      ) s`;
}
