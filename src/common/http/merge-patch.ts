import { isObject } from '../json/json-reader.js';

/** A JSON value as JSON.parse makes it. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * JSON Merge Patch (RFC 7396, section 2): members of an object patch merge into the target
 * recursively, a member set to `null` is removed, members left out stay; a patch that is not an
 * object (arrays included) replaces the target. Pure: neither argument is changed.
 */
export function mergePatch(target: unknown, patch: unknown): Json {
  if (!isObject<Json>(patch)) return patch as Json;
  const result: Record<string, Json> = isObject<Json>(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}
