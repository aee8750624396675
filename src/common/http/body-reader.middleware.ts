import { AsyncResource } from 'node:async_hooks';
import type { NextFunction, Request, Response } from 'express';
import { DomainError, InvalidRequestError } from '../problem/domain-error.js';
import { ProblemType } from '../problem/problem-types.js';
import { parseJsonBody } from './json-body.js';

/** The exact bytes the client sent, kept for digest and signature checks (never re-serialised). */
export type RawBodyRequest = Request & { rawBody?: Buffer };

class PayloadTooLargeError extends DomainError {
  constructor(limit: number) {
    super(413, ProblemType.aboutBlank, 'Content Too Large', `The request body exceeds ${limit} bytes`);
  }
}

function isJson(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const type = contentType.split(';')[0].trim().toLowerCase();
  return type === 'application/json' || type.endsWith('+json');
}

/**
 * Replaces Nest's body parser: reads the body once into `req.rawBody` (bounded by `limit`) and parses
 * JSON bodies into `req.body` under the input limits (`parseJsonBody`: depth, NUL, surrogates). Bytes
 * that are not JSON or break a limit → 400 `#invalid-request`; a body over the size limit → 413. Other content types keep only the raw bytes for their own parser.
 */
export function bodyReaderMiddleware(limit: number) {
  return (req: RawBodyRequest, _res: Response, next: NextFunction): void => {
    const declared = req.headers['content-length'];
    const hasBody =
      declared !== undefined ? declared !== '0' : req.headers['transfer-encoding'] !== undefined;
    if (!hasBody) {
      req.rawBody = Buffer.alloc(0);
      next();
      return;
    }
    if (declared !== undefined && Number(declared) > limit) {
      req.resume();
      next(new PayloadTooLargeError(limit));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    // the stream's events run in the socket's async context: `next` is bound to this one, so the
    // request context (request id, acting operator) reaches the handlers
    const nextHere = AsyncResource.bind(next);
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        nextHere(new PayloadTooLargeError(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', (error) => {
      if (failed) return;
      failed = true;
      nextHere(new InvalidRequestError(`The request body could not be read: ${error.message}`));
    });
    req.on('end', () => {
      if (failed) return;
      const raw = Buffer.concat(chunks, size);
      req.rawBody = raw;
      if (isJson(req.headers['content-type']) && raw.length > 0) {
        try {
          req.body = parseJsonBody(raw);
        } catch (error) {
          nextHere(error);
          return;
        }
      }
      nextHere();
    });
  };
}
