import { HttpException, HttpStatus } from '@nestjs/common';
import type { Request, Response } from 'express';
import { DomainError } from './domain-error.js';
import { type ProblemDocument, ProblemType } from './problem-types.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Retry members per spec doc §3.1: 429/503 exponential with Retry-After, 500 retryable, others not. */
function retryMembers(status: number): Pick<ProblemDocument, 'retryable' | 'backoffStrategy'> {
  if (status === 429 || status === 503 || status === 500) {
    return { retryable: true, backoffStrategy: 'exponential' };
  }
  return { retryable: false, backoffStrategy: 'none' };
}

export function reasonPhrase(status: number): string {
  const name = HttpStatus[status] as string | undefined;
  if (!name) return 'Error';
  return name
    .toLowerCase()
    .split('_')
    .map((w) => (w === 'uri' ? 'URI' : w.charAt(0).toUpperCase() + w.slice(1)))
    .join(' ');
}

/** Errors raised by the body reader (our own and express-style ones carry `status` and `type`). */
interface HttpishError {
  status?: number;
  statusCode?: number;
  type?: string;
  expose?: boolean;
  message?: string;
}

function isHttpish(error: unknown): error is HttpishError {
  if (!error || typeof error !== 'object') return false;
  const status = (error as HttpishError).status ?? (error as HttpishError).statusCode;
  return typeof status === 'number' && status >= 400 && status < 600;
}

/**
 * Prisma's signs of an unreachable or saturated database (no connection, pool or transaction start
 * timed out, connection closed, a conflict that persisted through retries): answered 503 with
 * Retry-After, since the request itself was fine.
 */
const DATABASE_UNAVAILABLE_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2028', 'P2034']);

export function isDatabaseUnavailable(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const e = error as { name?: string; code?: string; message?: string };
  if (e.name === 'PrismaClientKnownRequestError' && e.code && DATABASE_UNAVAILABLE_CODES.has(e.code)) {
    return true;
  }
  if (e.name === 'PrismaClientInitializationError') return true;
  // node-postgres' pool gives up waiting for a free connection with a plain Error (the pool is
  // saturated: every connection is busy for longer than the wait allows)
  if (e.name === 'Error' && /^timeout exceeded when trying to connect$/.test(e.message ?? '')) return true;
  // node-postgres when the connection drops under a statement or a transaction's BEGIN
  if (
    e.name === 'Error' &&
    /^Connection terminated( unexpectedly| due to connection timeout)?$/.test(e.message ?? '')
  ) {
    return true;
  }
  if (e.name === 'DriverAdapterError' || e.name === 'PrismaClientUnknownRequestError') {
    return /ECONNREFUSED|ECONNRESET|Connection terminated|timeout exceeded when trying to connect|Can't reach database/i.test(
      e.message ?? '',
    );
  }
  return false;
}

/**
 * Turns anything thrown into the problem document to send. Unknown errors become a generic 500:
 * their message never reaches the client (the caller logs them with the request id).
 */
export function toProblem(error: unknown, instance: string, requestId?: string): ProblemDocument {
  const base = { instance, ...(requestId ? { requestId } : {}) };

  if (error instanceof DomainError) {
    return {
      type: error.type,
      title: error.title,
      status: error.status,
      detail: error.message,
      ...base,
      ...retryMembers(error.status),
      ...(error.retryAfterSeconds !== undefined ? { retryAfterSeconds: error.retryAfterSeconds } : {}),
      ...error.extensions,
    };
  }

  if (error instanceof HttpException) {
    const status = error.getStatus();
    const response = error.getResponse();
    let detail = error.message;
    const extensions: Record<string, unknown> = {};
    if (typeof response === 'object' && response !== null) {
      const body = response as Record<string, unknown>;
      if (typeof body.message === 'string') detail = body.message;
      else if (Array.isArray(body.message)) detail = body.message.join('; ');
      // terminus puts the per-dependency result here
      for (const key of ['info', 'error', 'details']) {
        if (body[key] !== null && typeof body[key] === 'object') extensions[key] = body[key];
      }
      const down = Object.keys((body.error as Record<string, unknown> | undefined) ?? {});
      if (status === 503 && down.length > 0) detail = `Not ready: ${down.join(' and ')} unavailable`;
    }
    if (status === 404 && /^Cannot [A-Z]+ /.test(detail)) {
      detail = `No route for ${detail.replace(/^Cannot /, '')}`;
    }
    return {
      type: ProblemType.aboutBlank,
      title: reasonPhrase(status),
      status,
      detail,
      ...base,
      ...retryMembers(status),
      ...(status === 429 || status === 503 ? { retryAfterSeconds: 5 } : {}),
      ...extensions,
    };
  }

  if (isDatabaseUnavailable(error)) {
    return {
      type: ProblemType.aboutBlank,
      title: 'Service Unavailable',
      status: 503,
      detail: 'The database is unavailable or overloaded; retry later',
      ...base,
      ...retryMembers(503),
      retryAfterSeconds: 5,
    };
  }

  if (isHttpish(error)) {
    const status = error.status ?? error.statusCode ?? 500;
    if (status < 500) {
      const tooLarge = status === 413;
      return {
        type: tooLarge ? ProblemType.aboutBlank : ProblemType.invalidRequest,
        title: tooLarge ? reasonPhrase(413) : 'Invalid request',
        status,
        detail: error.expose === false ? reasonPhrase(status) : (error.message ?? reasonPhrase(status)),
        ...base,
        ...retryMembers(status),
      };
    }
  }

  return {
    type: ProblemType.aboutBlank,
    title: 'Internal Server Error',
    status: 500,
    detail: 'An unexpected error occurred; it has been logged with the request id.',
    ...base,
    ...retryMembers(500),
    retryAfterSeconds: 5,
  };
}

/** Writes a problem document; the only place that sends error responses. */
export function sendProblem(res: Response, problem: ProblemDocument): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (problem.retryAfterSeconds !== undefined) {
    res.setHeader('Retry-After', String(problem.retryAfterSeconds));
  }
  res.removeHeader('ETag');
  res.removeHeader('Cache-Control');
  res.status(problem.status);
  res.setHeader('Content-Type', PROBLEM_CONTENT_TYPE);
  res.end(JSON.stringify(problem));
}

export function requestInstance(req: Request): string {
  return req.originalUrl.split('?')[0] ?? '/';
}
