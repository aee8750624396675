import { Document, Scalar, visit, type ScalarTag, type ToStringOptions } from 'yaml';
import type { DeploymentProfile, JsonValue, ParameterTarget } from '../../packages/domain.js';

/** Input of one rendered ApplicationDeployment (one per placed (deployment, client, device)). */
export interface RenderInput {
  /** The target's own UUID (stable across content changes, D17). */
  id: string;
  applicationId: string;
  name: string;
  namespace: string;
  /** `gw/child`, or `gw/*` for autonomous placement by the gateway. */
  deviceId: string;
  profile: DeploymentProfile;
  /** Effective parameter values (package default < deployment < device override), with the package's targets. */
  parameters: Record<string, { value: JsonValue; targets: ParameterTarget[] }>;
  /** The package's top-level extensions (copied under `spec`). */
  extensions: { [key: string]: JsonValue };
  /** Legacy-profile clients also get apiVersion, kind and metadata.annotations.{id, applicationId}. */
  legacy: boolean;
}

/**
 * Rendering of one ApplicationDeployment (rc.3 `appDeploymentManifest`, spec §2.5 and the §2.6 recipe) to
 * the exact YAML bytes that are stored, digested and served (Exact Bytes Rule). Pure and deterministic:
 * the same logical input gives the same bytes, whatever the key order of the objects it was built from.
 *
 * Layout: [apiVersion, kind — legacy only], id, metadata{name, namespace, deviceId, [annotations{id,
 * applicationId} — legacy only]}, spec{applicationId, deploymentProfile{type, components, [deviceConstraints],
 * profile extensions}, parameters, package extensions}.
 *
 * - Package content is copied with its values unchanged (components in package order, deviceConstraints
 *   only when the package has them, extensions at package/profile/component level); inside that content
 *   object keys are written sorted by UTF-16 code units (like RFC 8785), and extension keys follow the fixed
 *   keys in that order too. YAML mappings carry no order, and this keeps the bytes (and the digest) stable
 *   when the package comes back from storage with its keys reordered (Postgres jsonb does that).
 * - Parameters sorted by name; each target is `{pointer, components}`. Targets are restricted to the
 *   components of the chosen profile, and a parameter left without targets is omitted (a package's
 *   parameters serve all its profiles; the spec's examples render only the chosen profile's ones).
 * - YAML: `yaml` v2, YAML 1.2 core schema, indent 2, no line folding, no anchors/aliases, `\n` line ends,
 *   trailing newline, multi-line strings as literal blocks. Strings are plain unless quoting is needed,
 *   and "needed" includes plain scalars a YAML 1.1 parser would read as something else (`yes`, `on`,
 *   `0777`, `12:30`, `2024-01-01`, `<<`), because device agents built on YAML 1.1 libraries read these files;
 *   for the same reason exponent numbers always carry a fraction (`1.0e-7`).
 */

export const LEGACY_API_VERSION = 'application.margo.org/v1alpha1';
export const LEGACY_KIND = 'ApplicationDeployment';

/** An ordered YAML tree: Maps keep exactly the key order we choose (plain objects reorder integer keys). */
type Node = null | boolean | number | string | Node[] | Map<string, Node>;

/** Plain scalars that a YAML 1.1 or 1.2 (core) parser would not read as a string. */
const NON_STRING_PLAIN = [
  /^(?:~|null|Null|NULL)$/,
  /^(?:[yYnN]|yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/,
  /^[-+]?\.(?:inf|Inf|INF|nan|NaN|NAN)$/,
  /^[-+]?(?=\.?[0-9])[0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?$/,
  /^[-+]?0(?:b[01_]+|o[0-7_]+|x[0-9a-fA-F_]+)$/,
  /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/,
  /^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt \t].*)?$/,
  /^(?:<<|=)$/,
];

/**
 * Numbers JavaScript writes in exponent form without a fraction (`1e-7`, `1e+21`) are written `1.0e-7`,
 * `1.0e+21`: YAML 1.1 floats need the dot (a YAML 1.1 parser reads `1e-7` as a string); YAML 1.2 reads both.
 */
const EXPONENT_FLOAT: ScalarTag = {
  tag: 'tag:yaml.org,2002:float',
  default: true,
  identify: (value) => typeof value === 'number' && /^-?\d+e/.test(String(value)),
  test: /^[-+]?[0-9]+\.0e[-+][0-9]+$/,
  resolve: (text) => Number(text),
  stringify: ({ value }) => String(value).replace('e', '.0e'),
};

const YAML_OPTIONS: ToStringOptions = {
  lineWidth: 0,
  minContentWidth: 0,
  indent: 2,
  indentSeq: true,
  blockQuote: 'literal',
  collectionStyle: 'any',
  defaultStringType: 'PLAIN',
  defaultKeyType: null,
  directives: false,
  doubleQuotedAsJSON: false,
  flowCollectionPadding: true,
  nullStr: 'null',
  trueStr: 'true',
  falseStr: 'false',
  singleQuote: false,
  simpleKeys: false,
};

const isPlainObject = (v: unknown): v is { [key: string]: unknown } =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Deep copy of package content into the ordered tree: keys sorted, `-0` → 0; refuses non-JSON values. */
function content(value: unknown, at: string): Node {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`render: non-finite number at ${at}`);
    return value === 0 ? 0 : value;
  }
  if (Array.isArray(value)) return value.map((v, i) => content(v, `${at}/${i}`));
  if (isPlainObject(value)) {
    return new Map(
      Object.keys(value)
        .sort()
        .map((k) => [k, content(value[k], `${at}/${k}`)]),
    );
  }
  throw new TypeError(`render: unsupported ${typeof value} at ${at}`);
}

/** Appends extension entries (sorted) after the fixed keys; an extension may not replace a fixed key. */
function withExtensions(fixed: [string, Node][], extensions: { [key: string]: JsonValue }, at: string) {
  const map = new Map(fixed);
  for (const key of Object.keys(extensions).sort()) {
    if (map.has(key)) throw new Error(`render: extension key ${key} at ${at} collides with a field`);
    map.set(key, content(extensions[key], `${at}/${key}`));
  }
  return map;
}

/** The parameters map: sorted by name, targets restricted to the profile's components. */
function parameters(input: RenderInput): Map<string, Node> {
  const components = new Set(input.profile.componentNames);
  const out = new Map<string, Node>();
  for (const name of Object.keys(input.parameters).sort()) {
    const { value, targets } = input.parameters[name];
    const kept = targets
      .map((t: ParameterTarget) => ({
        pointer: t.pointer,
        components: t.components.filter((c) => components.has(c)),
      }))
      .filter((t) => t.components.length > 0);
    if (kept.length === 0) continue;
    const at = `/spec/parameters/${name}`;
    const targetNodes = kept.map(
      (t) =>
        new Map<string, Node>([
          ['pointer', t.pointer],
          ['components', [...t.components]],
        ]),
    );
    out.set(
      name,
      new Map<string, Node>([
        ['value', content(value, `${at}/value`)],
        ['targets', targetNodes],
      ]),
    );
  }
  return out;
}

/** The device segment of the tree: [apiVersion, kind], id, metadata (see the module comment). */
function headTree(input: RenderInput): Map<string, Node> {
  const metadata = new Map<string, Node>([
    ['name', input.name],
    ['namespace', input.namespace],
    ['deviceId', input.deviceId],
  ]);
  if (input.legacy) {
    metadata.set(
      'annotations',
      new Map<string, Node>([
        ['id', input.id],
        ['applicationId', input.applicationId],
      ]),
    );
  }
  const top: [string, Node][] = input.legacy
    ? [
        ['apiVersion', LEGACY_API_VERSION],
        ['kind', LEGACY_KIND],
      ]
    : [];
  return new Map<string, Node>([...top, ['id', input.id], ['metadata', metadata]]);
}

/** The common segment: `spec` depends on the package, the profile and the parameters only. */
function specTree(input: RenderInput): Map<string, Node> {
  const { profile } = input;
  const profileFields: [string, Node][] = [
    ['type', profile.type],
    ['components', profile.components.map((c, i) => content(c, `/spec/deploymentProfile/components/${i}`))],
  ];
  if (profile.deviceConstraints !== undefined) {
    profileFields.push([
      'deviceConstraints',
      content(profile.deviceConstraints, '/spec/deploymentProfile/deviceConstraints'),
    ]);
  }
  const deploymentProfile = withExtensions(profileFields, profile.extensions, '/spec/deploymentProfile');
  return withExtensions(
    [
      ['applicationId', input.applicationId],
      ['deploymentProfile', deploymentProfile],
      ['parameters', parameters(input)],
    ],
    input.extensions,
    '/spec',
  );
}

/** Serialises the tree with the fixed options, quoting strings that would not read back as strings. */
function toYaml(tree: Map<string, Node>): string {
  const doc = new Document(tree, {
    version: '1.2',
    aliasDuplicateObjects: false,
    customTags: (tags) => [EXPONENT_FLOAT, ...tags],
  });
  visit(doc, {
    Scalar(_key, node) {
      const value = node.value;
      if (typeof value === 'string' && NON_STRING_PLAIN.some((re) => re.test(value))) {
        node.type = Scalar.QUOTE_DOUBLE;
      }
    },
  });
  const text = doc.toString(YAML_OPTIONS);
  return text.endsWith('\n') ? text : `${text}\n`;
}

/**
 * Rendered `spec` segments, so that a deployment's common segment is serialised once and not once per
 * device. The caller names the segment: equal keys must mean equal package, profile and parameters.
 */
export class SpecSegmentCache {
  private readonly segments = new Map<string, string>();

  constructor(private readonly maxEntries = 1_000) {}

  get(key: string): string | undefined {
    return this.segments.get(key);
  }

  set(key: string, text: string): void {
    if (this.segments.size >= this.maxEntries) this.segments.clear();
    this.segments.set(key, text);
  }
}

/**
 * The exact UTF-8 YAML bytes of one ApplicationDeployment. With a segment cache, the `spec` text of
 * an earlier rendering under the same key is reused after this device's own head. The text is taken
 * from a full rendering and kept only when that rendering is exactly head + segment, so the bytes are
 * the same as without the cache (each top-level pair is serialised independently of the others).
 */
export function renderApplicationDeployment(
  input: RenderInput,
  cache?: { segments: SpecSegmentCache; key: string },
): Buffer {
  const head = headTree(input);
  const segment = cache?.segments.get(cache.key);
  if (segment !== undefined) return Buffer.from(toYaml(head) + segment, 'utf8');
  const full = toYaml(new Map([...head, ['spec', specTree(input)]]));
  if (cache) {
    const headText = toYaml(head);
    if (full.startsWith(headText) && full.startsWith('spec:', headText.length)) {
      cache.segments.set(cache.key, full.slice(headText.length));
    }
  }
  return Buffer.from(full, 'utf8');
}

// ---------------------------------------------------------------------------------------------------------
// Validation of a rendering (parsed back) against the rc.3 `appDeploymentManifest` schema.
//
// Rules checked: id (required, UUID); metadata (required object: name and namespace strings, deviceId
// matching DeviceId_with_asterisk, labels an object of strings if present); spec (required object, only
// applicationId, deploymentProfile, parameters and `x-<name>-extensions` objects); spec.applicationId
// (^[-a-z0-9]{1,200}$); deploymentProfile (only type, components, deviceConstraints and extensions; type helm
// or compose; components a non-empty list of objects with a string name, an object `properties` and only
// extensions besides); deviceConstraints (DeviceConstraints / CapacityRequirements / EligibilityRule /
// Selector / MatchExpression shapes, enums and memory/storage patterns); parameters (each with `value` and
// `targets`, each target a string pointer and a list of component names of this profile).
// Legacy renderings: apiVersion application.margo.org/v1alpha1 + kind ApplicationDeployment +
// metadata.annotations{id = id, applicationId = spec.applicationId}, all three or none.
// Stricter than the schema: no other top-level or metadata keys (our renderer writes none).
//
// Rules skipped:
// - metadata.annotations is listed as required but never defined by rc.3 (spec §7.2): not required.
// - component properties: repository (required, ^oci://) and revision (required, SemVer with `_`), and the
//   wait (boolean) / timeout (^\d+m\d+s$) types (spec §7.4): packages in the wild use packageLocation /
//   keyLocation and `wait: "true"`, and the renderer copies components verbatim.
// ---------------------------------------------------------------------------------------------------------

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const DEVICE_ID_WITH_ASTERISK = /^[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*(\/\*)?$/;
const APPLICATION_ID = /^[-a-z0-9]{1,200}$/;
const EXTENSION_KEY = /^x-[a-z][a-z0-9-]*-extensions$/;
const MEMORY = /^[0-9]+(Mi|Gi|Ki)$/;
const STORAGE = /^[0-9]+(Mi|Gi|Ki|Ti|Pi|Ei)$/;
const ARCHITECTURES = ['amd64', 'arm64', 'arm', 'riscv64', 'other'];
const OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt', 'ContainsAll', 'ContainsAny'];

type Obj = { [key: string]: unknown };

/** Collects `<json pointer>: <message>` problems. */
class Problems {
  readonly list: string[] = [];
  add(at: string, message: string): void {
    this.list.push(`${at || '/'}: ${message}`);
  }
  /** Returns the value as an object, or records that it must be one. */
  object(value: unknown, at: string): Obj | undefined {
    if (isPlainObject(value)) return value;
    this.add(at, value === undefined ? 'is required' : 'must be an object');
    return undefined;
  }
  string(value: unknown, at: string, pattern?: RegExp): void {
    if (typeof value !== 'string') this.add(at, value === undefined ? 'is required' : 'must be a string');
    else if (pattern && !pattern.test(value)) this.add(at, `must match ${pattern.source}`);
  }
  /** Keys other than `allowed` must be extensions with object values. */
  keys(obj: Obj, at: string, allowed: string[], extensions: boolean): void {
    for (const key of Object.keys(obj)) {
      if (allowed.includes(key)) continue;
      if (extensions && EXTENSION_KEY.test(key)) {
        if (!isPlainObject(obj[key])) this.add(`${at}/${key}`, 'an extension must be an object');
      } else {
        this.add(`${at}/${key}`, 'is not allowed');
      }
    }
  }
}

function checkLegacy(doc: Obj, metadata: Obj | undefined, spec: Obj | undefined, p: Problems): void {
  const legacy =
    doc.apiVersion !== undefined || doc.kind !== undefined || metadata?.annotations !== undefined;
  if (!legacy) return;
  if (doc.apiVersion !== LEGACY_API_VERSION) {
    p.add('/apiVersion', `must be ${LEGACY_API_VERSION} (legacy rendering)`);
  }
  if (doc.kind !== LEGACY_KIND) p.add('/kind', `must be ${LEGACY_KIND} (legacy rendering)`);
  const annotations = p.object(metadata?.annotations, '/metadata/annotations');
  if (!annotations) return;
  if (annotations.id !== doc.id) p.add('/metadata/annotations/id', 'must equal id');
  if (annotations.applicationId !== spec?.applicationId) {
    p.add('/metadata/annotations/applicationId', 'must equal spec.applicationId');
  }
}

function checkMetadata(value: unknown, p: Problems): Obj | undefined {
  const metadata = p.object(value, '/metadata');
  if (!metadata) return undefined;
  p.keys(metadata, '/metadata', ['name', 'namespace', 'deviceId', 'labels', 'annotations'], false);
  p.string(metadata.name, '/metadata/name');
  p.string(metadata.namespace, '/metadata/namespace');
  p.string(metadata.deviceId, '/metadata/deviceId', DEVICE_ID_WITH_ASTERISK);
  if (metadata.labels !== undefined) {
    const labels = p.object(metadata.labels, '/metadata/labels');
    for (const [k, v] of Object.entries(labels ?? {})) {
      if (typeof v !== 'string') p.add(`/metadata/labels/${k}`, 'must be a string');
    }
  }
  return metadata;
}

function checkSelector(value: unknown, at: string, p: Problems): void {
  const selector = p.object(value, at);
  if (!selector) return;
  if (!Array.isArray(selector.matchExpressions)) {
    p.add(`${at}/matchExpressions`, 'must be a list');
    return;
  }
  selector.matchExpressions.forEach((e: unknown, i) => {
    const eAt = `${at}/matchExpressions/${i}`;
    const expr = p.object(e, eAt);
    if (!expr) return;
    p.string(expr.key, `${eAt}/key`);
    if (typeof expr.operator !== 'string' || !OPERATORS.includes(expr.operator)) {
      p.add(`${eAt}/operator`, `must be one of ${OPERATORS.join(', ')}`);
    }
    if (expr.values !== undefined && !Array.isArray(expr.values)) p.add(`${eAt}/values`, 'must be a list');
    if (expr.itemSelector !== undefined) checkSelector(expr.itemSelector, `${eAt}/itemSelector`, p);
  });
}

function checkCapacity(value: unknown, at: string, p: Problems): void {
  const capacity = p.object(value, at);
  if (!capacity) return;
  if (capacity.cpu !== undefined) {
    const cpu = p.object(capacity.cpu, `${at}/cpu`);
    if (cpu && typeof cpu.cores !== 'number') p.add(`${at}/cpu/cores`, 'must be a number');
    if (cpu?.architectures !== undefined) {
      if (!Array.isArray(cpu.architectures)) p.add(`${at}/cpu/architectures`, 'must be a list');
      else {
        cpu.architectures.forEach((a: unknown, i) => {
          if (typeof a !== 'string' || !ARCHITECTURES.includes(a)) {
            p.add(`${at}/cpu/architectures/${i}`, `must be one of ${ARCHITECTURES.join(', ')}`);
          }
        });
      }
    }
  }
  if (capacity.memory !== undefined) p.string(capacity.memory, `${at}/memory`, MEMORY);
  if (capacity.storage !== undefined) p.string(capacity.storage, `${at}/storage`, STORAGE);
}

function checkDeviceConstraints(value: unknown, at: string, p: Problems): void {
  const constraints = p.object(value, at);
  if (!constraints) return;
  if (constraints.capacityRequirements !== undefined) {
    checkCapacity(constraints.capacityRequirements, `${at}/capacityRequirements`, p);
  }
  if (constraints.eligibilityRules === undefined) return;
  if (!Array.isArray(constraints.eligibilityRules)) {
    p.add(`${at}/eligibilityRules`, 'must be a list');
    return;
  }
  constraints.eligibilityRules.forEach((r: unknown, i) => {
    const rAt = `${at}/eligibilityRules/${i}`;
    const rule = p.object(r, rAt);
    if (rule?.propertySelector !== undefined) {
      checkSelector(rule.propertySelector, `${rAt}/propertySelector`, p);
    }
    if (rule?.labelSelector !== undefined) checkSelector(rule.labelSelector, `${rAt}/labelSelector`, p);
  });
}

/** Checks the profile; returns its component names (for parameter targets). */
function checkProfile(value: unknown, p: Problems): string[] {
  const at = '/spec/deploymentProfile';
  const profile = p.object(value, at);
  if (!profile) return [];
  p.keys(profile, at, ['type', 'components', 'deviceConstraints'], true);
  if (profile.type !== 'helm' && profile.type !== 'compose') p.add(`${at}/type`, 'must be helm or compose');
  if (profile.deviceConstraints !== undefined) {
    checkDeviceConstraints(profile.deviceConstraints, `${at}/deviceConstraints`, p);
  }
  if (!Array.isArray(profile.components) || profile.components.length === 0) {
    p.add(`${at}/components`, 'must be a non-empty list');
    return [];
  }
  const names: string[] = [];
  profile.components.forEach((c: unknown, i) => {
    const cAt = `${at}/components/${i}`;
    const component = p.object(c, cAt);
    if (!component) return;
    p.keys(component, cAt, ['name', 'properties'], true);
    p.string(component.name, `${cAt}/name`);
    if (typeof component.name === 'string') names.push(component.name);
    p.object(component.properties, `${cAt}/properties`);
  });
  return names;
}

function checkParameters(value: unknown, componentNames: string[], p: Problems): void {
  if (value === undefined) return;
  const params = p.object(value, '/spec/parameters');
  for (const [name, raw] of Object.entries(params ?? {})) {
    const at = `/spec/parameters/${name}`;
    const param = p.object(raw, at);
    if (!param) continue;
    if (!('value' in param)) p.add(`${at}/value`, 'is required');
    if (!Array.isArray(param.targets)) {
      p.add(`${at}/targets`, param.targets === undefined ? 'is required' : 'must be a list');
      continue;
    }
    param.targets.forEach((t: unknown, i) => {
      const tAt = `${at}/targets/${i}`;
      const target = p.object(t, tAt);
      if (!target) return;
      p.string(target.pointer, `${tAt}/pointer`);
      if (!Array.isArray(target.components)) {
        p.add(`${tAt}/components`, target.components === undefined ? 'is required' : 'must be a list');
        return;
      }
      target.components.forEach((c: unknown, j) => {
        if (typeof c !== 'string') p.add(`${tAt}/components/${j}`, 'must be a string');
        else if (!componentNames.includes(c)) {
          p.add(`${tAt}/components/${j}`, `names no component of the profile`);
        }
      });
    });
  }
}

/**
 * Problems of a parsed rendering against the rc.3 `appDeploymentManifest` rules (see the block comment
 * above for what is checked and skipped); empty when valid.
 */
export function validateRenderedDeployment(doc: unknown): string[] {
  const p = new Problems();
  const top = p.object(doc, '');
  if (!top) return p.list;
  p.keys(top, '', ['id', 'metadata', 'spec', 'apiVersion', 'kind'], false);
  p.string(top.id, '/id', UUID);
  const metadata = checkMetadata(top.metadata, p);
  const spec = p.object(top.spec, '/spec');
  if (spec) {
    p.keys(spec, '/spec', ['applicationId', 'deploymentProfile', 'parameters'], true);
    p.string(spec.applicationId, '/spec/applicationId', APPLICATION_ID);
    const names = checkProfile(spec.deploymentProfile, p);
    checkParameters(spec.parameters, names, p);
  }
  checkLegacy(top, metadata, spec, p);
  return p.list;
}
