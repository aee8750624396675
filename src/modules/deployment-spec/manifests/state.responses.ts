import type { ServerResponse } from 'node:http';
import { ifNoneMatchMatches } from './http-conditions.js';
import {
  BUNDLE_MEDIA_TYPE,
  type DigestDocument,
  MANIFEST_MEDIA_TYPE,
  type ManifestAnswer,
} from './manifest.service.js';

/** Digest-addressed bytes never change: devices and caches may keep them for good. */
const IMMUTABLE = 'private, max-age=31536000, immutable';

/**
 * The one writer of a manifest poll answer, used by the Nest state controller and the device fast path
 * (device-fast-path.ts) alike: exact bytes, exact Content-Type, ETag, Cache-Control: private (never
 * immutable). A plain Node response, so the fast path needs no Express.
 */
export function sendManifest(res: ServerResponse, answer: ManifestAnswer): void {
  res.setHeader('ETag', answer.etag);
  res.setHeader('Cache-Control', 'private');
  if (answer.status === 304) {
    res.statusCode = 304;
    res.end();
    return;
  }
  res.statusCode = 200;
  res.setHeader('Content-Type', MANIFEST_MEDIA_TYPE);
  res.setHeader('Content-Length', String(answer.body.length));
  res.end(answer.body);
}

/** Picks gzip or br when the client asks for it (q>0); the digest always refers to the decoded bytes. */
function chooseEncoding(acceptEncoding: string | undefined): 'br' | 'gzip' | undefined {
  if (!acceptEncoding) return undefined;
  const offered = new Map<string, number>();
  for (const part of acceptEncoding.split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    offered.set(name.trim(), q ? Number(q.slice(2)) : 1);
  }
  if ((offered.get('br') ?? 0) > 0) return 'br';
  if ((offered.get('gzip') ?? 0) > 0) return 'gzip';
  return undefined;
}

/**
 * Digest-addressed content (YAML, bundle): ETag = quoted digest, immutable caching, optional 304.
 * A plain Node response, so the device fast path needs no Express.
 */
function sendDocument(
  res: ServerResponse,
  doc: DigestDocument,
  contentType: string,
  cacheControl: string,
  ifNoneMatch: string | undefined,
  acceptEncoding: string | undefined,
): 200 | 304 {
  const etag = `"${doc.digest}"`;
  res.setHeader('ETag', etag);
  res.setHeader('Cache-Control', cacheControl);
  if (contentType === 'application/yaml') res.setHeader('Vary', 'Accept-Encoding');
  if (ifNoneMatchMatches(ifNoneMatch, etag)) {
    res.statusCode = 304;
    res.end();
    return 304;
  }
  res.setHeader('Content-Type', contentType);
  const encoding = contentType === 'application/yaml' ? chooseEncoding(acceptEncoding) : undefined;
  const body = doc.encoded(encoding);
  if (encoding) res.setHeader('Content-Encoding', encoding);
  res.setHeader('Content-Length', String(body.length));
  res.statusCode = 200;
  res.end(body);
  return 200;
}

/** One ApplicationDeployment's YAML (gzip or br when asked for). */
export function sendYaml(
  res: ServerResponse,
  doc: DigestDocument,
  ifNoneMatch: string | undefined,
  acceptEncoding: string | undefined,
): 200 | 304 {
  return sendDocument(res, doc, 'application/yaml', IMMUTABLE, ifNoneMatch, acceptEncoding);
}

/** A client's bundle (already gzip: never encoded again). */
export function sendBundle(
  res: ServerResponse,
  doc: DigestDocument,
  ifNoneMatch: string | undefined,
): 200 | 304 {
  return sendDocument(res, doc, BUNDLE_MEDIA_TYPE, IMMUTABLE, ifNoneMatch, undefined);
}
