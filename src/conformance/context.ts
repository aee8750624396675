import type { IncomingHttpHeaders } from 'node:http';
import type { RawResponse } from '../client/transport.js';
import type { Json } from './scenario.js';

/** A response as the checks see it: status, headers, exact bytes, and the body parsed when it is JSON. */
export interface ResponseView {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
  /** `undefined` when the body is empty or not JSON. */
  json: unknown;
}

export function viewOf(res: RawResponse): ResponseView {
  let json: unknown;
  try {
    json = res.body.length > 0 ? res.json() : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, body: res.body, text: res.text(), json };
}

/** A response header by name, case-insensitively; repeated fields are joined with ", ". */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const wanted = name.toLowerCase();
  const key = Object.keys(headers).find((k) => k.toLowerCase() === wanted);
  const value = key === undefined ? undefined : headers[key];
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * Reads a field: `_headers.<Name>` (case-insensitive), `_body` (the raw text), or a dotted path into
 * the JSON body where numeric segments index arrays (`deployments.0.digest`).
 */
export function lookupField(res: ResponseView, field: string): unknown {
  if (field === '_body') return res.text;
  const parts = field.split('.');
  if (parts[0] === '_headers') return headerValue(res.headers, parts.slice(1).join('.'));
  let current: unknown = res.json;
  for (const part of parts) {
    if (Array.isArray(current) && /^\d+$/.test(part)) current = current[Number(part)];
    else if (typeof current === 'object' && current !== null && !Array.isArray(current)) {
      current = (current as Record<string, unknown>)[part];
    } else return undefined;
  }
  return current;
}

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Placeholder names used in a string or, recursively, in the string values of a JSON value. */
export function placeholdersIn(value: Json | undefined, into = new Set<string>()): Set<string> {
  if (typeof value === 'string') for (const m of value.matchAll(PLACEHOLDER)) into.add(m[1]);
  else if (Array.isArray(value)) for (const item of value) placeholdersIn(item, into);
  else if (value !== null && typeof value === 'object') {
    for (const item of Object.values(value)) placeholdersIn(item, into);
  }
  return into;
}

/** Replaces `{name}` in strings (recursively); names without a value stay as written. */
export function substitute<T extends Json>(value: T, values: ReadonlyMap<string, string>): T {
  if (typeof value === 'string') {
    return value.replace(PLACEHOLDER, (whole, name: string) => values.get(name) ?? whole) as T;
  }
  if (Array.isArray(value)) return value.map((item) => substitute(item, values)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, values)])) as T;
  }
  return value;
}

/** Which step declared a context name, and how that step ended. */
export interface Provider {
  stepId: string;
  outcome: 'PASS' | 'FAIL' | 'DEVIATION' | 'NOT-YET';
}

/**
 * The per-scenario context: values extracted by `extract_context`, and for every name a step
 * declared, that step and its outcome (to tell "not built yet" from "failed" from "legitimately
 * absent" when a later step needs the value).
 */
export class ScenarioContext {
  readonly values = new Map<string, string>();
  private readonly providers = new Map<string, Provider>();

  /** Copies the extractable fields of `res` into the context; returns the names that got a value. */
  extract(res: ResponseView, extractors: Record<string, string>): string[] {
    const found: string[] = [];
    for (const [name, field] of Object.entries(extractors)) {
      const value = lookupField(res, field);
      if (value === undefined || value === null) continue;
      this.values.set(name, typeof value === 'string' ? value : JSON.stringify(value));
      found.push(name);
    }
    return found;
  }

  /** Records the outcome of a step for every name it declares in `extract_context`. */
  declare(extractors: Record<string, string>, provider: Provider): void {
    for (const name of Object.keys(extractors)) this.providers.set(name, provider);
  }

  provider(name: string): Provider | undefined {
    return this.providers.get(name);
  }
}

/**
 * Values for names an earlier step should have extracted but legitimately did not (a manifest
 * with no deployments has no `deployments.0.digest`): well-formed identifiers that exist nowhere,
 * so the WFM answers 404 (or D12's orphan 200) rather than a routing error on an empty segment.
 */
export function fallbackValue(name: string): string | undefined {
  if (/digest$/i.test(name)) return `sha256:${'0'.repeat(64)}`;
  if (/id$/i.test(name)) return `ctt-no-such-${name.replace(/id$/i, '').toLowerCase() || 'id'}`;
  return undefined;
}
