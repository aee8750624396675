import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { NextFunction, Request, Response } from 'express';

/** Who is acting in an operator request (set by the operator guard; read by the audit log). */
export interface RequestActor {
  /** How it signed in. */
  kind: 'bootstrap' | 'token' | 'oidc';
  /** A created token's id, or the OIDC subject. */
  id?: string;
  name: string;
}

interface RequestContext {
  requestId: string;
  actor?: RequestActor;
  /** The caller's address (behind a trusted proxy: the one it forwarded). */
  sourceAddress?: string;
  /** Ids of events appended in this request's transactions, announced once the handler is done. */
  appendedEventIds?: bigint[];
}

const storage = new AsyncLocalStorage<RequestContext>();
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The id of the request being served, if any (log lines and job payloads carry it). */
export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}

/** The operator acting in this request, and its address, once the operator guard has run. */
export function currentActor(): { actor?: RequestActor; sourceAddress?: string } {
  const store = storage.getStore();
  return { actor: store?.actor, sourceAddress: store?.sourceAddress };
}

/** Called by the operator guard: who the caller is, for everything written while serving the request. */
export function setRequestActor(actor: RequestActor, sourceAddress: string): void {
  const store = storage.getStore();
  if (!store) return;
  store.actor = actor;
  store.sourceAddress = sourceAddress;
}

/** Remembers an event id appended inside this request's transaction (see takeAppendedEventIds). */
export function noteAppendedEvent(id: bigint): void {
  const store = storage.getStore();
  if (store) (store.appendedEventIds ??= []).push(id);
}

/** The event ids noted so far, forgetting them. */
export function takeAppendedEventIds(): bigint[] {
  const store = storage.getStore();
  const ids = store?.appendedEventIds ?? [];
  if (store) store.appendedEventIds = undefined;
  return ids;
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
