import { Logger } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';

const logger = new Logger('HTTP');

/** The route pattern that served a request (`/health/ready`), or `unmatched`; never the raw path. */
export function routeOf(req: Request): string {
  const route = (req as unknown as { route?: { path?: unknown } }).route;
  if (route && typeof route.path === 'string') return `${req.baseUrl}${route.path}`;
  return 'unmatched';
}

/** The device poll routes: rc.3's manifest poll and the legacy desired-state poll. */
const POLL_ROUTES = new Set(['/api/v1/deployments', '/api/v1/clients/:clientId/deployments']);

/**
 * A fleet's successful polls (200, 304) are its heartbeat: thousands of lines an hour that say
 * nothing new, so they go to `debug`. Failed polls and every other request stay at `info` (`log`).
 */
export function isRoutinePoll(method: string, route: string, status: number): boolean {
  return method === 'GET' && (status === 200 || status === 304) && POLL_ROUTES.has(route);
}

export interface AccessLine {
  method: string;
  route: string;
  status: number;
  durationMs: number;
  requestId?: string;
}

/** Writes one access line at the level the request deserves (shared with the poll fast path). */
export function logAccess(line: AccessLine): void {
  const entry = { msg: 'request', ...line };
  if (isRoutinePoll(line.method, line.route, line.status)) logger.debug(entry);
  else logger.log(entry);
}

type Observer = (method: string, route: string, status: number, seconds: number) => void;

/**
 * One access line per request (method, route, status, duration) and a hook for the HTTP metrics.
 * No bodies, headers or query strings are logged.
 */
export function accessLogMiddleware(observe?: Observer) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const route = routeOf(req);
      observe?.(req.method, route, res.statusCode, seconds);
      logAccess({
        method: req.method,
        route,
        status: res.statusCode,
        durationMs: Math.round(seconds * 1e5) / 100,
        requestId: (res.locals as { requestId?: string }).requestId,
      });
    });
    next();
  };
}
