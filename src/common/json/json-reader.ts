import type { FieldError } from './field-error.js';

/**
 * A small toolkit for reading parsed JSON bodies by hand and reporting what is wrong with them as
 * `errors[]` entries whose `field` is an RFC 6901 JSON pointer into the body. Used by the parsers of
 * device reports (capabilities, status) and by the common input checks. Pure.
 */

/** A JSON object as JSON.parse makes it (member values still to be checked). */
export type JsonObject = Record<string, unknown>;

/**
 * Whether `value` is a plain JSON object (not null, not an array). The member type is the caller's
 * promise (e.g. `Json` for a value that came from JSON.parse); it defaults to `unknown`.
 */
export function isObject<T = unknown>(value: unknown): value is Record<string, T> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** One RFC 6901 reference token: `~` → `~0`, `/` → `~1`. */
export function escapePointer(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** The pointer to a member or an item below `at` (`''` is the whole document). */
export function pointerTo(at: string, token: string | number): string {
  return `${at}/${typeof token === 'number' ? token : escapePointer(token)}`;
}

/** Margo's extension members, `x-<name>-extensions`, which readers keep instead of refusing. */
export const EXTENSION_KEY = /^x-[a-z][a-z0-9-]*-extensions$/;

/** Collects field errors while a reader goes on, so one answer lists every problem. */
export class Collector {
  readonly errors: FieldError[] = [];

  add(field: string, message: string): void {
    this.errors.push({ field, message });
  }

  /** Whether nothing was reported. */
  get ok(): boolean {
    return this.errors.length === 0;
  }

  /**
   * Reports every member of `obj` that is not in `known` as "is not a known field", except Margo
   * extension members when `extensions` is true (the default).
   */
  unknownKeys(obj: JsonObject, at: string, known: readonly string[], extensions = true): void {
    for (const key of Object.keys(obj)) {
      if (known.includes(key) || (extensions && EXTENSION_KEY.test(key))) continue;
      this.add(pointerTo(at, key), 'is not a known field');
    }
  }
}
