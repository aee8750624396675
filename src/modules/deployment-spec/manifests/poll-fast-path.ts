import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request } from 'express';
import { logAccess } from '../../../common/logging/access-log.middleware.js';
import { requestIdOfHeaders } from '../../../common/logging/request-context.js';
import type { MetricsService } from '../../../infra/metrics/metrics.service.js';
import type { DeviceAuthService } from '../../enrollment/auth/device-auth.service.js';
import type { ManifestService } from './manifest.service.js';
import { sendManifest } from './state.responses.js';

const ROUTE = '/api/v1/deployments';

/**
 * The device poll (`GET /api/v1/deployments`, rc.3) is the hottest request a fleet sends. This
 * handler answers its successful cases (304, 200) straight from the HTTP server (bootstrap.ts),
 * without the Express/Nest pipeline, using the same authentication, manifest service, response writer
 * (`sendManifest`), request id, access line and HTTP metric as the Nest route in state.controller.ts.
 * Anything else — no or bad credentials, 406, a store outage, another path — returns false, and the
 * request goes through the normal pipeline, which produces the exact same problem answers.
 */
export function pollFastPath(auth: DeviceAuthService, manifests: ManifestService, metrics: MetricsService) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    if (req.method !== 'GET' || req.url !== ROUTE) return false;
    const started = process.hrtime.bigint();
    let answer;
    try {
      const client = await auth.authenticateRc3(req as Request, false);
      answer = await manifests.poll(client, req.headers.accept, req.headers['if-none-match']);
    } catch {
      return false;
    }
    const requestId = requestIdOfHeaders(req.headers);
    res.setHeader('X-Request-Id', requestId);
    sendManifest(res, answer);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    metrics.observeHttp('GET', ROUTE, answer.status, seconds);
    logAccess({
      method: 'GET',
      route: ROUTE,
      status: answer.status,
      durationMs: Math.round(seconds * 1e5) / 100,
      requestId,
    });
    return true;
  };
}
