/**
 * Which simulated devices fail every install, by device class or by label (issue 16: a fault that only
 * shows on one hardware class). Written `key=value[,key=value…]`; every pair must match. The keys
 * `arch`, `vendor`, `model`, `runtime` and `type` (a supported deployment type) name the device class
 * in the capability document; any other key is a label the device reports (operator labels live in
 * the WFM and are invisible to the device).
 */
export interface FailureMatcher {
  readonly pairs: readonly (readonly [string, string])[];
}

const CLASS_KEYS = new Set(['arch', 'vendor', 'model', 'runtime', 'type']);
const PAIR = /^([A-Za-z0-9][A-Za-z0-9._/-]*)=(.+)$/;

export function parseFailureMatcher(text: string): FailureMatcher {
  const pairs = text.split(',').map((part) => {
    const match = PAIR.exec(part.trim());
    if (!match) throw new Error(`--fail-when: "${part}" is not key=value`);
    return [match[1], match[2].trim()] as const;
  });
  if (pairs.length === 0) throw new Error('--fail-when needs at least one key=value');
  return { pairs };
}

interface CapabilityShape {
  properties?: {
    vendor?: unknown;
    modelNumber?: unknown;
    cpus?: { architecture?: unknown }[];
    supportedRuntimes?: unknown;
    supportedDeploymentTypes?: unknown;
  };
  labels?: Record<string, unknown>;
}

const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];

/** Whether a device with this capability document fails its installs under the matcher. */
export function matchesFailure(matcher: FailureMatcher | undefined, capabilities: unknown): boolean {
  if (!matcher) return false;
  const doc = (capabilities ?? {}) as CapabilityShape;
  const props = doc.properties ?? {};
  return matcher.pairs.every(([key, value]) => {
    if (!CLASS_KEYS.has(key)) return doc.labels?.[key] === value;
    switch (key) {
      case 'arch':
        return (props.cpus ?? []).some((cpu) => cpu.architecture === value);
      case 'vendor':
        return props.vendor === value;
      case 'model':
        return props.modelNumber === value;
      case 'runtime':
        return strings(props.supportedRuntimes).includes(value);
      default:
        return strings(props.supportedDeploymentTypes).includes(value);
    }
  });
}
