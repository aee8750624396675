import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request } from 'express';
import { logAccess } from '../../../common/logging/access-log.middleware.js';
import { requestIdOfHeaders } from '../../../common/logging/request-context.js';
import type { MetricsService } from '../../../infra/metrics/metrics.service.js';
import type { DeviceAuthService } from '../../enrollment/auth/device-auth.service.js';
import type { AuthenticatedClient } from '../../enrollment/auth/authenticated-client.js';
import type { ManifestService } from './manifest.service.js';
import { sendBundle, sendManifest, sendYaml } from './state.responses.js';

/** The rc.3 device reads this path serves, by route pattern (the Nest routes' own patterns). */
const POLL = '/api/v1/deployments';
const YAML = '/api/v1/deployments/:deploymentId/:digest';
const BUNDLE = '/api/v1/bundles/:digest';
// one path segment each; anything percent-encoded or with a query goes through Nest
const YAML_PATH = /^\/api\/v1\/deployments\/([^/?%#]+)\/([^/?%#]+)$/;
const BUNDLE_PATH = /^\/api\/v1\/bundles\/([^/?%#]+)$/;

type Answer = (res: ServerResponse) => number;

/**
 * The rc.3 device reads a fleet sends all the time — the manifest poll (`GET /api/v1/deployments`),
 * and the YAML and bundle downloads by digest — answered straight from the HTTP server
 * (bootstrap.ts), without the Express/Nest pipeline, using the same authentication, manifest
 * service, response writers (state.responses.ts), request id, access line and HTTP metric as the Nest
 * routes in state.controller.ts. YAML and bundles come from the in-memory document cache
 * (document-cache.ts) when they are there. Anything else — no or bad credentials, 404, 406, a store
 * outage, another path — returns false, and the request goes through the normal pipeline, which
 * produces the exact same problem answers.
 */
export function deviceFastPath(auth: DeviceAuthService, manifests: ManifestService, metrics: MetricsService) {
  /** The route pattern and how to answer, or undefined when this path is not one of ours. */
  async function answer(
    req: IncomingMessage,
    client: () => Promise<AuthenticatedClient>,
  ): Promise<[string, Answer] | undefined> {
    const url = req.url ?? '';
    if (url === POLL) {
      const poll = await manifests.poll(await client(), req.headers.accept, req.headers['if-none-match']);
      return [POLL, (res) => (sendManifest(res, poll), poll.status)];
    }
    const yaml = YAML_PATH.exec(url);
    if (yaml) {
      const doc = await manifests.document(await client(), yaml[1], yaml[2]);
      return [
        YAML,
        (res) => sendYaml(res, doc, req.headers['if-none-match'], req.headers['accept-encoding']),
      ];
    }
    const bundle = BUNDLE_PATH.exec(url);
    if (bundle) {
      const doc = await manifests.bundle(await client(), bundle[1]);
      return [BUNDLE, (res) => sendBundle(res, doc, req.headers['if-none-match'])];
    }
    return undefined;
  }

  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    if (req.method !== 'GET') return false;
    const started = process.hrtime.bigint();
    let found;
    try {
      found = await answer(req, () => auth.authenticateRc3(req as Request, false));
    } catch {
      return false;
    }
    if (!found) return false;
    const [route, send] = found;
    const requestId = requestIdOfHeaders(req.headers);
    res.setHeader('X-Request-Id', requestId);
    const status = send(res);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    metrics.observeHttp('GET', route, status, seconds);
    logAccess({ method: 'GET', route, status, durationMs: Math.round(seconds * 1e5) / 100, requestId });
    return true;
  };
}
