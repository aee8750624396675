// The typed client of the operator API, shared by the CLI and any UI code: openapi-fetch over the
// types that `npm run openapi` generates from the committed openapi/openapi.json. A route or DTO
// change that breaks a caller fails `npm run typecheck`.
import createClient, { type Client, type ClientOptions } from 'openapi-fetch';
import type { components, operations, paths } from './operator-api.js';

export type { components, operations, paths };
/** The DTOs of the API by their OpenAPI names, e.g. `Schemas['DeploymentDto']`. */
export type Schemas = components['schemas'];
export type OperatorClient = Client<paths>;

export interface OperatorClientOptions {
  /** Service URL, e.g. `https://wfm.example:8443` (the paths carry `/operator/v1/…`). */
  baseUrl: string;
  /** Operator token, sent as `Authorization: Bearer` on every call (never in a URL). */
  token: string;
  /** A fetch of one's own, e.g. one that trusts a private CA (Node) or the browser's. */
  fetch?: ClientOptions['fetch'];
}

export function createOperatorClient(options: OperatorClientOptions): OperatorClient {
  return createClient<paths>({
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    headers: { authorization: `Bearer ${options.token}`, accept: 'application/json' },
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
}
