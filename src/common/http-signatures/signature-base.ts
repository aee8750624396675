import {
  parseDictionary,
  serializeDictionary,
  serializeInnerList,
  serializeItem,
  serializeMember,
  StructuredFieldError,
  type Item,
  type Parameters,
} from './structured-fields.js';

/**
 * RFC 9421 §2.5 signature base for requests: one line `"<component>": <value>` per covered
 * component, then `"@signature-params": <inner list>`, joined with LF (no trailing newline).
 */

/** Looks a header up by its lowercased name; an array means several field lines. */
export type HeaderLookup = (lowercaseName: string) => string | readonly string[] | undefined;

export type HeaderRecord = Record<string, string | readonly string[] | undefined>;

export type SignatureBaseErrorCode =
  | 'invalid-component'
  | 'unknown-component'
  | 'absent-component'
  | 'unsupported-parameter'
  | 'duplicate-component'
  | 'invalid-target-uri'
  | 'invalid-value';

/** Thrown when the signature base cannot be built; `component` names the offending identifier. */
export class SignatureBaseError extends Error {
  override readonly name = 'SignatureBaseError';

  constructor(
    readonly code: SignatureBaseErrorCode,
    readonly component: string,
    message: string,
  ) {
    super(message);
  }
}

export interface SignatureBaseInput {
  /** The request method as sent (e.g. `POST`). */
  method: string;
  /** The full absolute URL as the client addressed it (scheme, authority, path, query). */
  targetUri: string;
  headers: HeaderLookup;
  /** The covered component identifiers: sf-string items with their parameters, in order. */
  components: readonly Item[];
  /** The serialised `@signature-params` value (the inner list with the signature parameters). */
  signatureParams: string;
}

/** Fields that are Dictionaries, so the `sf` and `key` component parameters can re-serialise them. */
const DICTIONARY_FIELDS = new Set([
  'accept-signature',
  'content-digest',
  'repr-digest',
  'signature',
  'signature-input',
  'want-content-digest',
  'want-repr-digest',
]);

const DERIVED_COMPONENTS = new Set([
  '@method',
  '@target-uri',
  '@authority',
  '@scheme',
  '@path',
  '@query',
  '@request-target',
]);

/** A {@link HeaderLookup} over a plain record; keys are matched case-insensitively. */
export function headerLookupFrom(headers: HeaderRecord): HeaderLookup {
  const lowered = new Map<string, string | readonly string[]>();
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const key = name.toLowerCase();
    const previous = lowered.get(key);
    lowered.set(key, previous === undefined ? value : [...asLines(previous), ...asLines(value)]);
  }
  return (name) => lowered.get(name);
}

function asLines(value: string | readonly string[]): readonly string[] {
  return typeof value === 'string' ? [value] : value;
}

/** The `@signature-params` value for these components and signature parameters. */
export function signatureParamsValue(components: readonly Item[], params: Parameters): string {
  return serializeInnerList(components, params);
}

/** Builds the signature base. Throws {@link SignatureBaseError} for unknown or absent components. */
export function buildSignatureBase(input: SignatureBaseInput): string {
  const url = parseTargetUri(input.targetUri);
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const component of input.components) {
    const identifier = serializeComponentIdentifier(component);
    if (seen.has(identifier)) {
      throw new SignatureBaseError(
        'duplicate-component',
        identifier,
        `component ${identifier} is covered twice`,
      );
    }
    seen.add(identifier);
    const value = componentValue(component, input, url);
    if (/[\r\n]/.test(value)) {
      throw new SignatureBaseError(
        'invalid-value',
        identifier,
        `component ${identifier} contains a line break`,
      );
    }
    lines.push(`${identifier}: ${value}`);
  }
  lines.push(`"@signature-params": ${input.signatureParams}`);
  return lines.join('\n');
}

function serializeComponentIdentifier(component: Item): string {
  if (component.value.type !== 'string') {
    throw new SignatureBaseError(
      'invalid-component',
      String(component.value.value),
      'component identifiers must be strings',
    );
  }
  try {
    return serializeItem(component);
  } catch {
    throw new SignatureBaseError(
      'invalid-component',
      component.value.value,
      'component identifier is not serialisable',
    );
  }
}

function parseTargetUri(targetUri: string): URL {
  try {
    return new URL(targetUri);
  } catch {
    throw new SignatureBaseError(
      'invalid-target-uri',
      '@target-uri',
      `target URI '${targetUri}' is not absolute`,
    );
  }
}

/** The value of one covered component (RFC 9421 §2.1 for fields, §2.2 for derived components). */
function componentValue(component: Item, input: SignatureBaseInput, url: URL): string {
  const name = component.value.type === 'string' ? component.value.value : '';
  if (name.startsWith('@')) {
    if (!DERIVED_COMPONENTS.has(name)) {
      throw new SignatureBaseError('unknown-component', name, `derived component ${name} is not supported`);
    }
    rejectParameters(name, component.params, []);
    return derivedValue(name, input, url);
  }
  return fieldValue(name, component.params, input.headers);
}

function derivedValue(name: string, input: SignatureBaseInput, url: URL): string {
  switch (name) {
    case '@method':
      return input.method;
    case '@target-uri':
      return input.targetUri;
    case '@authority':
      return url.host.toLowerCase();
    case '@scheme':
      return url.protocol.slice(0, -1).toLowerCase();
    case '@path':
      return url.pathname === '' ? '/' : url.pathname;
    case '@query':
      return url.search === '' ? '?' : url.search;
    case '@request-target':
      return (url.pathname === '' ? '/' : url.pathname) + url.search;
    default:
      throw new SignatureBaseError('unknown-component', name, `derived component ${name} is not supported`);
  }
}

function rejectParameters(name: string, params: Parameters, allowed: readonly string[]): void {
  for (const key of params.keys()) {
    if (!allowed.includes(key)) {
      throw new SignatureBaseError(
        'unsupported-parameter',
        name,
        `component parameter '${key}' is not supported on ${name}`,
      );
    }
  }
}

/** A header field's value; `sf`, `key` and `bs` parameters are honoured for the fields that allow them. */
function fieldValue(name: string, params: Parameters, headers: HeaderLookup): string {
  if (name === '') throw new SignatureBaseError('invalid-component', name, 'empty component name');
  rejectParameters(name, params, ['sf', 'key', 'bs']);
  const fieldName = name.toLowerCase();
  const raw = headers(fieldName);
  if (raw === undefined) {
    throw new SignatureBaseError('absent-component', name, `header ${fieldName} is covered but absent`);
  }
  const lines = asLines(raw).map((line) => line.replace(/\r?\n[ \t]+/g, ' ').trim());
  if (params.has('bs')) {
    if (params.has('sf') || params.has('key')) {
      throw new SignatureBaseError(
        'unsupported-parameter',
        name,
        `'bs' cannot be combined with 'sf' or 'key'`,
      );
    }
    return lines.map((line) => `:${Buffer.from(line, 'latin1').toString('base64')}:`).join(', ');
  }
  const combined = lines.join(', ');
  if (!params.has('sf') && !params.has('key')) return combined;
  return structuredFieldValue(name, fieldName, combined, params);
}

function structuredFieldValue(name: string, fieldName: string, combined: string, params: Parameters): string {
  if (!DICTIONARY_FIELDS.has(fieldName)) {
    throw new SignatureBaseError(
      'unsupported-parameter',
      name,
      `structured type of header ${fieldName} is unknown`,
    );
  }
  let dictionary;
  try {
    dictionary = parseDictionary(combined);
  } catch (error) {
    const detail = error instanceof StructuredFieldError ? error.message : String(error);
    throw new SignatureBaseError(
      'invalid-value',
      name,
      `header ${fieldName} is not a valid dictionary: ${detail}`,
    );
  }
  const key = params.get('key');
  if (key === undefined) return serializeDictionary(dictionary);
  if (key.type !== 'string') {
    throw new SignatureBaseError(
      'unsupported-parameter',
      name,
      `'key' parameter of ${name} must be a string`,
    );
  }
  const member = dictionary.get(key.value);
  if (member === undefined) {
    throw new SignatureBaseError(
      'absent-component',
      name,
      `header ${fieldName} has no member '${key.value}'`,
    );
  }
  return serializeMember(member);
}
