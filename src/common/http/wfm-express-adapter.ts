import type { RouteInfo } from '@nestjs/common/interfaces/index.js';
import { ExpressAdapter } from '@nestjs/platform-express';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/**
 * Nest's Express adapter with one hook: a handler that runs after every route and before Nest's
 * own "not found" answer. The enrollment module uses it so that unserved device-API paths
 * authenticate before answering 404 (see device-api-fallback.ts).
 */
export class WfmExpressAdapter extends ExpressAdapter {
  private afterRoutes?: RequestHandler;

  setAfterRoutes(handler: RequestHandler): void {
    this.afterRoutes = handler;
  }

  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- Nest's own signature
  override setNotFoundHandler(handler: Function, prefix?: string, excludedRoutes?: RouteInfo[]): unknown {
    this.use((req: Request, res: Response, next: NextFunction) => {
      if (this.afterRoutes) this.afterRoutes(req, res, next);
      else next();
    });
    return super.setNotFoundHandler(handler, prefix, excludedRoutes);
  }
}
