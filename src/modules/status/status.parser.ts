import { DEVICE_ID_RULE, isDeviceId, MAX_BIGINT, MAX_ID_LENGTH } from '../../common/http/input-limits.js';
import { Collector, isObject, pointerTo } from '../../common/json/json-reader.js';
import type { FieldError } from '../../common/problem/problem-types.js';

/**
 * Validation of a DeploymentStatusManifest (spec §2.3; D2, D12). `apiVersion`/`kind` are ignored;
 * `adoptedManifestVersion` is required from rc.3 clients and read exactly (it may exceed 2^53) from
 * the raw body. Pure.
 */
export const STATES = ['pending', 'installing', 'installed', 'failed', 'removing', 'removed'] as const;
export type DeploymentState = (typeof STATES)[number];

/** Severity for the overall state (spec: failed > removing > installing > pending > installed/removed). */
const SEVERITY: Record<DeploymentState, number> = {
  failed: 5,
  removing: 4,
  installing: 3,
  pending: 2,
  installed: 1,
  removed: 1,
};

export interface StatusError {
  code?: string;
  source?: string;
  message?: string;
}

export interface StatusReport {
  deploymentId: string;
  deviceId?: string;
  adoptedManifestVersion?: bigint;
  state: DeploymentState;
  error?: StatusError;
  components: { name: string; state: DeploymentState; error?: StatusError }[];
}

const ERROR_FIELDS = ['code', 'source', 'message'] as const;

function parseError(value: unknown, at: string, c: Collector): StatusError | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) {
    c.add(at, 'must be an object {code, source, message}');
    return undefined;
  }
  const out: StatusError = {};
  c.unknownKeys(value, at, ERROR_FIELDS, false);
  for (const key of ERROR_FIELDS) {
    const v = value[key];
    if (v === undefined) continue;
    if (typeof v === 'string') out[key] = v;
    else if (key === 'code' && typeof v === 'number') out.code = String(v);
    else c.add(`${at}/${key}`, 'must be a string');
  }
  return out;
}

function parseState(value: unknown, at: string, c: Collector): DeploymentState | undefined {
  if (typeof value === 'string' && (STATES as readonly string[]).includes(value)) {
    return value as DeploymentState;
  }
  c.add(at, `must be one of ${STATES.join(', ')}`);
  return undefined;
}

/** The exact digits of `adoptedManifestVersion` in the raw body (JSON numbers above 2^53 lose precision). */
function exactVersion(raw: string): bigint | undefined {
  const match = /"adoptedManifestVersion"\s*:\s*(\d+)\s*[,}]/.exec(raw);
  return match ? BigInt(match[1]) : undefined;
}

export function parseStatusReport(
  body: unknown,
  raw: Buffer,
  options: { pathDeploymentId: string; requireAdoptedVersion: boolean },
): { ok: true; report: StatusReport } | { ok: false; errors: FieldError[] } {
  const c = new Collector();
  if (!isObject(body)) return { ok: false, errors: [{ field: '', message: 'must be a JSON object' }] };
  const known = [
    'deploymentId',
    'deviceId',
    'adoptedManifestVersion',
    'status',
    'components',
    'apiVersion',
    'kind',
  ];
  c.unknownKeys(body, '', known);
  if (typeof body.deploymentId !== 'string' || body.deploymentId === '') {
    c.add('/deploymentId', 'is required');
  } else if (body.deploymentId.length > MAX_ID_LENGTH) {
    // orphan reports are stored under the id as sent (D12): bounded like every other id
    c.add('/deploymentId', `must be at most ${MAX_ID_LENGTH} characters`);
  } else if (body.deploymentId !== options.pathDeploymentId) {
    c.add('/deploymentId', `must equal the deploymentId in the path (${options.pathDeploymentId})`);
  }
  if (body.deviceId !== undefined && !isDeviceId(body.deviceId)) {
    c.add('/deviceId', `must be a DeviceId: ${DEVICE_ID_RULE}`);
  }
  let adopted: bigint | undefined;
  const v = body.adoptedManifestVersion;
  if (v === undefined || v === null) {
    if (options.requireAdoptedVersion) {
      c.add('/adoptedManifestVersion', 'is required');
    }
  } else if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    c.add('/adoptedManifestVersion', 'must be an integer ≥ 1');
  } else {
    const exact = Number.isSafeInteger(v) ? BigInt(v) : (exactVersion(raw.toString('utf8')) ?? BigInt(v));
    // stored as a PostgreSQL bigint: anything above 2^63 − 1 (also 1e30) is not a manifest version
    if (exact > MAX_BIGINT) {
      c.add('/adoptedManifestVersion', 'must be at most 9223372036854775807 (2^63 − 1)');
    } else {
      adopted = exact;
    }
  }
  let state: DeploymentState | undefined;
  let error: StatusError | undefined;
  if (!isObject(body.status)) {
    c.add('/status', 'is required: {state, error?}');
  } else {
    c.unknownKeys(body.status, '/status', ['state', 'error'], false);
    state = parseState(body.status.state, '/status/state', c);
    error = parseError(body.status.error, '/status/error', c);
  }
  const components: StatusReport['components'] = [];
  if (body.components === undefined) {
    if (options.requireAdoptedVersion) {
      c.add('/components', 'is required (one entry per component)');
    }
  } else if (!Array.isArray(body.components)) {
    c.add('/components', 'must be an array');
  } else {
    body.components.forEach((item, i) => {
      const at = pointerTo('/components', i);
      if (!isObject(item)) {
        c.add(at, 'must be an object {name, state, error?}');
        return;
      }
      c.unknownKeys(item, at, ['name', 'state', 'error'], false);
      if (typeof item.name !== 'string' || item.name === '') {
        c.add(`${at}/name`, 'is required');
      }
      const componentState = parseState(item.state, `${at}/state`, c);
      const componentError = parseError(item.error, `${at}/error`, c);
      if (typeof item.name === 'string' && componentState) {
        components.push({
          name: item.name,
          state: componentState,
          ...(componentError ? { error: componentError } : {}),
        });
      }
    });
  }
  if (!c.ok || !state) return { ok: false, errors: c.errors };
  return {
    ok: true,
    report: {
      deploymentId: body.deploymentId as string,
      ...(typeof body.deviceId === 'string' ? { deviceId: body.deviceId } : {}),
      ...(adopted !== undefined ? { adoptedManifestVersion: adopted } : {}),
      state,
      ...(error ? { error } : {}),
      components,
    },
  };
}

/** Whether the overall state is the most severe of the component states (empty components: consistent). */
export function isConsistent(report: StatusReport): boolean {
  if (report.components.length === 0) return true;
  const worst = Math.max(...report.components.map((c) => SEVERITY[c.state]));
  if (SEVERITY[report.state] !== worst) return false;
  if (worst === 1) {
    // installed vs removed share a rank: all removed → removed, otherwise installed
    const allRemoved = report.components.every((c) => c.state === 'removed');
    return report.state === (allRemoved ? 'removed' : 'installed');
  }
  return true;
}
