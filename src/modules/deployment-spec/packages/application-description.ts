import { isAlias, isMap, isPair, isScalar, isSeq, Lexer, parseDocument } from 'yaml';
import type { FieldError } from '../../../common/problem/problem-types.js';
import { ARCHITECTURES, INTERFACES, PERIPHERALS } from '../../device-capability/capabilities.parser.js';
import { parseQuantity } from '../../device-capability/quantity.js';
import type {
  ApplicationPackage,
  CapacityRequirements,
  DeploymentProfile,
  EligibilityRule,
  JsonValue,
  MatchExpression,
  MatchOperator,
  PackageParameter,
  PackageSetting,
  ParameterTarget,
  ProfileType,
  SchemaRule,
} from './domain.js';
import {
  checkUntypedValue,
  checkValue,
  escapePointer,
  isJsonScalar,
  ruleFor,
  scalarTypeError,
} from './parameter-values.js';

/**
 * Validation and normalisation of an ApplicationDescription (the package's `margo.yaml`, spec §2.6) into
 * an ApplicationPackage. Bytes that are not one YAML/JSON document → 400; everything semantic → 422 with
 * JSON pointers into the document (D2 style: `x-<name>-extensions` are kept, other unknown keys rejected).
 * Accepts the older shapes too: `metadata.id`, `type: helm.v3`, `requiredResources`. Pure.
 */

export type DescriptionParseResult =
  | { ok: true; pkg: ApplicationPackage; document: JsonValue }
  | { ok: false; status: 400 | 413 | 422; errors: FieldError[]; detail: string };

export const APPLICATION_ID = /^[a-z0-9-]{1,200}$/;
export const COMPONENT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const EXTENSION = /^x-[a-z][a-z0-9-]*-extensions$/;
const JSON_POINTER = /^(?:\/(?:[^~/]|~[01])*)+$/;
/**
 * Largest description accepted, in UTF-8 bytes (checked before any parsing). Real descriptions are a few
 * kB; the bound keeps the (linear, synchronous) YAML parse of one upload well under a second.
 */
export const MAX_DESCRIPTION_BYTES = 128 * 1024;
/** YAML/JSON nodes (scalars, maps, sequences, aliases) allowed in a description, checked before validation. */
export const MAX_NODES = 10_000;
/** Alias expansions allowed while turning YAML into data (defeats "billion laughs" documents). */
const MAX_ALIAS_COUNT = 20;
/** Nesting allowed in a document (bounds every recursion over it). */
const MAX_DEPTH = 64;
/** Nesting of `itemSelector` inside match expressions. */
const MAX_ITEM_SELECTOR_DEPTH = 4;
/** Errors returned at most (the detail gives the full count). */
const MAX_ERRORS = 100;

const TOP_LEVEL_KEYS = [
  'apiVersion',
  'kind',
  'id',
  'metadata',
  'deploymentProfiles',
  'parameters',
  'configuration',
];
const METADATA_KEYS = ['id', 'name', 'description', 'version', 'catalog'];
const PROFILE_KEYS = ['type', 'id', 'description', 'components', 'requiredResources', 'deviceConstraints'];
const CAPACITY_KEYS = ['cpu', 'memory', 'storage'];
const RULE_KEYS = [
  'allowEmpty',
  'minLength',
  'maxLength',
  'regexMatch',
  'minValue',
  'maxValue',
  'minPrecision',
  'maxPrecision',
  'multiselect',
  'options',
] as const;
const DATA_TYPES: readonly SchemaRule['dataType'][] = ['string', 'integer', 'double', 'boolean', 'array'];
/** Rule keys that make sense per dataType (spec §2.6 validation schema subtypes; Select = `options`). */
const APPLIES: Record<SchemaRule['dataType'], readonly string[]> = {
  string: ['allowEmpty', 'minLength', 'maxLength', 'regexMatch', 'multiselect', 'options'],
  integer: ['allowEmpty', 'minValue', 'maxValue', 'multiselect', 'options'],
  double: ['allowEmpty', 'minValue', 'maxValue', 'minPrecision', 'maxPrecision', 'multiselect', 'options'],
  boolean: ['allowEmpty'],
  array: ['allowEmpty', 'multiselect', 'options'],
};
/** `helm.v3` is the older spelling of `helm` (spec §7 item 5). */
const PROFILE_TYPES = new Map<string, ProfileType>([
  ['helm', 'helm'],
  ['helm.v3', 'helm'],
  ['compose', 'compose'],
  ['custom', 'custom'],
]);
const ARCH_ALIASES = new Map([
  ['x86_64', 'amd64'],
  ['aarch64', 'arm64'],
]);
const OPERATORS: readonly MatchOperator[] = [
  'In',
  'NotIn',
  'Exists',
  'DoesNotExist',
  'Gt',
  'Lt',
  'ContainsAll',
  'ContainsAny',
];

type JsonObject = { [key: string]: JsonValue };
type Read = { ok: true; document: JsonValue; versionSource?: string } | { ok: false; errors: FieldError[] };
type SelectorKind = 'property' | 'label' | 'item';

const isObject = (v: JsonValue | undefined): v is JsonObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

class Collector {
  readonly errors: FieldError[] = [];
  add(field: string, text: string): void {
    this.errors.push({ field, message: text });
  }
}

/** Defines an own, enumerable property (safe for keys such as `__proto__`). */
function setOwn<T>(record: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}

// ---------------------------------------------------------------------------------------------------
// Bytes → data (400 territory)
// ---------------------------------------------------------------------------------------------------

/** The first problem that keeps a parsed value from being plain JSON data, if any. */
function nonJson(value: unknown, at: string, depth: number, count = { nodes: 0 }): FieldError | undefined {
  count.nodes += 1;
  if (count.nodes > MAX_NODES) return { field: '', message: `has more than ${MAX_NODES} nodes` };
  if (depth > MAX_DEPTH) return { field: at, message: `is nested more than ${MAX_DEPTH} levels deep` };
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return undefined;
  if (typeof value === 'number') {
    return Number.isFinite(value) ? undefined : { field: at, message: 'is not a finite number' };
  }
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const problem = nonJson(item, `${at}/${i}`, depth + 1, count);
      if (problem) return problem;
    }
    return undefined;
  }
  const proto: unknown = typeof value === 'object' ? Object.getPrototypeOf(value) : undefined;
  if (proto !== Object.prototype && proto !== null) {
    return { field: at, message: 'is not representable as JSON (binary, date or other tagged value)' };
  }
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    const problem = nonJson(item, `${at}/${escapePointer(key)}`, depth + 1, count);
    if (problem) return problem;
  }
  return undefined;
}

/**
 * One walk over the parsed YAML tree, linear in its size: at most MAX_NODES nodes, at most MAX_DEPTH
 * levels, and no repeated scalar key in a map. The yaml library's own `uniqueKeys` check compares each
 * key with every earlier key of its map (quadratic: 30,000 keys took 24 s), so it is off and this walk
 * does it with a set instead, with the library's notion of equality (scalar values compared with ===).
 */
function yamlShape(root: unknown): FieldError | undefined {
  const stack: { node: unknown; at: string; depth: number }[] = [{ node: root, at: '', depth: 0 }];
  let nodes = 0;
  while (stack.length > 0) {
    const { node, at, depth } = stack.pop()!;
    if (node === null || node === undefined) continue;
    nodes += 1;
    if (nodes > MAX_NODES) return { field: '', message: `has more than ${MAX_NODES} nodes` };
    if (depth > MAX_DEPTH) return { field: at, message: `is nested more than ${MAX_DEPTH} levels deep` };
    if (isMap(node)) {
      const keys = new Set<unknown>();
      for (const pair of node.items) {
        const key = pair.key;
        const name = isScalar(key) ? String(key.value) : '';
        if (isScalar(key)) {
          nodes += 1;
          if (keys.has(key.value)) return { field: `${at}/${escapePointer(name)}`, message: 'duplicate key' };
          keys.add(key.value);
        } else stack.push({ node: key, at, depth: depth + 1 });
        stack.push({ node: pair.value, at: `${at}/${escapePointer(name)}`, depth: depth + 1 });
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => stack.push({ node: item, at: `${at}/${i}`, depth: depth + 1 }));
    } else if (isPair(node)) {
      stack.push({ node: node.key, at, depth: depth + 1 }, { node: node.value, at, depth: depth + 1 });
    } else if (!isScalar(node) && !isAlias(node)) {
      return { field: at, message: 'is not plain YAML data' };
    }
  }
  return undefined;
}

/**
 * Flow-collection nesting (`[`, `{`) of the YAML source, from the library's lexer (linear; quoted
 * scalars are single tokens, so brackets inside strings do not count). Checked before composing: the
 * composer needs seconds and, at ~100,000 levels, more memory than the process has.
 */
function flowTooDeep(text: string): boolean {
  let depth = 0;
  for (const token of new Lexer().lex(text)) {
    if (token === '[' || token === '{') {
      depth += 1;
      if (depth > MAX_DEPTH) return true;
    } else if ((token === ']' || token === '}') && depth > 0) depth -= 1;
  }
  return false;
}

/** One YAML document: unique keys, no unknown tags, bounded size and aliases; keeps a numeric version's source. */
function readYaml(text: string): Read {
  if (flowTooDeep(text)) {
    return { ok: false, errors: [{ field: '', message: `is nested more than ${MAX_DEPTH} levels deep` }] };
  }
  const doc = parseDocument(text, { uniqueKeys: false, prettyErrors: true });
  const problems = [...doc.errors, ...doc.warnings];
  if (problems.length > 0) {
    return {
      ok: false,
      errors: problems.map((p) => ({ field: '', message: p.message.split('\n')[0].replace(/:$/, '') })),
    };
  }
  const shape = yamlShape(doc.contents);
  if (shape) return { ok: false, errors: [shape] };
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    return { ok: false, errors: [{ field: '', message: message(e) }] };
  }
  const problem = nonJson(data, '', 0);
  if (problem) return { ok: false, errors: [problem] };
  const version = doc.getIn(['metadata', 'version'], true);
  const versionSource = isScalar(version) && typeof version.value === 'number' ? version.source : undefined;
  return { ok: true, document: data as JsonValue, versionSource };
}

/** Pointer of the first repeated object key in text that is already known to be valid JSON. */
function duplicateJsonKey(text: string): string | undefined {
  interface Frame {
    path: string;
    keys?: Set<string>;
    key: string;
    index: number;
  }
  const stack: Frame[] = [];
  let expectKey = false;
  const childPath = (): string => {
    const top = stack.at(-1);
    if (!top) return '';
    return `${top.path}/${top.keys ? escapePointer(top.key) : top.index}`;
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    const top = stack.at(-1);
    if (ch === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      if (top?.keys && expectKey) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (top.keys.has(key)) return `${top.path}/${escapePointer(key)}`;
        top.keys.add(key);
        top.key = key;
        expectKey = false;
      }
      i = end;
    } else if (ch === '{' || ch === '[') {
      stack.push({ path: childPath(), keys: ch === '{' ? new Set() : undefined, key: '', index: 0 });
      expectKey = ch === '{';
    } else if (ch === '}' || ch === ']') {
      stack.pop();
      expectKey = false;
    } else if (ch === ',' && top) {
      if (top.keys) expectKey = true;
      else top.index += 1;
    }
  }
  return undefined;
}

/** Strict JSON (RFC 8259) with unique keys. */
function readJson(text: string): Read {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    return { ok: false, errors: [{ field: '', message: message(e) }] };
  }
  const duplicate = duplicateJsonKey(text);
  if (duplicate !== undefined) return { ok: false, errors: [{ field: duplicate, message: 'duplicate key' }] };
  const problem = nonJson(data, '', 0);
  if (problem) return { ok: false, errors: [problem] };
  return { ok: true, document: data as JsonValue };
}

// ---------------------------------------------------------------------------------------------------
// Small field readers
// ---------------------------------------------------------------------------------------------------

/** Rejects keys that are neither known nor `x-<name>-extensions`. */
function unknownKeys(c: Collector, obj: JsonObject, at: string, known: readonly string[]): void {
  for (const key of Object.keys(obj)) {
    if (known.includes(key) || EXTENSION.test(key)) continue;
    c.add(
      `${at}/${escapePointer(key)}`,
      key.startsWith('x-')
        ? 'is not a valid extension name (x-<name>-extensions, <name> matching [a-z][a-z0-9-]*)'
        : 'is not a known field',
    );
  }
}

/** The `x-<name>-extensions` members of an object, copied. */
function extensionsOf(obj: JsonObject): { [key: string]: JsonValue } {
  const out: { [key: string]: JsonValue } = {};
  for (const [key, value] of Object.entries(obj)) {
    if (EXTENSION.test(key)) setOwn(out, key, structuredClone(value));
  }
  return out;
}

/** A non-empty string member. */
function text(c: Collector, obj: JsonObject, key: string, at: string, required: boolean): string | undefined {
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

/** An optional string member (empty allowed), e.g. a description. */
function optionalString(c: Collector, obj: JsonObject, key: string, at: string): string | undefined {
  const value = obj[key];
  if (value === undefined || typeof value === 'string') return value;
  c.add(`${at}/${key}`, 'must be a string');
  return undefined;
}

/** An optional boolean member. */
function optionalBoolean(c: Collector, obj: JsonObject, key: string, at: string): boolean | undefined {
  const value = obj[key];
  if (value === undefined || typeof value === 'boolean') return value;
  c.add(`${at}/${key}`, 'must be a boolean');
  return undefined;
}

/** An optional non-negative integer member. */
function optionalCount(c: Collector, obj: JsonObject, key: string, at: string): number | undefined {
  const value = obj[key];
  if (value === undefined) return undefined;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  c.add(`${at}/${key}`, 'must be a non-negative integer');
  return undefined;
}

/** An optional finite number member. */
function optionalNumber(c: Collector, obj: JsonObject, key: string, at: string): number | undefined {
  const value = obj[key];
  if (value === undefined) return undefined;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  c.add(`${at}/${key}`, 'must be a number');
  return undefined;
}

/** An array with at least `minItems` entries; `undefined` (with an error) otherwise. */
function list(
  c: Collector,
  value: JsonValue | undefined,
  at: string,
  minItems: number,
): JsonValue[] | undefined {
  if (value === undefined) {
    c.add(at, 'is required');
    return undefined;
  }
  if (!Array.isArray(value)) {
    c.add(at, 'must be an array');
    return undefined;
  }
  if (value.length < minItems) c.add(at, `must list at least ${minItems} item(s)`);
  return value;
}

/** An object, or `undefined` with an error. */
function object(c: Collector, value: JsonValue | undefined, at: string): JsonObject | undefined {
  if (isObject(value)) return value;
  c.add(at, value === undefined ? 'is required' : 'must be an object');
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// metadata and id
// ---------------------------------------------------------------------------------------------------

interface Metadata {
  raw: JsonObject;
  name?: string;
  version?: string;
  description?: string;
}

/**
 * `metadata.version` is a string; a YAML/JSON number is accepted and turned into its source text when the
 * YAML source is known (`1.10` stays "1.10"), else into `String(n)`.
 */
function readVersion(
  c: Collector,
  value: JsonValue | undefined,
  source: string | undefined,
): string | undefined {
  if (value === undefined) c.add('/metadata/version', 'is required');
  else if (typeof value === 'string' && value.trim() !== '') return value;
  else if (typeof value === 'number') return source ?? String(value);
  else c.add('/metadata/version', 'must be a non-empty string');
  return undefined;
}

/** `metadata.catalog` is optional (older descriptions); when it lists organizations each needs a name. */
function readCatalog(c: Collector, value: JsonValue | undefined): void {
  if (value === undefined) return;
  const at = '/metadata/catalog';
  if (!isObject(value)) return c.add(at, 'must be an object');
  const organizations = value.organization;
  if (organizations === undefined) return;
  const items = list(c, organizations, `${at}/organization`, 1) ?? [];
  items.forEach((org, i) => {
    const p = `${at}/organization/${i}`;
    if (!isObject(org)) c.add(p, 'must be an object');
    else text(c, org, 'name', p, true);
  });
}

function readMetadata(
  c: Collector,
  value: JsonValue | undefined,
  versionSource?: string,
): Metadata | undefined {
  const at = '/metadata';
  const raw = object(c, value, at);
  if (!raw) return undefined;
  unknownKeys(c, raw, at, METADATA_KEYS);
  readCatalog(c, raw.catalog);
  return {
    raw,
    name: text(c, raw, 'name', at, true),
    version: readVersion(c, raw.version, versionSource),
    description: optionalString(c, raw, 'description', at),
  };
}

/** Top-level `id` (newest) or `metadata.id` (older); both may be given when they are equal. */
function readApplicationId(
  c: Collector,
  doc: JsonObject,
  metadata: JsonObject | undefined,
): string | undefined {
  const checked = (value: JsonValue, at: string): string | undefined => {
    if (typeof value === 'string' && APPLICATION_ID.test(value)) return value;
    c.add(at, 'must match ^[a-z0-9-]{1,200}$ (lowercase letters, digits and dashes)');
    return undefined;
  };
  const top = doc.id === undefined ? undefined : checked(doc.id, '/id');
  const older = metadata?.id === undefined ? undefined : checked(metadata.id, '/metadata/id');
  if (doc.id === undefined && metadata?.id === undefined) {
    c.add('/id', 'is required (older descriptions give it as metadata.id)');
  }
  if (top !== undefined && older !== undefined && top !== older) {
    c.add('/metadata/id', `must equal the top-level id (${top}) when both are given`);
  }
  return top ?? older;
}

// ---------------------------------------------------------------------------------------------------
// deviceConstraints / requiredResources
// ---------------------------------------------------------------------------------------------------

/** `cpu: {cores, architectures[]}`: cores a positive number (required), architectures normalised. */
function readCpu(c: Collector, value: JsonValue, at: string): Partial<CapacityRequirements> {
  const cpu = object(c, value, at);
  if (!cpu) return {};
  unknownKeys(c, cpu, at, ['cores', 'architectures']);
  const out: Partial<CapacityRequirements> = {};
  const cores = cpu.cores;
  if (typeof cores === 'number' && Number.isFinite(cores) && cores > 0) out.cores = cores;
  else c.add(`${at}/cores`, cores === undefined ? 'is required' : 'must be a positive number');
  if (cpu.architectures !== undefined) {
    const items = list(c, cpu.architectures, `${at}/architectures`, 1) ?? [];
    const archs = items.flatMap((item, i) => {
      const mapped = typeof item === 'string' ? (ARCH_ALIASES.get(item) ?? item) : undefined;
      if (mapped !== undefined && (ARCHITECTURES as readonly string[]).includes(mapped)) return [mapped];
      c.add(
        `${at}/architectures/${i}`,
        `must be one of ${ARCHITECTURES.join(', ')} (x86_64 and aarch64 are aliases)`,
      );
      return [];
    });
    out.architectures = [...new Set(archs)];
  }
  return out;
}

/** A memory/storage quantity such as `16Gi`. */
function readQuantity(
  c: Collector,
  value: JsonValue,
  at: string,
): { text: string; bytes: bigint } | undefined {
  const bytes = typeof value === 'string' ? parseQuantity(value) : undefined;
  if (typeof value === 'string' && bytes !== undefined) return { text: value, bytes };
  c.add(at, 'must be a quantity string such as 512Mi or 16Gi');
  return undefined;
}

/** Older `requiredResources.peripherals[{type, manufacturer?, model?}]`. */
function readPeripherals(c: Collector, value: JsonValue, at: string): CapacityRequirements['peripherals'] {
  return (list(c, value, at, 0) ?? []).flatMap((item, i) => {
    const p = `${at}/${i}`;
    if (!isObject(item)) return (c.add(p, 'must be an object'), []);
    unknownKeys(c, item, p, ['type', 'manufacturer', 'model']);
    const type = item.type;
    const manufacturer = text(c, item, 'manufacturer', p, false);
    const model = text(c, item, 'model', p, false);
    if (typeof type !== 'string' || !(PERIPHERALS as readonly string[]).includes(type)) {
      return (c.add(`${p}/type`, `must be one of ${PERIPHERALS.join(', ')}`), []);
    }
    return [{ type, ...(manufacturer ? { manufacturer } : {}), ...(model ? { model } : {}) }];
  });
}

/** Older `requiredResources.interfaces[{type}]`. */
function readInterfaces(c: Collector, value: JsonValue, at: string): string[] {
  return (list(c, value, at, 0) ?? []).flatMap((item, i) => {
    const p = `${at}/${i}`;
    if (!isObject(item)) return (c.add(p, 'must be an object'), []);
    unknownKeys(c, item, p, ['type']);
    if (typeof item.type === 'string' && (INTERFACES as readonly string[]).includes(item.type)) {
      return [item.type];
    }
    return (c.add(`${p}/type`, `must be one of ${INTERFACES.join(', ')}`), []);
  });
}

/** `deviceConstraints.capacityRequirements`, or the older `requiredResources` (`legacy`: + peripherals, interfaces). */
function readCapacity(c: Collector, value: JsonValue, at: string, legacy: boolean): CapacityRequirements {
  const out: CapacityRequirements = { peripherals: [], interfaces: [] };
  const capacity = object(c, value, at);
  if (!capacity) return out;
  unknownKeys(c, capacity, at, legacy ? [...CAPACITY_KEYS, 'peripherals', 'interfaces'] : CAPACITY_KEYS);
  if (capacity.cpu !== undefined) Object.assign(out, readCpu(c, capacity.cpu, `${at}/cpu`));
  const memory = capacity.memory === undefined ? undefined : readQuantity(c, capacity.memory, `${at}/memory`);
  if (memory) Object.assign(out, { memoryBytes: memory.bytes, memoryText: memory.text });
  const storage =
    capacity.storage === undefined ? undefined : readQuantity(c, capacity.storage, `${at}/storage`);
  if (storage) Object.assign(out, { storageBytes: storage.bytes, storageText: storage.text });
  if (legacy && capacity.peripherals !== undefined) {
    out.peripherals = readPeripherals(c, capacity.peripherals, `${at}/peripherals`);
  }
  if (legacy && capacity.interfaces !== undefined) {
    out.interfaces = [...new Set(readInterfaces(c, capacity.interfaces, `${at}/interfaces`))];
  }
  return out;
}

/** A numeric Gt/Lt operand: a number, or a string holding one (normalised to the number). */
function numericOperand(value: JsonValue): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) {
    return Number(value);
  }
  return undefined;
}

/** `values` per operator: In/NotIn ≥1, Gt/Lt exactly one number, the others none. */
function readOperands(
  c: Collector,
  expr: JsonObject,
  operator: MatchOperator,
  at: string,
): JsonValue[] | undefined {
  const values = expr.values;
  const p = `${at}/values`;
  if (operator === 'In' || operator === 'NotIn') {
    const items = list(c, values, p, 1);
    return items ? structuredClone(items) : undefined;
  }
  if (operator === 'Gt' || operator === 'Lt') {
    const items = list(c, values, p, 0);
    if (!items) return undefined;
    if (items.length !== 1) return (c.add(p, `${operator} takes exactly one numeric value`), undefined);
    const n = numericOperand(items[0]);
    if (n === undefined) return (c.add(`${p}/0`, 'must be a number'), undefined);
    return [n];
  }
  if (values !== undefined && !(Array.isArray(values) && values.length === 0)) {
    c.add(p, `is not used by ${operator}`);
  }
  return undefined;
}

/** One match expression; property and item keys are RFC 6901 pointers, label keys exact label names. */
function readExpression(
  c: Collector,
  value: JsonValue,
  at: string,
  kind: SelectorKind,
  depth: number,
): MatchExpression | undefined {
  const expr = object(c, value, at);
  if (!expr) return undefined;
  unknownKeys(c, expr, at, ['key', 'operator', 'values', 'itemSelector']);
  const key = text(c, expr, 'key', at, true);
  if (key !== undefined && kind !== 'label' && !JSON_POINTER.test(key)) {
    c.add(`${at}/key`, 'must be a JSON pointer (RFC 6901) starting with /, e.g. /vendor');
  }
  const operator = OPERATORS.find((o) => o === expr.operator);
  if (operator === undefined) {
    c.add(
      `${at}/operator`,
      expr.operator === undefined ? 'is required' : `must be one of ${OPERATORS.join(', ')}`,
    );
    return undefined;
  }
  const values = readOperands(c, expr, operator, at);
  const contains = operator === 'ContainsAll' || operator === 'ContainsAny';
  let itemSelector: MatchExpression['itemSelector'];
  if (contains && expr.itemSelector === undefined) c.add(`${at}/itemSelector`, `is required for ${operator}`);
  else if (!contains && expr.itemSelector !== undefined) {
    c.add(`${at}/itemSelector`, 'is only used by ContainsAll and ContainsAny');
  } else if (contains && depth >= MAX_ITEM_SELECTOR_DEPTH) {
    c.add(`${at}/itemSelector`, `is nested more than ${MAX_ITEM_SELECTOR_DEPTH} levels deep`);
  } else if (expr.itemSelector !== undefined) {
    itemSelector = readSelector(c, expr.itemSelector, `${at}/itemSelector`, 'item', depth + 1);
  }
  if (key === undefined) return undefined;
  return { key, operator, ...(values ? { values } : {}), ...(itemSelector ? { itemSelector } : {}) };
}

/** `{matchExpressions: [≥1]}`. */
function readSelector(
  c: Collector,
  value: JsonValue,
  at: string,
  kind: SelectorKind,
  depth: number,
): { matchExpressions: MatchExpression[] } {
  const selector = object(c, value, at);
  if (!selector) return { matchExpressions: [] };
  unknownKeys(c, selector, at, ['matchExpressions']);
  const items = list(c, selector.matchExpressions, `${at}/matchExpressions`, 1) ?? [];
  const matchExpressions = items.flatMap((item, i) => {
    const expr = readExpression(c, item, `${at}/matchExpressions/${i}`, kind, depth);
    return expr ? [expr] : [];
  });
  return { matchExpressions };
}

/** `eligibilityRules[{propertySelector?, labelSelector?}]`: each rule needs at least one selector. */
function readEligibilityRules(c: Collector, value: JsonValue, at: string): EligibilityRule[] {
  return (list(c, value, at, 0) ?? []).flatMap((item, i) => {
    const p = `${at}/${i}`;
    const rule = object(c, item, p);
    if (!rule) return [];
    unknownKeys(c, rule, p, ['propertySelector', 'labelSelector']);
    if (rule.propertySelector === undefined && rule.labelSelector === undefined) {
      return (c.add(p, 'must have a propertySelector, a labelSelector or both'), []);
    }
    const out: EligibilityRule = {};
    if (rule.propertySelector !== undefined) {
      out.propertySelector = readSelector(c, rule.propertySelector, `${p}/propertySelector`, 'property', 0);
    }
    if (rule.labelSelector !== undefined) {
      out.labelSelector = readSelector(c, rule.labelSelector, `${p}/labelSelector`, 'label', 0);
    }
    return [out];
  });
}

interface Constraints {
  requirements: CapacityRequirements;
  eligibilityRules: EligibilityRule[];
  deviceConstraints?: JsonValue;
}

/** A profile's `deviceConstraints` (newer) or `requiredResources` (older); not both. */
function readConstraints(c: Collector, profile: JsonObject, at: string): Constraints {
  const out: Constraints = { requirements: { peripherals: [], interfaces: [] }, eligibilityRules: [] };
  const { deviceConstraints: dc, requiredResources: rr } = profile;
  if (dc !== undefined && rr !== undefined) {
    c.add(`${at}/requiredResources`, 'cannot be combined with deviceConstraints (it is its older form)');
  }
  if (rr !== undefined) out.requirements = readCapacity(c, rr, `${at}/requiredResources`, true);
  if (dc === undefined) return out;
  const p = `${at}/deviceConstraints`;
  const constraints = object(c, dc, p);
  if (!constraints) return out;
  unknownKeys(c, constraints, p, ['capacityRequirements', 'eligibilityRules']);
  if (constraints.capacityRequirements !== undefined) {
    out.requirements = readCapacity(c, constraints.capacityRequirements, `${p}/capacityRequirements`, false);
  }
  if (constraints.eligibilityRules !== undefined) {
    out.eligibilityRules = readEligibilityRules(c, constraints.eligibilityRules, `${p}/eligibilityRules`);
  }
  out.deviceConstraints = structuredClone(dc);
  return out;
}

// ---------------------------------------------------------------------------------------------------
// deploymentProfiles
// ---------------------------------------------------------------------------------------------------

/** Components: ≥1, names unique within the profile; each object kept verbatim. */
function readComponents(c: Collector, value: JsonValue | undefined, at: string): JsonObject[] {
  const seen = new Map<string, number>();
  return (list(c, value, at, 1) ?? []).flatMap((item, i) => {
    const p = `${at}/${i}`;
    const component = object(c, item, p);
    if (!component) return [];
    unknownKeys(c, component, p, ['name', 'properties']);
    const name = text(c, component, 'name', p, true);
    if (name !== undefined && !COMPONENT_NAME.test(name)) {
      c.add(
        `${p}/name`,
        'must be lowercase letters, digits and dashes, starting and ending with a letter or digit',
      );
    } else if (name !== undefined && seen.has(name)) {
      c.add(`${p}/name`, `repeats the name of ${at}/${seen.get(name)}`);
    } else if (name !== undefined) seen.set(name, i);
    if (component.properties !== undefined && !isObject(component.properties)) {
      c.add(`${p}/properties`, 'must be an object');
    }
    return [structuredClone(component)];
  });
}

/** `type`: helm | compose | custom (`helm.v3` → helm). */
function readProfileType(c: Collector, value: JsonValue | undefined, at: string): ProfileType | undefined {
  const type = typeof value === 'string' ? PROFILE_TYPES.get(value) : undefined;
  if (type === undefined) {
    c.add(
      at,
      value === undefined ? 'is required' : 'must be one of helm, compose, custom (helm.v3 is read as helm)',
    );
  }
  return type;
}

/** A `custom` profile must carry at least one eligibility rule (device-constraints SUP). */
function requireRuleForCustom(c: Collector, profile: JsonObject, at: string): void {
  const dc = profile.deviceConstraints;
  if (!isObject(dc)) {
    if (dc === undefined) {
      c.add(`${at}/deviceConstraints`, 'is required for a custom profile (with an eligibility rule)');
    }
    return;
  }
  const rules = dc.eligibilityRules;
  if (rules === undefined || (Array.isArray(rules) && rules.length === 0)) {
    c.add(
      `${at}/deviceConstraints/eligibilityRules`,
      'a custom profile must carry at least one eligibility rule',
    );
  }
}

function readProfile(c: Collector, value: JsonValue, at: string): DeploymentProfile | undefined {
  const profile = object(c, value, at);
  if (!profile) return undefined;
  unknownKeys(c, profile, at, PROFILE_KEYS);
  const type = readProfileType(c, profile.type, `${at}/type`);
  const id = text(c, profile, 'id', at, true);
  const description = optionalString(c, profile, 'description', at);
  const components = readComponents(c, profile.components, `${at}/components`);
  const constraints = readConstraints(c, profile, at);
  if (type === 'custom') requireRuleForCustom(c, profile, at);
  if (type === undefined || id === undefined) return undefined;
  return {
    id,
    type,
    ...(description !== undefined ? { description } : {}),
    components,
    componentNames: components.flatMap((k) => (typeof k.name === 'string' ? [k.name] : [])),
    requirements: constraints.requirements,
    eligibilityRules: constraints.eligibilityRules,
    ...(constraints.deviceConstraints !== undefined
      ? { deviceConstraints: constraints.deviceConstraints }
      : {}),
    extensions: extensionsOf(profile),
  };
}

/** `deploymentProfiles`: ≥1, ids unique within the description. */
function readProfiles(c: Collector, value: JsonValue | undefined): DeploymentProfile[] {
  const at = '/deploymentProfiles';
  const items = list(c, value, at, 1) ?? [];
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    if (!isObject(item) || typeof item.id !== 'string') return;
    const first = seen.get(item.id);
    if (first !== undefined) c.add(`${at}/${i}/id`, `repeats the id of ${at}/${first}`);
    else seen.set(item.id, i);
  });
  return items.flatMap((item, i) => {
    const profile = readProfile(c, item, `${at}/${i}`);
    return profile ? [profile] : [];
  });
}

/** Every component name declared by any profile (also in profiles that have other errors). */
function declaredComponents(doc: JsonObject): Set<string> {
  const names = new Set<string>();
  const profiles = Array.isArray(doc.deploymentProfiles) ? doc.deploymentProfiles : [];
  for (const profile of profiles) {
    const components = isObject(profile) && Array.isArray(profile.components) ? profile.components : [];
    for (const k of components) if (isObject(k) && typeof k.name === 'string') names.add(k.name);
  }
  return names;
}

// ---------------------------------------------------------------------------------------------------
// parameters and configuration
// ---------------------------------------------------------------------------------------------------

/** `targets[{pointer, components[≥1]}]`; every component must be declared by some profile. */
function readTargets(
  c: Collector,
  value: JsonValue | undefined,
  at: string,
  known: Set<string>,
): ParameterTarget[] {
  return (list(c, value, at, 1) ?? []).flatMap((item, i) => {
    const p = `${at}/${i}`;
    const target = object(c, item, p);
    if (!target) return [];
    unknownKeys(c, target, p, ['pointer', 'components']);
    const pointer = text(c, target, 'pointer', p, true);
    const components = (list(c, target.components, `${p}/components`, 1) ?? []).flatMap((name, j) => {
      if (typeof name !== 'string' || name === '') {
        return (c.add(`${p}/components/${j}`, 'must be a component name'), []);
      }
      if (!known.has(name)) {
        c.add(`${p}/components/${j}`, `names no component of any deployment profile (${name})`);
      }
      return [name];
    });
    return pointer === undefined ? [] : [{ pointer, components }];
  });
}

/** `parameters`: name → `{value?, targets}`. */
function readParameters(
  c: Collector,
  value: JsonValue | undefined,
  components: Set<string>,
): Record<string, PackageParameter> {
  const out: Record<string, PackageParameter> = {};
  if (value === undefined) return out;
  if (!isObject(value)) return (c.add('/parameters', 'must be an object mapping names to parameters'), out);
  for (const [name, item] of Object.entries(value)) {
    const at = `/parameters/${escapePointer(name)}`;
    if (name.trim() === '') c.add(at, 'a parameter name must not be empty');
    const parameter = object(c, item, at);
    if (!parameter) continue;
    unknownKeys(c, parameter, at, ['value', 'targets']);
    const targets = readTargets(c, parameter.targets, `${at}/targets`, components);
    const defaultValue = parameter.value;
    setOwn(
      out,
      name,
      defaultValue === undefined ? { targets } : { value: structuredClone(defaultValue), targets },
    );
  }
  return out;
}

/** `regexMatch` must compile as a JavaScript RegExp. */
function readRegex(c: Collector, rule: JsonObject, at: string): string | undefined {
  const source = text(c, rule, 'regexMatch', at, false);
  if (source === undefined) return undefined;
  try {
    new RegExp(source);
    return source;
  } catch (e) {
    c.add(`${at}/regexMatch`, `is not a valid regular expression: ${message(e)}`);
    return undefined;
  }
}

/** `options` (Select): ≥1 scalars of the rule's dataType. */
function readOptions(
  c: Collector,
  rule: JsonObject,
  dataType: SchemaRule['dataType'],
  at: string,
): JsonValue[] | undefined {
  if (rule.options === undefined) return undefined;
  const items = list(c, rule.options, `${at}/options`, 1);
  items?.forEach((option, i) => {
    const problem = isJsonScalar(option)
      ? scalarTypeError(dataType, option)
      : 'must be a string, number or boolean';
    if (problem) c.add(`${at}/options/${i}`, problem);
  });
  return items ? structuredClone(items) : undefined;
}

/** Rules that do not apply to the dataType, min above max, a multiselect without options. */
function ruleConsistency(c: Collector, raw: JsonObject, rule: SchemaRule, at: string): void {
  for (const key of RULE_KEYS) {
    if (raw[key] !== undefined && !APPLIES[rule.dataType].includes(key)) {
      c.add(`${at}/${key}`, `does not apply to dataType ${rule.dataType}`);
    }
  }
  const pairs: [number | undefined, number | undefined, string][] = [
    [rule.minLength, rule.maxLength, 'maxLength'],
    [rule.minValue, rule.maxValue, 'maxValue'],
    [rule.minPrecision, rule.maxPrecision, 'maxPrecision'],
  ];
  for (const [min, max, key] of pairs) {
    if (min !== undefined && max !== undefined && min > max) {
      c.add(`${at}/${key}`, `must not be below its minimum (${min})`);
    }
  }
  if (rule.multiselect === true && raw.options === undefined) c.add(`${at}/multiselect`, 'needs options');
}

/** One `configuration.schema` entry; undefined when it has any error. */
function readSchemaRule(c: Collector, value: JsonValue, at: string): SchemaRule | undefined {
  const before = c.errors.length;
  const raw = object(c, value, at);
  if (!raw) return undefined;
  unknownKeys(c, raw, at, ['name', 'dataType', ...RULE_KEYS]);
  const name = text(c, raw, 'name', at, true);
  const dataType = DATA_TYPES.find((t) => t === raw.dataType);
  if (dataType === undefined) {
    c.add(
      `${at}/dataType`,
      raw.dataType === undefined ? 'is required' : `must be one of ${DATA_TYPES.join(', ')}`,
    );
  }
  if (name === undefined || dataType === undefined) return undefined;
  const rule: SchemaRule = { name, dataType };
  const fields: Partial<SchemaRule> = {
    allowEmpty: optionalBoolean(c, raw, 'allowEmpty', at),
    minLength: optionalCount(c, raw, 'minLength', at),
    maxLength: optionalCount(c, raw, 'maxLength', at),
    regexMatch: readRegex(c, raw, at),
    minValue: optionalNumber(c, raw, 'minValue', at),
    maxValue: optionalNumber(c, raw, 'maxValue', at),
    minPrecision: optionalCount(c, raw, 'minPrecision', at),
    maxPrecision: optionalCount(c, raw, 'maxPrecision', at),
    multiselect: optionalBoolean(c, raw, 'multiselect', at),
    options: readOptions(c, raw, dataType, at),
  };
  for (const [key, v] of Object.entries(fields)) if (v !== undefined) Object.assign(rule, { [key]: v });
  ruleConsistency(c, raw, rule, at);
  return c.errors.length > before ? undefined : rule;
}

/** `configuration.schema`: rule names unique. */
function readSchema(c: Collector, value: JsonValue | undefined): { rules: SchemaRule[]; names: Set<string> } {
  const at = '/configuration/schema';
  const rules: SchemaRule[] = [];
  const names = new Map<string, number>();
  if (value === undefined) return { rules, names: new Set() };
  (list(c, value, at, 0) ?? []).forEach((item, i) => {
    if (isObject(item) && typeof item.name === 'string') {
      const first = names.get(item.name);
      if (first !== undefined) c.add(`${at}/${i}/name`, `repeats the name of ${at}/${first}`);
      else names.set(item.name, i);
    }
    const rule = readSchemaRule(c, item, `${at}/${i}`);
    if (rule) rules.push(rule);
  });
  return { rules, names: new Set(names.keys()) };
}

interface SettingContext {
  parameters: Record<string, PackageParameter>;
  schemaNames: Set<string>;
  /** Parameter → pointer of the setting that already covers it. */
  covered: Map<string, string>;
}

/** One setting: names a declared parameter (at most one setting each) and a declared schema rule. */
function readSetting(
  c: Collector,
  value: JsonValue,
  at: string,
  section: string,
  ctx: SettingContext,
): PackageSetting | undefined {
  const raw = object(c, value, at);
  if (!raw) return undefined;
  unknownKeys(c, raw, at, ['parameter', 'name', 'description', 'immutable', 'schema']);
  const parameter = text(c, raw, 'parameter', at, true);
  if (parameter !== undefined && !Object.hasOwn(ctx.parameters, parameter)) {
    c.add(`${at}/parameter`, `names no declared parameter (${parameter})`);
  } else if (parameter !== undefined && ctx.covered.has(parameter)) {
    c.add(`${at}/parameter`, `already has a setting at ${ctx.covered.get(parameter)}`);
  } else if (parameter !== undefined) ctx.covered.set(parameter, at);
  const name = text(c, raw, 'name', at, true);
  const description = optionalString(c, raw, 'description', at);
  const immutable = optionalBoolean(c, raw, 'immutable', at) ?? false;
  const schema = text(c, raw, 'schema', at, true);
  if (schema !== undefined && !ctx.schemaNames.has(schema)) {
    c.add(`${at}/schema`, `names no rule of configuration.schema (${schema})`);
  }
  if (parameter === undefined || name === undefined || schema === undefined) return undefined;
  const setting: PackageSetting = { parameter, name, immutable, schema, section };
  if (description !== undefined) setting.description = description;
  return setting;
}

/** `configuration.sections[{name, settings[]}]`. */
function readSections(
  c: Collector,
  value: JsonValue | undefined,
  parameters: Record<string, PackageParameter>,
  schemaNames: Set<string>,
): PackageSetting[] {
  const at = '/configuration/sections';
  if (value === undefined) return [];
  const ctx: SettingContext = { parameters, schemaNames, covered: new Map() };
  return (list(c, value, at, 0) ?? []).flatMap((item, i) => {
    const p = `${at}/${i}`;
    const section = object(c, item, p);
    if (!section) return [];
    unknownKeys(c, section, p, ['name', 'settings']);
    const name = text(c, section, 'name', p, true) ?? '';
    return (list(c, section.settings, `${p}/settings`, 0) ?? []).flatMap((s, j) => {
      const setting = readSetting(c, s, `${p}/settings/${j}`, name, ctx);
      return setting ? [setting] : [];
    });
  });
}

/** `configuration` (optional): `{sections, schema}`. */
function readConfiguration(
  c: Collector,
  value: JsonValue | undefined,
  parameters: Record<string, PackageParameter>,
): { settings: PackageSetting[]; schema: SchemaRule[] } {
  if (value === undefined) return { settings: [], schema: [] };
  const configuration = object(c, value, '/configuration');
  if (!configuration) return { settings: [], schema: [] };
  unknownKeys(c, configuration, '/configuration', ['sections', 'schema']);
  const schema = readSchema(c, configuration.schema);
  const settings = readSections(c, configuration.sections, parameters, schema.names);
  return { settings, schema: schema.rules };
}

/** The package's own default values must satisfy their settings' schema rules. */
function checkDefaults(
  c: Collector,
  pkg: Pick<ApplicationPackage, 'parameters' | 'settings' | 'schema'>,
): void {
  for (const [name, parameter] of Object.entries(pkg.parameters)) {
    if (parameter.value === undefined) continue;
    const at = `/parameters/${escapePointer(name)}/value`;
    const rule = ruleFor(pkg, name);
    for (const e of rule ? checkValue(rule, parameter.value, at) : checkUntypedValue(parameter.value, at)) {
      c.add(e.field, e.message);
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// The document
// ---------------------------------------------------------------------------------------------------

function validateDescription(
  c: Collector,
  doc: JsonValue,
  versionSource?: string,
): ApplicationPackage | undefined {
  if (!isObject(doc)) return (c.add('', 'must be an object (an ApplicationDescription)'), undefined);
  unknownKeys(c, doc, '', TOP_LEVEL_KEYS);
  if (doc.kind !== undefined && doc.kind !== 'ApplicationDescription') {
    c.add('/kind', 'must be ApplicationDescription');
  }
  if (doc.apiVersion !== undefined && typeof doc.apiVersion !== 'string') {
    c.add('/apiVersion', 'must be a string');
  }
  const metadata = readMetadata(c, doc.metadata, versionSource);
  const applicationId = readApplicationId(c, doc, metadata?.raw);
  const profiles = readProfiles(c, doc.deploymentProfiles);
  const parameters = readParameters(c, doc.parameters, declaredComponents(doc));
  const { settings, schema } = readConfiguration(c, doc.configuration, parameters);
  checkDefaults(c, { parameters, settings, schema });
  if (c.errors.length > 0 || !metadata?.name || metadata.version === undefined || !applicationId) {
    return undefined;
  }
  return {
    applicationId,
    version: metadata.version,
    name: metadata.name,
    ...(metadata.description !== undefined ? { description: metadata.description } : {}),
    profiles,
    parameters,
    settings,
    schema,
    extensions: extensionsOf(doc),
  };
}

/** A 400 answer for bytes that are not one YAML/JSON document. */
function badBytes(contentType: 'yaml' | 'json', errors: FieldError[]): DescriptionParseResult {
  const format =
    contentType === 'yaml' ? 'a single well-formed YAML document of plain data' : 'well-formed JSON';
  return { ok: false, status: 400, errors, detail: `The application description is not ${format}.` };
}

/**
 * Parses and validates an ApplicationDescription given as YAML or JSON text. Returns the normalised package
 * and the parsed document (for storing and showing), or a 400 (not YAML/JSON) / 422 (semantic) outcome
 * with JSON-pointer errors.
 */
export function parseApplicationDescription(
  text: string,
  contentType: 'yaml' | 'json',
): DescriptionParseResult {
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const size = Buffer.byteLength(source, 'utf8');
  if (size > MAX_DESCRIPTION_BYTES) {
    return {
      ok: false,
      status: 413,
      errors: [
        { field: '', message: `is ${size} bytes long; at most ${MAX_DESCRIPTION_BYTES} are accepted` },
      ],
      detail: `The application description is larger than ${MAX_DESCRIPTION_BYTES / 1024} KiB.`,
    };
  }
  let read: Read;
  try {
    read = contentType === 'yaml' ? readYaml(source) : readJson(source);
  } catch (e) {
    read = { ok: false, errors: [{ field: '', message: message(e) }] };
  }
  if (!read.ok) return badBytes(contentType, read.errors);
  const c = new Collector();
  const pkg = validateDescription(c, read.document, read.versionSource);
  if (!pkg) {
    const total = c.errors.length;
    const listed = total > MAX_ERRORS ? `, the first ${MAX_ERRORS} listed` : '';
    return {
      ok: false,
      status: 422,
      errors: c.errors.slice(0, MAX_ERRORS),
      detail: `The application description is not valid: ${total} error(s)${listed}.`,
    };
  }
  return { ok: true, pkg, document: read.document };
}
