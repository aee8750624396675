import type { NextFunction, Request, Response } from 'express';
import { InvalidRequestError, NotFoundError } from '../../common/problem/domain-error.js';
import type { DeviceAuthService } from './auth/device-auth.service.js';

const LEGACY = /^\/api\/v1\/clients\/([^/]+)\//;

/**
 * Mounted after every route: a device-API path that no route serves is still authenticated first
 * (401/403 for a stranger, so nobody learns which routes exist), and only then answered with a 404
 * problem "No such route…" (the conformance runner reads that as "not built yet").
 */
export function deviceApiFallback(auth: DeviceAuthService) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    const path = req.path;
    if (!path.startsWith('/api/v1/') || path.startsWith('/api/v1/onboarding')) {
      next();
      return;
    }
    const legacy = LEGACY.exec(path);
    let clientId: string | undefined;
    if (legacy) {
      try {
        clientId = decodeURIComponent(legacy[1]);
      } catch {
        // the request-target check answers this first; kept so the fallback never throws
        next(new InvalidRequestError('The clientId in the path is not valid percent-encoded UTF-8'));
        return;
      }
    }
    const authenticate =
      clientId !== undefined
        ? () => {
            (req.params as Record<string, string>) = { clientId };
            return auth.authenticateLegacy(req);
          }
        : () => auth.authenticateRc3(req);
    authenticate().then(
      () =>
        next(
          new NotFoundError(
            legacy
              ? 'No such route in the Margo device API (legacy profile)'
              : 'No such route in the Margo device API',
          ),
        ),
      (error: unknown) => next(error),
    );
  };
}
