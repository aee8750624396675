import { Collector, isObject, pointerTo } from '../../common/json/json-reader.js';
import type { FieldError } from '../../common/problem/problem-types.js';
import { isLabelValue, LABEL_VALUE_RULE, type LabelValue } from './capabilities.parser.js';

/**
 * Operator-set labels: their rules (the device-label value rule plus bounds) and the edits PUT,
 * PATCH and the bulk call make. Pure. docs/decisions.md, "Operator labels".
 */
export const OPERATOR_LABEL_LIMITS = {
  /** Operator labels on one device at most. */
  perDevice: 64,
  /** Characters of a key at most. */
  keyLength: 255,
  /** Characters of a string value (or of each string of an array) at most. */
  valueLength: 1024,
  /** Items of an array value at most. */
  arrayItems: 64,
  /** Devices one bulk call may change at most. */
  bulkDevices: 1000,
} as const;

/** A key: 1–255 characters, no `=` (so that `?label=key=value` can filter it), no control characters. */
function keyProblem(key: string): string | undefined {
  if (key.length === 0) return 'a label key must not be empty';
  if (key.length > OPERATOR_LABEL_LIMITS.keyLength) {
    return `a label key has at most ${OPERATOR_LABEL_LIMITS.keyLength} characters`;
  }
  if (key.includes('=')) return 'a label key must not contain = (the device list filters by key=value)';
  for (let i = 0; i < key.length; i += 1) {
    const c = key.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return 'a label key must not contain control characters';
  }
  return undefined;
}

function valueProblem(value: unknown): string | undefined {
  if (!isLabelValue(value)) return LABEL_VALUE_RULE;
  const { valueLength, arrayItems } = OPERATOR_LABEL_LIMITS;
  if (typeof value === 'string' && value.length > valueLength) {
    return `a string value has at most ${valueLength} characters`;
  }
  if (Array.isArray(value)) {
    if (value.length > arrayItems) return `an array value has at most ${arrayItems} items`;
    if (value.some((v) => typeof v === 'string' && v.length > valueLength)) {
      return `each string of an array value has at most ${valueLength} characters`;
    }
  }
  return undefined;
}

/**
 * Reads an object of labels at `at` (`''`: the whole body). With `removals`, `null` is allowed and
 * means "remove this key" (JSON Merge Patch). Every problem is reported with its pointer.
 */
export function readLabelMap(
  c: Collector,
  value: unknown,
  at: string,
  removals: boolean,
): Record<string, LabelValue | null> {
  if (!isObject(value)) {
    c.add(at, 'must be an object of label keys and values');
    return {};
  }
  const out: Record<string, LabelValue | null> = {};
  for (const [key, v] of Object.entries(value)) {
    const field = pointerTo(at, key);
    const problem = keyProblem(key) ?? (removals && v === null ? undefined : valueProblem(v));
    if (problem) c.add(field, problem);
    else out[key] = v as LabelValue | null;
  }
  return out;
}

/** Reads the keys to remove at `at` (an array of keys). */
export function readLabelKeys(c: Collector, value: unknown, at: string): string[] {
  if (!Array.isArray(value)) {
    c.add(at, 'must be an array of label keys');
    return [];
  }
  const out: string[] = [];
  value.forEach((key, i) => {
    const problem = typeof key === 'string' ? keyProblem(key) : 'must be a label key (a string)';
    if (problem) c.add(pointerTo(at, i), problem);
    else out.push(key as string);
  });
  return out;
}

export type LabelMap = Record<string, LabelValue>;

/** What a change does to one device's operator labels. */
export type LabelEdit =
  /** PUT: the new operator set. */
  | { kind: 'replace'; labels: LabelMap }
  /** PATCH and bulk: set these, remove those (`null` in a patch is a removal). */
  | { kind: 'merge'; set: LabelMap; remove: string[] };

export function applyEdit(current: LabelMap, edit: LabelEdit): LabelMap {
  if (edit.kind === 'replace') return { ...edit.labels };
  const next: LabelMap = { ...current };
  for (const key of edit.remove) delete next[key];
  Object.assign(next, edit.set);
  return next;
}

/** The JSON Merge Patch body of PATCH as an edit (`null` removes a key). */
export function patchEdit(patch: Record<string, LabelValue | null>): LabelEdit {
  const set: LabelMap = {};
  const remove: string[] = [];
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) remove.push(key);
    else set[key] = value;
  }
  return { kind: 'merge', set, remove };
}

/** The problem when `labels` is over the per-device bound, for the member at `at`. */
export function tooMany(labels: LabelMap, at: string): FieldError | undefined {
  const n = Object.keys(labels).length;
  if (n <= OPERATOR_LABEL_LIMITS.perDevice) return undefined;
  return {
    field: at,
    message: `a device has at most ${OPERATOR_LABEL_LIMITS.perDevice} operator labels (this change leaves ${n})`,
  };
}
