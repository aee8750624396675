/**
 * Pure part of `margo-wfm apply -f`: reads the file (margo.yaml ApplicationDescriptions and
 * declarative deployment files, several documents separated by `---`), finds "the same" deployment
 * and plans the change with a diff. No I/O here; main.ts does the calls.
 */
import { parseAllDocuments, stringify } from 'yaml';
import type { Schemas } from '../api-client/index.js';
import { diffLines } from './diff.js';

type Json = Record<string, unknown>;

export interface PackageDocument {
  kind: 'package';
  applicationId: string;
  version: string;
  /** The parsed document, compared with the stored one. */
  document: Json;
  /** The YAML text that is published. */
  text: string;
}

export interface DeploymentSpec {
  /** A label for messages; the API has no deployment names (see docs/decisions.md). */
  name?: string;
  package: string;
  version?: string;
  profile?: string;
  target: Schemas['TargetDto'];
  parameters: Json;
  onCapabilityLoss: 'keep' | 'remove';
}

export interface DeploymentDocument {
  kind: 'deployment';
  spec: DeploymentSpec;
}

export type ApplyDocument = PackageDocument | DeploymentDocument;

/** A file that cannot be applied; `pointer` is a JSON pointer into the document. */
export class ApplyFileError extends Error {
  constructor(
    readonly pointer: string,
    message: string,
  ) {
    super(`${pointer || '/'}: ${message}`);
  }
}

const DEPLOYMENT_KEYS = new Set([
  'apiVersion',
  'kind',
  'name',
  'package',
  'version',
  'profile',
  'selector',
  'device',
  'parameters',
  'onCapabilityLoss',
]);

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function optionalString(doc: Json, key: string, prefix: string): string | undefined {
  const value = doc[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') {
    throw new ApplyFileError(`${prefix}/${key}`, 'must be a non-empty string (quote versions: "1.0")');
  }
  return value;
}

function parseDeployment(doc: Json, prefix: string): DeploymentSpec {
  for (const key of Object.keys(doc)) {
    if (!DEPLOYMENT_KEYS.has(key)) throw new ApplyFileError(`${prefix}/${key}`, 'unknown field');
  }
  if (doc.apiVersion !== undefined && doc.apiVersion !== 'margo-wfm/v1') {
    throw new ApplyFileError(`${prefix}/apiVersion`, 'must be margo-wfm/v1');
  }
  const pkg = optionalString(doc, 'package', prefix);
  if (!pkg) throw new ApplyFileError(`${prefix}/package`, 'is required (the application id)');
  const hasSelector = doc.selector !== undefined;
  const hasDevice = doc.device !== undefined;
  if (hasSelector === hasDevice) {
    throw new ApplyFileError(prefix, 'give exactly one of `selector` and `device`');
  }
  let target: Schemas['TargetDto'];
  if (hasSelector) {
    if (!isObject(doc.selector)) throw new ApplyFileError(`${prefix}/selector`, 'must be an object');
    target = { selector: doc.selector };
  } else {
    const device = doc.device;
    if (!isObject(device)) throw new ApplyFileError(`${prefix}/device`, 'must be {clientId, deviceId}');
    const clientId = optionalString(device, 'clientId', `${prefix}/device`);
    const deviceId = optionalString(device, 'deviceId', `${prefix}/device`);
    if (!clientId || !deviceId) {
      throw new ApplyFileError(`${prefix}/device`, 'needs clientId and deviceId');
    }
    target = { clientId, deviceId };
  }
  const parameters = doc.parameters ?? {};
  if (!isObject(parameters)) throw new ApplyFileError(`${prefix}/parameters`, 'must be an object');
  const loss = doc.onCapabilityLoss ?? 'keep';
  if (loss !== 'keep' && loss !== 'remove') {
    throw new ApplyFileError(`${prefix}/onCapabilityLoss`, 'must be keep or remove');
  }
  const name = optionalString(doc, 'name', prefix);
  const version = optionalString(doc, 'version', prefix);
  const profile = optionalString(doc, 'profile', prefix);
  return {
    ...(name ? { name } : {}),
    package: pkg,
    ...(version ? { version } : {}),
    ...(profile ? { profile } : {}),
    target,
    parameters,
    onCapabilityLoss: loss,
  };
}

/** Every document of a YAML or JSON file; a file error names the document (`/0`, `/1` …) and field. */
export function parseApplyFile(text: string): ApplyDocument[] {
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) throw new ApplyFileError('', 'empty file');
  const out: ApplyDocument[] = [];
  docs.forEach((doc, index) => {
    const prefix = docs.length > 1 ? `/${index}` : '';
    if (doc.errors.length > 0) throw new ApplyFileError(prefix, `not YAML/JSON: ${doc.errors[0].message}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return; // an empty document (e.g. a trailing ---)
    if (!isObject(value)) throw new ApplyFileError(prefix, 'must be an object');
    if (value.kind === 'ApplicationDescription') {
      const metadata = isObject(value.metadata) ? value.metadata : {};
      if (typeof value.id !== 'string') throw new ApplyFileError(`${prefix}/id`, 'is required');
      if (typeof metadata.version !== 'string') {
        throw new ApplyFileError(`${prefix}/metadata/version`, 'is required (a string)');
      }
      out.push({
        kind: 'package',
        applicationId: value.id,
        version: metadata.version,
        document: value,
        text: docs.length === 1 ? text : String(doc),
      });
    } else if (value.kind === 'Deployment') {
      out.push({ kind: 'deployment', spec: parseDeployment(value, prefix) });
    } else {
      throw new ApplyFileError(`${prefix}/kind`, 'must be ApplicationDescription or Deployment');
    }
  });
  if (out.length === 0) throw new ApplyFileError('', 'no document in the file');
  return out;
}

/** JSON with sorted keys: equal for equal values whatever the key order. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    isObject(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, v[k]]),
        )
      : v,
  );
}

/** The target as the API shows it (`{clientId, deviceId}` or `{selector}`, external client ids). */
function targetView(target: Schemas['TargetDto']): Json {
  return target.selector
    ? { selector: target.selector }
    : { clientId: target.clientId, deviceId: target.deviceId };
}

/** Whether an existing deployment is "the same" as the spec: same package and same target. */
export function isSameDeployment(spec: DeploymentSpec, existing: Schemas['DeploymentSummaryDto']): boolean {
  return (
    existing.applicationId === spec.package &&
    canonical(existing.target) === canonical(targetView(spec.target))
  );
}

export interface DeploymentPlan {
  action: 'create' | 'update' | 'unchanged';
  /** `- old` / `+ new` lines of the compared fields (empty when unchanged). */
  diff: string[];
  create?: Schemas['DeploymentCreateDto'];
  patch?: Schemas['DeploymentPatchDto'];
}

interface View {
  package: string;
  version?: string;
  profile: string | null;
  target: Json;
  onCapabilityLoss: string;
  parameters: Json;
}

const yamlOf = (view: View): string => stringify(JSON.parse(canonical(view)));

/**
 * What `apply` does for one deployment spec, given the existing deployment (if any). A version left
 * out of the file is not compared (the newest at creation, never moved by apply); a profile left out
 * means "the first that fits each device" (profileId null).
 */
export function planDeployment(
  spec: DeploymentSpec,
  existing?: Schemas['DeploymentSummaryDto'],
): DeploymentPlan {
  const desired: View = {
    package: spec.package,
    ...(spec.version ? { version: spec.version } : existing ? { version: existing.version } : {}),
    profile: spec.profile ?? null,
    target: targetView(spec.target),
    onCapabilityLoss: spec.onCapabilityLoss,
    parameters: spec.parameters,
  };
  if (!existing) {
    return {
      action: 'create',
      diff: diffLines('', yamlOf(desired)),
      create: {
        applicationId: spec.package,
        target: spec.target,
        parameters: spec.parameters,
        onCapabilityLoss: spec.onCapabilityLoss,
        ...(spec.version ? { version: spec.version } : {}),
        ...(spec.profile ? { profileId: spec.profile } : {}),
      },
    };
  }
  const current: View = {
    package: existing.applicationId,
    version: existing.version,
    profile: existing.profileId ?? null,
    target: existing.target,
    onCapabilityLoss: existing.onCapabilityLoss,
    parameters: existing.parameters,
  };
  const patch: Schemas['DeploymentPatchDto'] = {};
  if (desired.version !== current.version) patch.version = desired.version;
  if (desired.profile !== current.profile) patch.profileId = desired.profile;
  if (desired.onCapabilityLoss !== current.onCapabilityLoss) patch.onCapabilityLoss = spec.onCapabilityLoss;
  if (canonical(desired.parameters) !== canonical(current.parameters)) {
    // PATCH is a JSON Merge Patch (RFC 7396): keys the file dropped must be sent as null.
    patch.parameters = mergePatchBetween(current.parameters, desired.parameters) as Record<string, unknown>;
  }
  if (Object.keys(patch).length === 0) return { action: 'unchanged', diff: [] };
  return { action: 'update', diff: diffLines(yamlOf(current), yamlOf(desired)), patch };
}

/** The RFC 7396 merge patch that turns `from` into `to` (objects recurse; removed keys become null). */
export function mergePatchBetween(from: unknown, to: unknown): unknown {
  if (!isObject(from) || !isObject(to)) return to;
  const patch: Record<string, unknown> = {};
  for (const key of Object.keys(from)) if (!(key in to)) patch[key] = null;
  for (const [key, value] of Object.entries(to)) {
    if (canonical(from[key]) !== canonical(value)) patch[key] = mergePatchBetween(from[key], value);
  }
  return patch;
}

/** The diff between a stored package document and the file's (empty when equal). */
export function packageDiff(stored: unknown, document: Json): string[] {
  if (canonical(stored) === canonical(document)) return [];
  return diffLines(stringify(JSON.parse(canonical(stored))), stringify(JSON.parse(canonical(document))));
}

/** A one-line name for messages: `deployment/<name or package>`. */
export function deploymentLabel(spec: DeploymentSpec): string {
  return `deployment/${spec.name ?? spec.package}`;
}
