import type { FieldError } from '../../common/problem/problem-types.js';
import { isDeviceId, MAX_ID_LENGTH } from '../../common/http/input-limits.js';
import {
  Collector,
  escapePointer,
  EXTENSION_KEY,
  isObject,
  type JsonObject,
} from '../../common/json/json-reader.js';
import { parseQuantity } from './quantity.js';

/**
 * Validation and normalisation of a DeviceCapabilitiesManifest (spec §2.4, decisions D2 and D14).
 * rc.3 shape in both profiles; the legacy profile also accepts the older `roles` + `resources` shape
 * and maps it onto the rc.3 model. `apiVersion`/`kind` are ignored (the legacy profile requires
 * `apiVersion`, a string, as its OpenAPI document does: D2), `x-<name>-extensions` are kept,
 * anything else unknown, a wrong enum or a wrong type is an error with a JSON pointer. Pure.
 */

export const ARCHITECTURES = ['amd64', 'arm64', 'arm'] as const;
const ARCH_ALIASES: Record<string, string> = { x86_64: 'amd64', aarch64: 'arm64' };
export const PERIPHERALS = ['gpu', 'display', 'camera', 'microphone', 'speaker'] as const;
export const INTERFACES = ['ethernet', 'wifi', 'cellular', 'bluetooth', 'usb', 'canbus', 'rs232'] as const;
export const RUNTIMES = ['oci', 'custom'] as const;
export const DEPLOYMENT_TYPES = ['helm', 'compose', 'custom'] as const;
const LEGACY_ROLES = ['Standalone Cluster', 'Standalone Device', 'Cluster Leader', 'Gateway'] as const;
const HOSTING_FIELDS = [
  'cpus',
  'memory',
  'storage',
  'peripherals',
  'interfaces',
  'otelCollector',
  'supportedRuntimes',
  'supportedDeploymentTypes',
];

export type LabelValue = string | number | boolean | string[] | number[];

export interface CpuEntry {
  cores: number;
  architecture: string | null;
}

export interface CapabilityModel {
  deviceId: string;
  /** Reports workload-hosting fields (a see-thru gateway that only relays does not). */
  hosting: boolean;
  vendor: string;
  modelNumber: string;
  serialNumber: string;
  cpus: CpuEntry[];
  architectures: string[];
  /** Cores of the largest single `cpus` entry (cores of separate entries never add up). */
  maxCores: number;
  memory: { text: string; bytes: bigint } | null;
  storage: { text: string; bytes: bigint } | null;
  peripherals: { type: string; manufacturer?: string; model?: string }[];
  peripheralTypes: string[];
  interfaceTypes: string[];
  runtimes: string[];
  deploymentTypes: string[];
  otelCollector: boolean | null;
  labels: Record<string, LabelValue>;
  extensions: Record<string, unknown>;
}

export type ParseResult = { ok: true; model: CapabilityModel } | { ok: false; errors: FieldError[] };

const sortedUnique = (values: string[]) => [...new Set(values)].sort();

function str(c: Collector, obj: JsonObject, key: string, at: string, required: boolean): string | undefined {
  const value = obj[key];
  if (value === undefined) {
    if (required) c.add(`${at}/${key}`, 'is required');
    return undefined;
  }
  if (typeof value !== 'string' || value.trim() === '') {
    c.add(`${at}/${key}`, 'must be a non-empty string');
    return undefined;
  }
  return value;
}

function enumArray(
  c: Collector,
  value: unknown,
  at: string,
  allowed: readonly string[],
  minItems = 0,
): string[] {
  if (!Array.isArray(value)) {
    c.add(at, 'must be an array');
    return [];
  }
  if (value.length < minItems) c.add(at, `must list at least ${minItems} value(s)`);
  const out: string[] = [];
  value.forEach((item, i) => {
    if (typeof item !== 'string' || !allowed.includes(item)) {
      c.add(`${at}/${i}`, `must be one of ${allowed.join(', ')}`);
    } else {
      out.push(item);
    }
  });
  return out;
}

function architecture(c: Collector, value: unknown, at: string): string | null {
  if (typeof value !== 'string') {
    c.add(at, `must be one of ${ARCHITECTURES.join(', ')}`);
    return null;
  }
  const mapped = ARCH_ALIASES[value] ?? value;
  if (!(ARCHITECTURES as readonly string[]).includes(mapped)) {
    c.add(at, `must be one of ${ARCHITECTURES.join(', ')} (x86_64 and aarch64 are accepted as aliases)`);
    return null;
  }
  return mapped;
}

function quantity(c: Collector, value: unknown, at: string): { text: string; bytes: bigint } | null {
  if (typeof value !== 'string') {
    c.add(at, 'must be a quantity string such as 16Gi');
    return null;
  }
  const bytes = parseQuantity(value);
  if (bytes === undefined) {
    c.add(at, 'must be a quantity such as 512Mi, 16Gi or "59 Gi"');
    return null;
  }
  return { text: value, bytes };
}

function peripherals(c: Collector, value: unknown, at: string): CapabilityModel['peripherals'] {
  if (!Array.isArray(value)) {
    c.add(at, 'must be an array');
    return [];
  }
  return value.flatMap((item, i) => {
    const p = `${at}/${i}`;
    if (!isObject(item)) {
      c.add(p, 'must be an object');
      return [];
    }
    c.unknownKeys(item, p, ['type', 'manufacturer', 'model']);
    const type = item.type;
    if (typeof type !== 'string' || !(PERIPHERALS as readonly string[]).includes(type)) {
      c.add(`${p}/type`, `must be one of ${PERIPHERALS.join(', ')}`);
      return [];
    }
    const manufacturer = str(c, item, 'manufacturer', p, false);
    const model = str(c, item, 'model', p, false);
    return [{ type, ...(manufacturer ? { manufacturer } : {}), ...(model ? { model } : {}) }];
  });
}

function interfaces(c: Collector, value: unknown, at: string): string[] {
  if (!Array.isArray(value)) {
    c.add(at, 'must be an array');
    return [];
  }
  return value.flatMap((item, i) => {
    const p = `${at}/${i}`;
    if (!isObject(item)) {
      c.add(p, 'must be an object');
      return [];
    }
    c.unknownKeys(item, p, ['type']);
    if (typeof item.type !== 'string' || !(INTERFACES as readonly string[]).includes(item.type)) {
      c.add(`${p}/type`, `must be one of ${INTERFACES.join(', ')}`);
      return [];
    }
    return [item.type];
  });
}

function cpus(c: Collector, value: unknown, at: string): CpuEntry[] {
  if (!Array.isArray(value)) {
    c.add(at, 'must be an array');
    return [];
  }
  if (value.length === 0) c.add(at, 'must list at least one CPU');
  return value.flatMap((item, i) => {
    const p = `${at}/${i}`;
    if (!isObject(item)) {
      c.add(p, 'must be an object');
      return [];
    }
    c.unknownKeys(item, p, ['cores', 'architecture']);
    if (typeof item.cores !== 'number' || !Number.isFinite(item.cores) || item.cores <= 0) {
      c.add(`${p}/cores`, 'must be a positive number');
      return [];
    }
    const arch =
      item.architecture === undefined ? null : architecture(c, item.architecture, `${p}/architecture`);
    return [{ cores: item.cores, architecture: arch }];
  });
}

function labels(c: Collector, value: unknown): Record<string, LabelValue> {
  if (value === undefined) return {};
  if (!isObject(value)) {
    c.add('/labels', 'must be an object of key/value pairs');
    return {};
  }
  const out: Record<string, LabelValue> = {};
  for (const [key, v] of Object.entries(value)) {
    if (!isLabelValue(v)) c.add(`/labels/${escapePointer(key)}`, LABEL_VALUE_RULE);
    else out[key] = v;
  }
  return out;
}

/** The rule of a label value, device-reported or operator-set (its message in `errors[]`). */
export const LABEL_VALUE_RULE = 'must be a string, number, boolean, or an array of strings or numbers';

/** Whether `v` is a label value: a string, finite number, boolean, or an array of strings or of numbers. */
export function isLabelValue(v: unknown): v is LabelValue {
  return (
    typeof v === 'string' ||
    typeof v === 'boolean' ||
    (typeof v === 'number' && Number.isFinite(v)) ||
    (Array.isArray(v) &&
      (v.every((x) => typeof x === 'string') || v.every((x) => typeof x === 'number' && Number.isFinite(x))))
  );
}

/** The older legacy shape: `roles` + `resources{cpu, memory, storage, peripherals, interfaces}`. */
function legacyResources(c: Collector, props: JsonObject, at: string) {
  const roles = enumArray(c, props.roles ?? [], `${at}/roles`, LEGACY_ROLES);
  const res = props.resources;
  if (res === undefined) return { roles, hosting: false as const };
  if (!isObject(res)) {
    c.add(`${at}/resources`, 'must be an object');
    return { roles, hosting: false as const };
  }
  const r = `${at}/resources`;
  c.unknownKeys(res, r, ['cpu', 'memory', 'storage', 'peripherals', 'interfaces']);
  const entries: CpuEntry[] = [];
  if (isObject(res.cpu)) {
    c.unknownKeys(res.cpu, `${r}/cpu`, ['cores', 'architecture', 'architectures']);
    const cores = res.cpu.cores;
    if (typeof cores !== 'number' || cores <= 0) c.add(`${r}/cpu/cores`, 'must be a positive number');
    const archs =
      res.cpu.architectures !== undefined
        ? Array.isArray(res.cpu.architectures)
          ? res.cpu.architectures.map((a, i) => architecture(c, a, `${r}/cpu/architectures/${i}`))
          : (c.add(`${r}/cpu/architectures`, 'must be an array'), [])
        : res.cpu.architecture !== undefined
          ? [architecture(c, res.cpu.architecture, `${r}/cpu/architecture`)]
          : [null];
    if (typeof cores === 'number' && cores > 0) {
      for (const a of archs) entries.push({ cores, architecture: a });
    }
  } else if (res.cpu !== undefined) {
    c.add(`${r}/cpu`, 'must be an object');
  }
  // Standalone Device ran Compose, Standalone Cluster / Cluster Leader ran Kubernetes (Helm).
  const deploymentTypes = sortedUnique(
    roles.flatMap((role) =>
      role === 'Standalone Device' ? ['compose'] : role === 'Gateway' ? [] : ['helm'],
    ),
  );
  return {
    roles,
    hosting: true as const,
    cpus: entries,
    memory: res.memory === undefined ? null : quantity(c, res.memory, `${r}/memory`),
    storage: res.storage === undefined ? null : quantity(c, res.storage, `${r}/storage`),
    peripherals: res.peripherals === undefined ? [] : peripherals(c, res.peripherals, `${r}/peripherals`),
    interfaces: res.interfaces === undefined ? [] : interfaces(c, res.interfaces, `${r}/interfaces`),
    deploymentTypes,
  };
}

export interface ParseOptions {
  profile: 'rc3' | 'legacy';
  /** The deviceId of the path; when absent (oldest legacy route) `properties.id` names the device. */
  pathDeviceId?: string;
}

export function parseCapabilities(body: unknown, options: ParseOptions): ParseResult {
  const c = new Collector();
  if (!isObject(body)) return { ok: false, errors: [{ field: '', message: 'must be a JSON object' }] };
  c.unknownKeys(body, '', ['properties', 'labels', 'apiVersion', 'kind']);
  if (options.profile === 'legacy') {
    // workload-management-api-1.0.0.yaml, DeviceCapabilitiesManifest: `apiVersion` is required (D2).
    if (body.apiVersion === undefined) c.add('/apiVersion', 'is required');
    else if (typeof body.apiVersion !== 'string') c.add('/apiVersion', 'must be a string');
  }
  const props = body.properties;
  if (!isObject(props)) {
    c.add('/properties', props === undefined ? 'is required' : 'must be an object');
    return { ok: false, errors: c.errors };
  }
  const at = '/properties';
  const legacyShape =
    options.profile === 'legacy' && (props.roles !== undefined || props.resources !== undefined);
  c.unknownKeys(props, at, [
    'id',
    'vendor',
    'modelNumber',
    'serialNumber',
    ...(legacyShape ? ['roles', 'resources'] : HOSTING_FIELDS),
  ]);

  const id = str(c, props, 'id', at, true);
  if (id !== undefined && !isDeviceId(id)) {
    c.add(
      `${at}/id`,
      `must be a DeviceId: RFC 3986 unreserved characters, segments joined by /, at most ${MAX_ID_LENGTH} characters`,
    );
  }
  if (id !== undefined && options.pathDeviceId !== undefined && id !== options.pathDeviceId) {
    c.add(`${at}/id`, `must equal the deviceId in the path (${options.pathDeviceId})`);
  }
  const vendor = str(c, props, 'vendor', at, true);
  const modelNumber = str(c, props, 'modelNumber', at, true);
  const serialNumber = str(c, props, 'serialNumber', at, true);
  const labelValues = labels(c, body.labels);
  const extensions = Object.fromEntries(Object.entries(body).filter(([k]) => EXTENSION_KEY.test(k)));
  const propertyExtensions = Object.fromEntries(Object.entries(props).filter(([k]) => EXTENSION_KEY.test(k)));
  if (Object.keys(propertyExtensions).length > 0) extensions['properties'] = propertyExtensions;

  let model: Omit<
    CapabilityModel,
    'deviceId' | 'vendor' | 'modelNumber' | 'serialNumber' | 'labels' | 'extensions'
  >;
  if (legacyShape) {
    const legacy = legacyResources(c, props, at);
    const entries = legacy.hosting ? legacy.cpus : [];
    const periph = legacy.hosting ? legacy.peripherals : [];
    model = {
      hosting: legacy.hosting && legacy.deploymentTypes.length > 0,
      cpus: entries,
      architectures: sortedUnique(entries.flatMap((e) => (e.architecture ? [e.architecture] : []))),
      maxCores: Math.max(0, ...entries.map((e) => e.cores)),
      memory: legacy.hosting ? legacy.memory : null,
      storage: legacy.hosting ? legacy.storage : null,
      peripherals: periph,
      peripheralTypes: sortedUnique(periph.map((p) => p.type)),
      interfaceTypes: legacy.hosting ? sortedUnique(legacy.interfaces) : [],
      runtimes: legacy.hosting ? ['oci'] : [],
      deploymentTypes: legacy.hosting ? legacy.deploymentTypes : [],
      otelCollector: null,
    };
  } else {
    const present = HOSTING_FIELDS.filter((f) => props[f] !== undefined);
    const hosting = present.length > 0;
    if (hosting) {
      for (const f of ['cpus', 'memory', 'storage', 'supportedRuntimes', 'supportedDeploymentTypes']) {
        if (props[f] === undefined) {
          c.add(
            `${at}/${f}`,
            'is required for a device that hosts workloads (omit all hosting fields for a non-hosting gateway)',
          );
        }
      }
    }
    const entries = props.cpus === undefined ? [] : cpus(c, props.cpus, `${at}/cpus`);
    const periph =
      props.peripherals === undefined ? [] : peripherals(c, props.peripherals, `${at}/peripherals`);
    if (props.otelCollector !== undefined && typeof props.otelCollector !== 'boolean') {
      c.add(`${at}/otelCollector`, 'must be a boolean');
    }
    const runtimes =
      props.supportedRuntimes === undefined
        ? []
        : enumArray(c, props.supportedRuntimes, `${at}/supportedRuntimes`, RUNTIMES, 1);
    const deploymentTypes =
      props.supportedDeploymentTypes === undefined
        ? []
        : enumArray(c, props.supportedDeploymentTypes, `${at}/supportedDeploymentTypes`, DEPLOYMENT_TYPES, 1);
    if (
      (runtimes.includes('custom') || deploymentTypes.includes('custom')) &&
      Object.keys(labelValues).length === 0
    ) {
      c.add('/labels', 'a device that reports a custom runtime or deployment type must also report labels');
    }
    model = {
      hosting,
      cpus: entries,
      architectures: sortedUnique(entries.flatMap((e) => (e.architecture ? [e.architecture] : []))),
      maxCores: Math.max(0, ...entries.map((e) => e.cores)),
      memory: props.memory === undefined ? null : quantity(c, props.memory, `${at}/memory`),
      storage: props.storage === undefined ? null : quantity(c, props.storage, `${at}/storage`),
      peripherals: periph,
      peripheralTypes: sortedUnique(periph.map((p) => p.type)),
      interfaceTypes:
        props.interfaces === undefined
          ? []
          : sortedUnique(interfaces(c, props.interfaces, `${at}/interfaces`)),
      runtimes: sortedUnique(runtimes),
      deploymentTypes: sortedUnique(deploymentTypes),
      otelCollector: typeof props.otelCollector === 'boolean' ? props.otelCollector : null,
    };
  }

  if (c.errors.length > 0) return { ok: false, errors: c.errors };
  return {
    ok: true,
    model: {
      deviceId: id!,
      vendor: vendor!,
      modelNumber: modelNumber!,
      serialNumber: serialNumber!,
      labels: labelValues,
      extensions,
      ...model,
    },
  };
}

/** The parent of a hierarchical deviceId (`gw/a/b` → `gw/a`), or null for a top-level device. */
export function parentOf(deviceId: string): string | null {
  const i = deviceId.lastIndexOf('/');
  return i === -1 ? null : deviceId.slice(0, i);
}

/** Every ancestor of a deviceId, nearest last (`gw/a/b` → [`gw`, `gw/a`]). */
export function ancestorsOf(deviceId: string): string[] {
  const parts = deviceId.split('/');
  return parts.slice(1).map((_, i) => parts.slice(0, i + 1).join('/'));
}
