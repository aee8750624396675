import { sha256Digest } from '../client/digest.js';
import { BUNDLE_MEDIA_TYPE, MANIFEST_MEDIA_TYPE } from '../client/margo-client.js';
import { headerValue, type ResponseView } from './context.js';

/**
 * Rules of the specification checked on every response, whatever the scenario says (margo-clients
 * §7): RFC 9457 errors, the manifest's ETag and caching, and the exact bytes, ETag, caching and
 * media types of digest-addressed content. Each answers a list of broken rules (empty = fine).
 */

export const PROBLEM_MEDIA_TYPE = 'application/problem+json';
export const YAML_MEDIA_TYPE = 'application/yaml';
const IMMUTABLE_CACHE_CONTROL = ['private', 'max-age=31536000', 'immutable'];

/** The media type of a Content-Type value, lowercased, without parameters. */
export function mediaTypeOf(res: ResponseView): string | undefined {
  return headerValue(res.headers, 'content-type')?.split(';')[0].trim().toLowerCase();
}

/** An RFC 9457 document: `application/problem+json` with `type`, `title` and `status` = the HTTP status. */
export function problemShape(res: ResponseView): string[] {
  const problems: string[] = [];
  const type = mediaTypeOf(res);
  if (type !== PROBLEM_MEDIA_TYPE) {
    problems.push(`a ${res.status} must be ${PROBLEM_MEDIA_TYPE}, not ${type ?? 'untyped'}`);
  }
  const doc = res.json;
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    problems.push(`the ${res.status} body is not a problem document`);
    return problems;
  }
  const fields = doc as Record<string, unknown>;
  if (typeof fields.type !== 'string') problems.push('the problem has no `type`');
  if (typeof fields.title !== 'string') problems.push('the problem has no `title`');
  if (fields.status !== res.status) {
    problems.push(`the problem's \`status\` is ${JSON.stringify(fields.status)}, not ${res.status}`);
  }
  return problems;
}

type Resource = { kind: 'manifest' } | { kind: 'yaml' | 'bundle'; digest: string };

/** What a GET path addresses, for either profile (`/api/v1/…` or `/api/v1/clients/{id}/…`). */
export function resourceOf(method: string, endpoint: string): Resource | undefined {
  if (method !== 'GET') return undefined;
  const path = endpoint.split('?')[0].replace(/\/+$/, '');
  const rest = /^\/api\/v1\/(?:clients\/[^/]+\/)?(.*)$/.exec(path)?.[1];
  if (rest === undefined) return undefined;
  if (rest === 'deployments') return { kind: 'manifest' };
  const yaml = /^deployments\/[^/]+\/([^/]+)$/.exec(rest);
  if (yaml) return { kind: 'yaml', digest: decodeURIComponent(yaml[1]) };
  const bundle = /^bundles\/([^/]+)$/.exec(rest);
  if (bundle) return { kind: 'bundle', digest: decodeURIComponent(bundle[1]) };
  return undefined;
}

function cacheDirectives(res: ResponseView): string[] {
  return (headerValue(res.headers, 'cache-control') ?? '')
    .split(',')
    .map((d) => d.trim().toLowerCase().replace(/\s+/g, ''))
    .filter((d) => d !== '');
}

export function checkSpecRules(method: string, endpoint: string, res: ResponseView): string[] {
  if (res.status >= 400) return problemShape(res);
  if (res.status !== 200) return [];
  const resource = resourceOf(method, endpoint);
  if (!resource) return [];
  const problems: string[] = [];
  const etag = headerValue(res.headers, 'etag');
  const contentType = headerValue(res.headers, 'content-type');
  const directives = cacheDirectives(res);

  if (resource.kind === 'manifest') {
    const want = `"${sha256Digest(res.body)}"`;
    if (etag !== want) {
      problems.push(`manifest ETag ${etag ?? '(missing)'} is not ${want}, the sha256 of the body`);
    }
    if (contentType !== MANIFEST_MEDIA_TYPE) {
      problems.push(
        `manifest Content-Type ${contentType ?? '(missing)'} is not exactly ${MANIFEST_MEDIA_TYPE}`,
      );
    }
    if (!directives.includes('private')) problems.push('manifest Cache-Control lacks `private`');
    if (directives.includes('immutable')) problems.push('manifest Cache-Control must not be `immutable`');
    return problems;
  }

  const mediaType = resource.kind === 'yaml' ? YAML_MEDIA_TYPE : BUNDLE_MEDIA_TYPE;
  const actual = sha256Digest(res.body);
  if (actual !== resource.digest) {
    problems.push(`the ${resource.kind} bytes hash to ${actual}, not ${resource.digest}`);
  }
  if (etag !== `"${resource.digest}"`) {
    problems.push(
      `${resource.kind} ETag ${etag ?? '(missing)'} is not the quoted digest "${resource.digest}"`,
    );
  }
  const sameDirectives =
    directives.length === IMMUTABLE_CACHE_CONTROL.length &&
    IMMUTABLE_CACHE_CONTROL.every((d) => directives.includes(d));
  if (!sameDirectives) {
    problems.push(
      `${resource.kind} Cache-Control ${headerValue(res.headers, 'cache-control') ?? '(missing)'} is not ${IMMUTABLE_CACHE_CONTROL.join(', ')}`,
    );
  }
  if (contentType !== mediaType) {
    problems.push(`${resource.kind} Content-Type ${contentType ?? '(missing)'} is not exactly ${mediaType}`);
  }
  return problems;
}
