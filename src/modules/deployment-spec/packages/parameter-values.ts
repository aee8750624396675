import type { FieldError } from '../../../common/problem/problem-types.js';
import type { ApplicationPackage, JsonValue, ParameterTarget, SchemaRule } from './domain.js';

/**
 * Parameter values against a validated ApplicationPackage (spec §2.6 `configuration`): the package's own
 * defaults (checked by the description parser), the operator's deployment values and per-device
 * overrides. Every check is pure and reports JSON pointers.
 *
 * `allowEmpty` (spec §7 item 15): the specification describes `allowEmpty: true` as "indicates a value
 * must be provided", which reads inverted. We implement the name's meaning: `allowEmpty: false` forbids an
 * empty value (null; `''` for text; `[]` for arrays and multiselects); `true` or absent allows one, and an
 * allowed empty value skips the remaining rules of the schema.
 */

export interface ParameterValueOptions {
  /** Pointer of the object holding the values in the request body, e.g. `/parameters`. */
  pointerPrefix: string;
  /** Values of immutable parameters that were used at the first install (parameter name → value). */
  lockedImmutable?: Record<string, JsonValue>;
}

export interface EffectiveParameter {
  value: JsonValue;
  targets: ParameterTarget[];
  /** Index of the layer that set the value; -1 = the package default. */
  source: number;
}

export const IMMUTABLE_MESSAGE = 'immutable: cannot change after it was used to install';

/** One RFC 6901 reference token. */
export function escapePointer(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** A JSON scalar: string, finite number, boolean or null. */
export function isJsonScalar(value: unknown): value is string | number | boolean | null {
  return (
    value === null ||
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value))
  );
}

/** Structural equality of two JSON values (object key order does not matter). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]))
    );
  }
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(rb, k) && jsonEqual(ra[k], rb[k]));
}

/** Value of a parameter that has no setting (or no schema rule): any JSON scalar. */
export function checkUntypedValue(value: unknown, at: string): FieldError[] {
  return isJsonScalar(value)
    ? []
    : [{ field: at, message: 'must be a JSON scalar (string, number, boolean or null)' }];
}

/** Number of decimal places of a finite number as JavaScript prints it (`1.25` → 2, `1e-7` → 7). */
export function decimalPlaces(n: number): number {
  const match = /^-?\d+(?:\.(\d+))?(?:e([+-]\d+))?$/i.exec(String(n));
  if (!match) return 0;
  return Math.max(0, (match[1]?.length ?? 0) - Number(match[2] ?? 0));
}

const show = (value: JsonValue): string => JSON.stringify(value);

/** Whether a value counts as empty for this rule (see `allowEmpty` above). */
function isEmpty(rule: SchemaRule, value: unknown): boolean {
  if (value === null) return true;
  if (rule.multiselect === true || rule.dataType === 'array') {
    return Array.isArray(value) && value.length === 0;
  }
  return rule.dataType === 'string' && value === '';
}

/** Type check of one scalar against a dataType (`array` elements: any non-null scalar). */
export function scalarTypeError(dataType: SchemaRule['dataType'], value: unknown): string | undefined {
  switch (dataType) {
    case 'string':
      return typeof value === 'string' ? undefined : 'must be a string';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value) ? undefined : 'must be an integer';
    case 'double':
      return typeof value === 'number' && Number.isFinite(value) ? undefined : 'must be a number';
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'must be a boolean';
    case 'array':
      return isJsonScalar(value) && value !== null ? undefined : 'must be a string, number or boolean';
  }
}

/** Text rules: length in Unicode code points, and `regexMatch` as an unanchored JavaScript RegExp search. */
function textErrors(rule: SchemaRule, value: string): string[] {
  const out: string[] = [];
  const length = [...value].length;
  if (rule.minLength !== undefined && length < rule.minLength) {
    out.push(`must be at least ${rule.minLength} characters long`);
  }
  if (rule.maxLength !== undefined && length > rule.maxLength) {
    out.push(`must be at most ${rule.maxLength} characters long`);
  }
  if (rule.regexMatch !== undefined && !new RegExp(rule.regexMatch).test(value)) {
    out.push(`must match the pattern ${rule.regexMatch}`);
  }
  return out;
}

/** Numeric rules: inclusive bounds, and precision as the number of decimal places. */
function numberErrors(rule: SchemaRule, value: number): string[] {
  const out: string[] = [];
  if (rule.minValue !== undefined && value < rule.minValue) out.push(`must be at least ${rule.minValue}`);
  if (rule.maxValue !== undefined && value > rule.maxValue) out.push(`must be at most ${rule.maxValue}`);
  const places = decimalPlaces(value);
  if (rule.minPrecision !== undefined && places < rule.minPrecision) {
    out.push(`must have at least ${rule.minPrecision} decimal places`);
  }
  if (rule.maxPrecision !== undefined && places > rule.maxPrecision) {
    out.push(`must have at most ${rule.maxPrecision} decimal places`);
  }
  return out;
}

/** Every rule for one scalar (type, options, then the per-type rules). */
function scalarErrors(rule: SchemaRule, value: unknown): string[] {
  const type = scalarTypeError(rule.dataType, value);
  if (type) return [type];
  if (rule.options !== undefined && !rule.options.some((option) => option === value)) {
    return [`must be one of ${rule.options.map(show).join(', ')}`];
  }
  if (typeof value === 'string') return textErrors(rule, value);
  if (typeof value === 'number') return numberErrors(rule, value);
  return [];
}

/** A multiselect, or a value of dataType `array`: an array whose items each satisfy the scalar rules. */
function arrayErrors(rule: SchemaRule, value: unknown, at: string): FieldError[] {
  if (!Array.isArray(value)) {
    return [
      { field: at, message: rule.multiselect ? 'must be an array of the options' : 'must be an array' },
    ];
  }
  return value.flatMap((item, i) =>
    scalarErrors(rule, item).map((message) => ({ field: `${at}/${i}`, message })),
  );
}

/** A value (package default, deployment value or device override) against one schema rule. */
export function checkValue(rule: SchemaRule, value: unknown, at: string): FieldError[] {
  if (isEmpty(rule, value)) {
    return rule.allowEmpty === false
      ? [{ field: at, message: 'must not be empty (allowEmpty is false)' }]
      : [];
  }
  if (rule.multiselect === true || rule.dataType === 'array') return arrayErrors(rule, value, at);
  return scalarErrors(rule, value).map((message) => ({ field: at, message }));
}

/** The schema rule that governs a parameter, through its setting; undefined when there is none. */
export function ruleFor(
  pkg: Pick<ApplicationPackage, 'settings' | 'schema'>,
  parameter: string,
): SchemaRule | undefined {
  const setting = pkg.settings.find((s) => s.parameter === parameter);
  return setting === undefined ? undefined : pkg.schema.find((r) => r.name === setting.schema);
}

/**
 * Values given for a package's parameters (`{name: value}` under `pointerPrefix`): every name must be
 * declared, every value must satisfy its setting's schema rule (any JSON scalar without one), and an
 * immutable setting must keep the value it had when it was first used to install.
 */
export function validateParameterValues(
  pkg: ApplicationPackage,
  values: Record<string, unknown>,
  options: ParameterValueOptions,
): FieldError[] {
  const errors: FieldError[] = [];
  for (const [name, value] of Object.entries(values)) {
    const at = `${options.pointerPrefix}/${escapePointer(name)}`;
    if (!Object.hasOwn(pkg.parameters, name)) {
      errors.push({ field: at, message: 'unknown parameter' });
      continue;
    }
    const rule = ruleFor(pkg, name);
    errors.push(...(rule ? checkValue(rule, value, at) : checkUntypedValue(value, at)));
    const immutable = pkg.settings.some((s) => s.parameter === name && s.immutable);
    const locked = options.lockedImmutable;
    if (immutable && locked !== undefined && Object.hasOwn(locked, name) && !jsonEqual(locked[name], value)) {
      errors.push({ field: at, message: IMMUTABLE_MESSAGE });
    }
  }
  return errors;
}

/**
 * The value of every parameter after layering `layers` (lowest precedence first, e.g. deployment values
 * then device overrides) over the package defaults. Parameters without any value are left out; names
 * that the package does not declare are ignored (validate them first).
 */
export function effectiveParameters(
  pkg: ApplicationPackage,
  layers: Record<string, JsonValue>[],
): Record<string, EffectiveParameter> {
  const out: Record<string, EffectiveParameter> = {};
  for (const [name, parameter] of Object.entries(pkg.parameters)) {
    let found: { value: JsonValue; source: number } | undefined =
      parameter.value === undefined ? undefined : { value: parameter.value, source: -1 };
    for (const [index, layer] of layers.entries()) {
      if (Object.hasOwn(layer, name) && layer[name] !== undefined) {
        found = { value: layer[name], source: index };
      }
    }
    if (found !== undefined) {
      Object.defineProperty(out, name, {
        value: { value: found.value, targets: parameter.targets, source: found.source },
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }
  return out;
}
