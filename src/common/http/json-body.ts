import { InvalidRequestError } from '../problem/domain-error.js';
import type { RawBodyRequest } from './body-reader.middleware.js';
import { badStrings, jsonDepth, MAX_JSON_DEPTH } from './input-limits.js';

/**
 * Parses a JSON request body under the input limits (docs/decisions.md, "Input limits"): nesting
 * deeper than MAX_JSON_DEPTH is refused by a linear scan before JSON.parse (so no recursive code ever
 * sees it), and strings or member names with NUL or unpaired surrogates are refused with a JSON
 * pointer to each. Both → 400 `#invalid-request`.
 */
export function parseJsonBody(raw: Buffer): unknown {
  const text = raw.toString('utf8');
  if (jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
    throw new InvalidRequestError(`The request body is nested deeper than ${MAX_JSON_DEPTH} levels`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (error) {
    throw new InvalidRequestError(
      `The request body is not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const errors = badStrings(value);
  if (errors.length > 0) {
    throw new InvalidRequestError(
      `The request body has a string that cannot be stored: ${errors[0].field || '/'} ${errors[0].message}`,
      errors,
    );
  }
  return value;
}

/**
 * The request's JSON body: parsed by the body reader for JSON content types; other or missing
 * content types are parsed from the raw bytes too (devices are not always careful with headers),
 * under the same limits. Undefined when there is no body.
 */
export function jsonBody(req: RawBodyRequest): unknown {
  if (req.body !== undefined) return req.body as unknown;
  if (!req.rawBody || req.rawBody.length === 0) return undefined;
  return parseJsonBody(req.rawBody);
}
