import { sha256Digest } from '../client/digest.js';
import { BUNDLE_MEDIA_TYPE } from '../client/margo-client.js';
import { headerValue, lookupField, type ResponseView, substitute } from './context.js';
import type { Json, Validation } from './scenario.js';

/**
 * The scenario format's validation operations. Each check answers `undefined` when it holds and a
 * short message otherwise. `value` placeholders are filled from the context (except for regular
 * expressions, whose `{64}` quantifiers are not placeholders).
 */
export function checkValidation(
  res: ResponseView,
  validation: Validation,
  context: ReadonlyMap<string, string>,
): string | undefined {
  const field = validation.field;
  const actual = field === undefined ? undefined : lookupField(res, field);
  const label = field ?? '(response)';
  const expected: Json | undefined =
    validation.value === undefined ? undefined : substitute(validation.value, context);
  const shown = (v: unknown) => (v === undefined ? 'nothing' : JSON.stringify(v));

  switch (validation.operation) {
    case 'exists':
      return actual !== undefined && actual !== null ? undefined : `${label} is missing`;
    case 'is_string':
      return typeof actual === 'string' ? undefined : `${label} is not a string (${shown(actual)})`;
    case 'is_number':
      return typeof actual === 'number' ? undefined : `${label} is not a number (${shown(actual)})`;
    case 'is_array':
      return Array.isArray(actual) ? undefined : `${label} is not an array (${shown(actual)})`;
    case 'not_empty':
      return isEmpty(actual) ? `${label} is empty` : undefined;
    case 'equals':
      return sameValue(actual, expected)
        ? undefined
        : `${label} is ${shown(actual)}, expected ${shown(expected)}`;
    case 'contains':
      return contains(actual, expected)
        ? undefined
        : `${label} (${shown(actual)}) does not contain ${shown(expected)}`;
    case 'not_contains':
      return contains(actual, expected)
        ? `${label} (${shown(actual)}) contains ${shown(expected)}`
        : undefined;
    case 'matches_regex': {
      if (typeof validation.value !== 'string') return `${label}: matches_regex needs a string pattern`;
      let pattern: RegExp;
      try {
        pattern = new RegExp(validation.value);
      } catch {
        return `${label}: invalid pattern ${validation.value}`;
      }
      return typeof actual === 'string' && pattern.test(actual)
        ? undefined
        : `${label} (${shown(actual)}) does not match ${validation.value}`;
    }
    case 'body_sha256_equals': {
      if (typeof expected !== 'string' || expected === '') return 'body_sha256_equals needs a digest value';
      const want = expected.startsWith('sha256:')
        ? expected.toLowerCase()
        : `sha256:${expected.toLowerCase()}`;
      const got = sha256Digest(res.body);
      return got === want ? undefined : `the body hashes to ${got}, expected ${want}`;
    }
    case 'array_length_gte': {
      const min = Number(expected);
      if (!Number.isFinite(min)) return `${label}: array_length_gte needs a number`;
      if (!Array.isArray(actual)) return `${label} is not an array (${shown(actual)})`;
      return actual.length >= min
        ? undefined
        : `${label} has ${actual.length} item(s), expected at least ${min}`;
    }
    case 'bundle_media_type': {
      // The manifest's bundle (present once a deployment exists) has the bundle media type (spec §7, MI-031).
      const mediaType = lookupField(res, field ?? 'bundle.mediaType');
      return mediaType === BUNDLE_MEDIA_TYPE
        ? undefined
        : `${field ?? 'bundle.mediaType'} is ${shown(mediaType)}, expected ${JSON.stringify(BUNDLE_MEDIA_TYPE)}`;
    }
    case 'etag_is_body_digest': {
      const etag = headerValue(res.headers, 'etag');
      const want = `"${sha256Digest(res.body)}"`;
      return etag === want ? undefined : `the ETag ${shown(etag)} is not ${want}, the sha256 of the body`;
    }
    default:
      return `unsupported validation operation ${JSON.stringify(validation.operation)}`;
  }
}

function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (typeof value === 'string' || Array.isArray(value)) return value.length === 0;
  if (typeof value === 'object') return Object.keys(value).length === 0;
  return false;
}

function sameValue(actual: unknown, expected: Json | undefined): boolean {
  if (actual === expected) return true;
  return typeof actual === 'object' && actual !== null && JSON.stringify(actual) === JSON.stringify(expected);
}

function contains(actual: unknown, expected: Json | undefined): boolean {
  if (expected === undefined) return false;
  if (Array.isArray(actual)) return actual.some((item) => sameValue(item, expected));
  if (typeof actual !== 'string') return false;
  return actual.includes(typeof expected === 'string' ? expected : JSON.stringify(expected));
}
