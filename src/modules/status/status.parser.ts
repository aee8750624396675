import { DEVICE_ID_RULE, isDeviceId, MAX_BIGINT, MAX_ID_LENGTH } from '../../common/http/input-limits.js';
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

const EXTENSION = /^x-[a-z][a-z0-9-]*-extensions$/;

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

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function parseError(value: unknown, at: string, errors: FieldError[]): StatusError | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) {
    errors.push({ field: at, message: 'must be an object {code, source, message}' });
    return undefined;
  }
  const out: StatusError = {};
  for (const key of Object.keys(value)) {
    if (!['code', 'source', 'message'].includes(key)) {
      errors.push({ field: `${at}/${key}`, message: 'is not a known field' });
    }
  }
  for (const key of ['code', 'source', 'message'] as const) {
    const v = value[key];
    if (v === undefined) continue;
    if (typeof v === 'string') out[key] = v;
    else if (key === 'code' && typeof v === 'number') out.code = String(v);
    else errors.push({ field: `${at}/${key}`, message: 'must be a string' });
  }
  return out;
}

function parseState(value: unknown, at: string, errors: FieldError[]): DeploymentState | undefined {
  if (typeof value === 'string' && (STATES as readonly string[]).includes(value)) {
    return value as DeploymentState;
  }
  errors.push({ field: at, message: `must be one of ${STATES.join(', ')}` });
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
  const errors: FieldError[] = [];
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
  for (const key of Object.keys(body)) {
    if (!known.includes(key) && !EXTENSION.test(key)) {
      errors.push({ field: `/${key}`, message: 'is not a known field' });
    }
  }
  if (typeof body.deploymentId !== 'string' || body.deploymentId === '') {
    errors.push({ field: '/deploymentId', message: 'is required' });
  } else if (body.deploymentId.length > MAX_ID_LENGTH) {
    // orphan reports are stored under the id as sent (D12): bounded like every other id
    errors.push({ field: '/deploymentId', message: `must be at most ${MAX_ID_LENGTH} characters` });
  } else if (body.deploymentId !== options.pathDeploymentId) {
    errors.push({
      field: '/deploymentId',
      message: `must equal the deploymentId in the path (${options.pathDeploymentId})`,
    });
  }
  if (body.deviceId !== undefined && !isDeviceId(body.deviceId)) {
    errors.push({ field: '/deviceId', message: `must be a DeviceId: ${DEVICE_ID_RULE}` });
  }
  let adopted: bigint | undefined;
  const v = body.adoptedManifestVersion;
  if (v === undefined || v === null) {
    if (options.requireAdoptedVersion) {
      errors.push({ field: '/adoptedManifestVersion', message: 'is required' });
    }
  } else if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    errors.push({ field: '/adoptedManifestVersion', message: 'must be an integer ≥ 1' });
  } else {
    const exact = Number.isSafeInteger(v) ? BigInt(v) : (exactVersion(raw.toString('utf8')) ?? BigInt(v));
    // stored as a PostgreSQL bigint: anything above 2^63 − 1 (also 1e30) is not a manifest version
    if (exact > MAX_BIGINT) {
      errors.push({
        field: '/adoptedManifestVersion',
        message: 'must be at most 9223372036854775807 (2^63 − 1)',
      });
    } else {
      adopted = exact;
    }
  }
  let state: DeploymentState | undefined;
  let error: StatusError | undefined;
  if (!isObject(body.status)) {
    errors.push({ field: '/status', message: 'is required: {state, error?}' });
  } else {
    for (const key of Object.keys(body.status)) {
      if (!['state', 'error'].includes(key)) {
        errors.push({ field: `/status/${key}`, message: 'is not a known field' });
      }
    }
    state = parseState(body.status.state, '/status/state', errors);
    error = parseError(body.status.error, '/status/error', errors);
  }
  const components: StatusReport['components'] = [];
  if (body.components === undefined) {
    if (options.requireAdoptedVersion) {
      errors.push({ field: '/components', message: 'is required (one entry per component)' });
    }
  } else if (!Array.isArray(body.components)) {
    errors.push({ field: '/components', message: 'must be an array' });
  } else {
    body.components.forEach((c, i) => {
      const at = `/components/${i}`;
      if (!isObject(c)) {
        errors.push({ field: at, message: 'must be an object {name, state, error?}' });
        return;
      }
      for (const key of Object.keys(c)) {
        if (!['name', 'state', 'error'].includes(key)) {
          errors.push({ field: `${at}/${key}`, message: 'is not a known field' });
        }
      }
      if (typeof c.name !== 'string' || c.name === '') {
        errors.push({ field: `${at}/name`, message: 'is required' });
      }
      const componentState = parseState(c.state, `${at}/state`, errors);
      const componentError = parseError(c.error, `${at}/error`, errors);
      if (typeof c.name === 'string' && componentState) {
        components.push({
          name: c.name,
          state: componentState,
          ...(componentError ? { error: componentError } : {}),
        });
      }
    });
  }
  if (errors.length > 0 || !state) return { ok: false, errors };
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
