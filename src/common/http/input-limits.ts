import { escapePointer } from '../json/json-reader.js';
import type { FieldError } from '../problem/problem-types.js';

/**
 * Input limits every request passes before any handler sees it (docs/decisions.md, "Input limits").
 * Pure functions: the body reader and the request-target check call them; unit specs cover them.
 */

/** Deepest nesting of objects/arrays accepted in a JSON body (the root object is level 1). */
export const MAX_JSON_DEPTH = 64;

/** Longest DeviceId (all segments with their `/` separators), and the longest client id. */
export const MAX_ID_LENGTH = 255;

/** The largest value of a PostgreSQL bigint (2^63 − 1), the ceiling of every integer we store. */
export const MAX_BIGINT = 9_223_372_036_854_775_807n;

/** The DeviceId pattern of the specification (RFC 3986 unreserved characters, `/` between segments). */
const DEVICE_ID_PATTERN = /^[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/;

/** A DeviceId: the specification's pattern, at most MAX_ID_LENGTH characters. */
export function isDeviceId(value: unknown): boolean {
  return typeof value === 'string' && value.length <= MAX_ID_LENGTH && DEVICE_ID_PATTERN.test(value);
}

export const DEVICE_ID_RULE = `must match ^[A-Za-z0-9._~-]+(/[A-Za-z0-9._~-]+)*$ and be at most ${MAX_ID_LENGTH} characters`;

/**
 * The nesting depth of a JSON text, counted in one linear pass over its characters (brackets inside
 * strings do not count), so that it can be checked before JSON.parse or any recursive walk.
 * Stops counting as soon as `limit` is exceeded and returns limit + 1.
 */
export function jsonDepth(text: string, limit = Number.POSITIVE_INFINITY): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) {
        i += 1;
      } // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth += 1;
      if (depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 0x7d || c === 0x5d) depth -= 1;
  }
  return max;
}

/** Why a string cannot be stored (PostgreSQL text holds neither NUL nor unpaired UTF-16 surrogates). */
export function badStringReason(value: string): string | undefined {
  for (let i = 0; i < value.length; i += 1) {
    const c = value.charCodeAt(i);
    if (c === 0) return 'must not contain NUL (U+0000)';
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = i + 1 < value.length ? value.charCodeAt(i + 1) : 0;
      if (next >= 0xdc00 && next <= 0xdfff) {
        i += 1;
        continue;
      }
      return 'must not contain an unpaired surrogate (not valid Unicode)';
    }
    if (c >= 0xdc00 && c <= 0xdfff) return 'must not contain an unpaired surrogate (not valid Unicode)';
  }
  return undefined;
}

/**
 * Every string (value or key) of a parsed JSON value that cannot be stored, as field errors with
 * JSON pointers. Iterative (an explicit stack), so deep input cannot overflow the call stack; stops
 * after `maxErrors`.
 */
export function badStrings(root: unknown, maxErrors = 10): FieldError[] {
  const errors: FieldError[] = [];
  const stack: { value: unknown; pointer: string }[] = [{ value: root, pointer: '' }];
  while (stack.length > 0 && errors.length < maxErrors) {
    const { value, pointer } = stack.pop()!;
    if (typeof value === 'string') {
      const reason = badStringReason(value);
      if (reason) errors.push({ field: pointer, message: reason });
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i -= 1) {
        stack.push({ value: value[i], pointer: `${pointer}/${i}` });
      }
    } else if (value !== null && typeof value === 'object') {
      const keys = Object.keys(value);
      for (let i = keys.length - 1; i >= 0; i -= 1) {
        const key = keys[i];
        const at = `${pointer}/${escapePointer(key)}`;
        const reason = badStringReason(key);
        if (reason) errors.push({ field: at, message: `the member name ${reason}` });
        else stack.push({ value: (value as Record<string, unknown>)[key], pointer: at });
      }
    }
  }
  return errors;
}

/** Why a decoded path segment or query value cannot be used, or undefined when it can. */
export function badTargetPart(raw: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return 'is not valid percent-encoded UTF-8';
  }
  return badStringReason(decoded);
}
