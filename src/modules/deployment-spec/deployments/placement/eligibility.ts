import type { DeviceFacts } from '../../../device-capability/device-facts.js';
import type { EligibilityRule, JsonValue, MatchExpression } from '../../packages/domain.js';

/**
 * Eligibility rules of `deviceConstraints` (spec §2.6, device-constraints SUP), evaluated against a device's
 * reported `properties` (propertySelector: RFC 6901 pointers) and `labels` (labelSelector: exact keys).
 * Pure. Semantics, as implemented:
 *
 * - Rules are OR-combined (no rules = eligible); inside a rule propertySelector AND labelSelector (a missing
 *   selector, or one with no expressions, holds); expressions inside a selector are AND-combined.
 * - Comparable device values are strings, numbers and booleans, and arrays of them. Comparison is strict:
 *   same JSON type and equal value (strings exact and case-sensitive; label `"3"` does not equal `3`).
 *   Any other JSON type (object, null, array holding objects) is "unsupported" and the expression is false.
 * - `In`: the value equals one of `values`, or (array) one of its elements does.
 * - `NotIn`: the key exists, the value is comparable, and neither it nor any element equals one of `values`.
 * - `Exists` / `DoesNotExist`: the key resolves (to any value, `null` included) / does not.
 * - `Gt` / `Lt`: exactly one value that is a number or a numeric string; the device value must be a JSON number.
 * - `ContainsAll` / `ContainsAny` (SUP wording): the key must resolve to an array of objects; ContainsAll holds
 *   when at least one element satisfies ALL `itemSelector.matchExpressions`, ContainsAny when at least one
 *   element satisfies ANY of them. Item keys are RFC 6901 pointers relative to the element. Labels never hold
 *   arrays of objects, so these operators are always false on a labelSelector.
 * - A malformed expression (missing values, bad pointer, unknown operator) is false, with a reason.
 */

/** Result of evaluating an expression, selector or rule; `reasons` explain a failure. */
export interface MatchOutcome {
  ok: boolean;
  reasons: string[];
}

/** `property`: key is an RFC 6901 pointer into the root; `label`: key is an exact label key. */
export type SelectorKind = 'property' | 'label';

type JsonObject = { [key: string]: JsonValue };

type Lookup = { found: true; value: JsonValue } | { found: false; error?: string };

type Scalar = string | number | boolean;

const ARRAY_INDEX = /^(?:0|[1-9][0-9]*)$/;
const NUMERIC_TEXT = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

const isObject = (v: JsonValue | undefined): v is JsonObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const isScalar = (v: JsonValue): v is Scalar =>
  typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

/** Unescapes one RFC 6901 reference token (`~1` → `/`, `~0` → `~`); undefined on a bad escape. */
function unescapeToken(token: string): string | undefined {
  if (/~(?![01])/.test(token)) return undefined;
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** Resolves an RFC 6901 JSON pointer (`''` = the root itself); own properties only. */
export function resolvePointer(root: JsonValue, pointer: string): Lookup {
  if (pointer === '') return { found: true, value: root };
  if (!pointer.startsWith('/')) {
    return { found: false, error: 'is not a JSON pointer (it must start with /)' };
  }
  let current: JsonValue = root;
  for (const raw of pointer.slice(1).split('/')) {
    const token = unescapeToken(raw);
    if (token === undefined) return { found: false, error: 'is not a JSON pointer (bad ~ escape)' };
    if (Array.isArray(current)) {
      if (!ARRAY_INDEX.test(token) || Number(token) >= current.length) return { found: false };
      current = current[Number(token)];
    } else if (isObject(current) && Object.hasOwn(current, token)) {
      current = current[token];
    } else {
      return { found: false };
    }
  }
  return { found: true, value: current };
}

/** Looks a key up the way the selector kind says. */
function lookup(root: JsonValue, key: string, kind: SelectorKind): Lookup {
  if (kind === 'property') return resolvePointer(root, key);
  return isObject(root) && Object.hasOwn(root, key) ? { found: true, value: root[key] } : { found: false };
}

/** A short readable form of a JSON value for explanations (strings unquoted). */
export function showValue(value: JsonValue): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `[${value.map(showValue).join(', ')}]`;
  if (typeof value === 'object') {
    const text = JSON.stringify(value);
    return text.length > 60 ? `${text.slice(0, 59)}…` : text;
  }
  return String(value);
}

/** The comparable scalars of a device value (itself, or an array's elements), or undefined if unsupported. */
function comparables(value: JsonValue): Scalar[] | undefined {
  if (isScalar(value)) return [value];
  if (Array.isArray(value) && value.every(isScalar)) return value;
  return undefined;
}

/** The single numeric operand of Gt/Lt, or undefined when `values` is not exactly one number. */
function numericOperand(values: JsonValue[] | undefined): number | undefined {
  if (!Array.isArray(values) || values.length !== 1) return undefined;
  const [v] = values;
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && NUMERIC_TEXT.test(v.trim())) return Number(v);
  return undefined;
}

/** A compact form of an expression, used inside item-selector explanations (`/type In [gpu]`). */
export function describeExpression(e: MatchExpression): string {
  switch (e.operator) {
    case 'In':
    case 'NotIn':
      return `${e.key} ${e.operator} ${showValue(e.values ?? [])}`;
    case 'Exists':
      return `${e.key} exists`;
    case 'DoesNotExist':
      return `${e.key} does not exist`;
    case 'Gt':
      return `${e.key} greater than ${showValue(e.values?.[0] ?? null)}`;
    case 'Lt':
      return `${e.key} less than ${showValue(e.values?.[0] ?? null)}`;
    case 'ContainsAll':
    case 'ContainsAny': {
      const joiner = e.operator === 'ContainsAll' ? ' and ' : ' or ';
      const inner = (e.itemSelector?.matchExpressions ?? []).map(describeExpression).join(joiner);
      return `${e.key} contains an element with (${inner})`;
    }
    default:
      return `${String(e.key)} ${String(e.operator)}`;
  }
}

/** What the expression demands, phrased after "must" (`be In [paint]`). */
function requirement(e: MatchExpression): string {
  switch (e.operator) {
    case 'In':
    case 'NotIn':
      return `be ${e.operator} ${showValue(e.values ?? [])}`;
    case 'Exists':
      return 'exist';
    case 'DoesNotExist':
      return 'not exist';
    case 'Gt':
      return `be greater than ${showValue(e.values?.[0] ?? null)}`;
    case 'Lt':
      return `be less than ${showValue(e.values?.[0] ?? null)}`;
    case 'ContainsAll':
    case 'ContainsAny': {
      const joiner = e.operator === 'ContainsAll' ? ' and ' : ' or ';
      const inner = (e.itemSelector?.matchExpressions ?? []).map(describeExpression).join(joiner);
      return `contain an element with ${inner}`;
    }
    default:
      return `match operator ${String(e.operator)}`;
  }
}

const pass: MatchOutcome = { ok: true, reasons: [] };
const fail = (reason: string): MatchOutcome => ({ ok: false, reasons: [reason] });

/** Explains a failed expression: `label k must be In [paint]; device has welding`. */
function mismatch(subject: string, e: MatchExpression, actual: string): MatchOutcome {
  return fail(`${subject} must ${requirement(e)}; ${actual}`);
}

/** In / NotIn. */
function matchMembership(
  e: MatchExpression,
  found: Lookup,
  subject: string,
  kind: SelectorKind,
): MatchOutcome {
  if (!Array.isArray(e.values) || e.values.length === 0) {
    return fail(`${subject}: ${e.operator} needs at least one value`);
  }
  if (!found.found) return mismatch(subject, e, `device has no such ${kind}`);
  const candidates = comparables(found.value);
  const shown = `device has ${showValue(found.value)}`;
  if (candidates === undefined) {
    return mismatch(subject, e, `${shown}, which is not a string, number, boolean or list of them`);
  }
  const values = e.values;
  const hit = candidates.some((c) => values.some((v) => v === c));
  const ok = e.operator === 'In' ? hit : !hit;
  return ok ? pass : mismatch(subject, e, candidates.length === 0 ? 'device has an empty list' : shown);
}

/** Gt / Lt. */
function matchOrder(e: MatchExpression, found: Lookup, subject: string, kind: SelectorKind): MatchOutcome {
  const operand = numericOperand(e.values);
  if (operand === undefined) return fail(`${subject}: ${e.operator} needs exactly one numeric value`);
  if (!found.found) return mismatch(subject, e, `device has no such ${kind}`);
  const value = found.value;
  if (typeof value !== 'number') {
    return mismatch(subject, e, `device has ${showValue(value)}, which is not a number`);
  }
  const ok = e.operator === 'Gt' ? value > operand : value < operand;
  return ok ? pass : mismatch(subject, e, `device has ${value}`);
}

/** ContainsAll / ContainsAny over an array of objects, with element-relative item expressions. */
function matchContains(e: MatchExpression, found: Lookup, subject: string, kind: SelectorKind): MatchOutcome {
  const items = e.itemSelector?.matchExpressions;
  if (!Array.isArray(items) || items.length === 0) {
    return fail(`${subject}: ${e.operator} needs itemSelector.matchExpressions`);
  }
  if (!found.found) return mismatch(subject, e, `device has no such ${kind}`);
  const value = found.value;
  if (!Array.isArray(value) || !value.every(isObject)) {
    return mismatch(subject, e, `device has ${showValue(value)}, which is not a list of objects`);
  }
  const satisfies = (element: JsonObject) =>
    e.operator === 'ContainsAll'
      ? items.every((item) => matchExpression(item, element, 'property').ok)
      : items.some((item) => matchExpression(item, element, 'property').ok);
  if (value.some(satisfies)) return pass;
  const actual =
    value.length === 0 ? 'device has an empty list' : `none of the device's ${value.length} entries does`;
  return mismatch(subject, e, actual);
}

/**
 * Evaluates one match expression against `root` (the device's `properties` for `property`, its `labels`
 * for `label`; an array element for item selectors). Never throws.
 */
export function matchExpression(
  expression: MatchExpression,
  root: JsonValue,
  kind: SelectorKind,
): MatchOutcome {
  const key = typeof expression.key === 'string' ? expression.key : '';
  const subject = `${kind} ${key}`;
  const found = lookup(root, key, kind);
  if (!found.found && found.error) return fail(`${subject} ${found.error}`);
  switch (expression.operator) {
    case 'In':
    case 'NotIn':
      return matchMembership(expression, found, subject, kind);
    case 'Exists':
      return found.found ? pass : mismatch(subject, expression, `device has no such ${kind}`);
    case 'DoesNotExist':
      return found.found ? mismatch(subject, expression, `device has ${showValue(found.value)}`) : pass;
    case 'Gt':
    case 'Lt':
      return matchOrder(expression, found, subject, kind);
    case 'ContainsAll':
    case 'ContainsAny':
      return matchContains(expression, found, subject, kind);
    default:
      return fail(`${subject}: unknown operator ${String(expression.operator)}`);
  }
}

/** AND over a selector's expressions; collects every failing expression's reason. */
function matchSelector(
  selector: { matchExpressions: MatchExpression[] } | undefined,
  root: JsonValue,
  kind: SelectorKind,
): MatchOutcome {
  const reasons = (selector?.matchExpressions ?? []).flatMap((e) => matchExpression(e, root, kind).reasons);
  return { ok: reasons.length === 0, reasons };
}

/** One eligibility rule: propertySelector AND labelSelector (each AND over its expressions). */
export function evaluateRule(rule: EligibilityRule, device: DeviceFacts): MatchOutcome {
  const properties = matchSelector(rule.propertySelector, device.properties, 'property');
  const labels = matchSelector(rule.labelSelector, device.labels, 'label');
  const reasons = [...properties.reasons, ...labels.reasons];
  return { ok: reasons.length === 0, reasons };
}

/**
 * The OR of a profile's eligibility rules (no rules = eligible). Reasons are prefixed `eligibility: ` for a
 * single rule and `eligibility rule 2 of 3: ` when there are several, so every alternative is explained.
 */
export function evaluateRules(rules: EligibilityRule[], device: DeviceFacts): MatchOutcome {
  if (rules.length === 0) return pass;
  const outcomes = rules.map((rule) => evaluateRule(rule, device));
  if (outcomes.some((o) => o.ok)) return pass;
  const prefix = (i: number) =>
    rules.length === 1 ? 'eligibility: ' : `eligibility rule ${i + 1} of ${rules.length}: `;
  return { ok: false, reasons: outcomes.flatMap((o, i) => o.reasons.map((r) => prefix(i) + r)) };
}
