import { InvalidRequestError } from '../problem/domain-error.js';
import type { RawBodyRequest } from './body-reader.middleware.js';

/**
 * The request's JSON body: parsed by the body reader for JSON content types; other or missing
 * content types are parsed from the raw bytes too (devices are not always careful with headers).
 * Undefined when there is no body.
 */
export function jsonBody(req: RawBodyRequest): unknown {
  if (req.body !== undefined) return req.body as unknown;
  if (!req.rawBody || req.rawBody.length === 0) return undefined;
  try {
    return JSON.parse(req.rawBody.toString('utf8')) as unknown;
  } catch (error) {
    throw new InvalidRequestError(
      `The request body is not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}
