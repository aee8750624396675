import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { NextFunction, Request, Response } from 'express';

interface RequestContext {
  requestId: string;
}

const storage = new AsyncLocalStorage<RequestContext>();
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The id of the request being served, if any (log lines and job payloads carry it). */
export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}

export function requestIdOf(res: Response): string | undefined {
  return (res.locals as { requestId?: string }).requestId;
}

/**
 * The one source of request ids: the caller's `x-request-id` when it is a sane token, else a new one
 * (used by the middleware below and by the poll fast path, which bypasses it).
 */
export function requestIdOfHeaders(headers: IncomingHttpHeaders): string {
  const incoming = headers['x-request-id'];
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/**
 * Takes the request id (`requestIdOfHeaders`), echoes it in the response and makes it available to
 * every log line written while serving the request.
 */
export function requestIdMiddleware(req: Request, res: Response, next: NextFunction): void {
  const requestId = requestIdOfHeaders(req.headers);
  (res.locals as { requestId?: string }).requestId = requestId;
  res.setHeader('X-Request-Id', requestId);
  storage.run({ requestId }, next);
}
