import { Logger } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';

const logger = new Logger('HTTP');

/** The route pattern that served a request (`/health/ready`), or `unmatched`; never the raw path. */
export function routeOf(req: Request): string {
  const route = (req as unknown as { route?: { path?: unknown } }).route;
  if (route && typeof route.path === 'string') return `${req.baseUrl}${route.path}`;
  return 'unmatched';
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
      logger.log({
        msg: 'request',
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
