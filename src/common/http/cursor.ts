import { SemanticError } from '../problem/domain-error.js';

/** An opaque keyset-pagination cursor: the last row's key (two strings) as base64url JSON. */
export function encodeCursor(key: readonly [string, string]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/**
 * The key of a cursor made by `encodeCursor`, when it is two strings that pass the caller's check;
 * anything else is a 422 pointing at `after`.
 */
export function decodeCursor(value: string, valid: (key: [string, string]) => boolean): [string, string] {
  try {
    const key = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as unknown;
    if (
      Array.isArray(key) &&
      key.length === 2 &&
      typeof key[0] === 'string' &&
      typeof key[1] === 'string' &&
      valid(key as [string, string])
    ) {
      return key as [string, string];
    }
  } catch {
    // not base64url JSON: answered below
  }
  throw new SemanticError('Invalid cursor', [
    { field: '/after', message: 'must be the `next` value of a previous page' },
  ]);
}
