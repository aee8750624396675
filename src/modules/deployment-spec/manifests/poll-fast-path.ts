import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request } from 'express';
import { logAccess } from '../../../common/logging/access-log.middleware.js';
import type { MetricsService } from '../../../infra/metrics/metrics.service.js';
import type { DeviceAuthService } from '../../enrollment/auth/device-auth.service.js';
import type { ManifestService } from './manifest.service.js';
import { MANIFEST_MEDIA_TYPE } from './manifest.service.js';

const ROUTE = '/api/v1/deployments';

/**
 * The device poll (`GET /api/v1/deployments`, rc.3) is the hottest request a fleet sends. This
 * handler answers its successful cases (304, 200) straight from the HTTP server, without the
 * Express/Nest pipeline, using the same authentication and manifest services as the Nest route.
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
    const incoming = req.headers['x-request-id'];
    const requestId =
      typeof incoming === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(incoming) ? incoming : randomUUID();
    res.setHeader('X-Request-Id', requestId);
    res.setHeader('ETag', answer.etag);
    res.setHeader('Cache-Control', 'private');
    if (answer.status === 304) {
      res.statusCode = 304;
      res.end();
    } else {
      res.statusCode = 200;
      res.setHeader('Content-Type', MANIFEST_MEDIA_TYPE);
      res.setHeader('Content-Length', String(answer.body.length));
      res.end(answer.body);
    }
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
