import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { baselineDeploymentId, PKI_DIR_ENV, SESSION_TIMEOUT_ENV } from './change-latency-baseline.js';
import { followParent, listenBaseline } from './baseline-child.js';

/**
 * Child process: the change-latency bench's baseline. A bare Node HTTPS server with the service's
 * certificate, key, CA and TLS options (client certificate requested, checked against the CA, TLS 1.2
 * minimum, the same session lifetime and keep-alive timeout) that plays just the part of the rc.3
 * device contract the bench drives, with no database, queue or rendering:
 *
 * - `PUT /api/v1/capabilities/{deviceId}`: the body's supportedDeploymentTypes pick the device's
 *   profile (helm when it lists helm, else compose, as placement does for the bench's package); when
 *   that changes the device's YAML, the caller's manifest gets its next version before the answer
 *   (201 for a device's first report, 200 after).
 * - `GET /api/v1/deployments`: 304 when If-None-Match is the current ETag, else the manifest JSON.
 * - `GET /api/v1/deployments/{deploymentId}/{digest}`: the YAML bytes.
 *
 * The caller is the client named in its SVID (`…/client/<id>` URI SAN), as in the service.
 */
const MANIFEST_TYPE = 'application/vnd.margo.manifest.v1+json';
const CAPABILITIES = '/api/v1/capabilities/';
const DEPLOYMENTS = '/api/v1/deployments';
const EMPTY = Buffer.alloc(0);

type Profile = 'compose' | 'helm';

interface Entry {
  deploymentId: string;
  digest: string;
  sizeBytes: number;
  url: string;
}

interface ClientState {
  /** deviceId → its deployment's entry in the manifest. */
  entries: Map<string, Entry>;
  /** digest → the YAML it names (every rendering listed so far stays fetchable). */
  documents: Map<string, { deploymentId: string; bytes: Buffer }>;
  version: number;
  body: Buffer;
  etag: string;
}

const clients = new Map<string, ClientState>();
/** The client id of each connection (null: no valid SVID), read once per TLS connection. */
const callers = new WeakMap<TLSSocket, string | null>();

const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

function callerOf(socket: TLSSocket): string | null {
  let id = callers.get(socket);
  if (id === undefined) {
    const san = socket.authorized ? (socket.getPeerCertificate().subjectaltname ?? '') : '';
    id = /URI:spiffe:\/\/[^,\s]+\/client\/([^,\s/]+)/.exec(san)?.[1] ?? null;
    callers.set(socket, id);
  }
  return id;
}

/** Issues the client's next manifest version from its current entries. */
function issue(state: ClientState): void {
  state.version += 1;
  state.body = Buffer.from(
    JSON.stringify({ manifestVersion: state.version, deployments: [...state.entries.values()] }),
  );
  state.etag = `"${sha256(state.body)}"`;
}

function stateOf(clientId: string): ClientState {
  let state = clients.get(clientId);
  if (!state) {
    state = { entries: new Map(), documents: new Map(), version: 0, body: Buffer.alloc(0), etag: '' };
    issue(state);
    clients.set(clientId, state);
  }
  return state;
}

/** The device's ApplicationDeployment YAML for a profile: only what the bench's check reads, plus the ids. */
function rendering(deploymentId: string, deviceId: string, profile: Profile): Buffer {
  return Buffer.from(
    [
      `id: ${deploymentId}`,
      'metadata:',
      `  name: ${deploymentId}`,
      `  deviceId: ${deviceId}`,
      'spec:',
      '  deploymentProfile:',
      `    type: ${profile}`,
      '',
    ].join('\n'),
  );
}

function report(clientId: string, deviceId: string, body: Buffer, res: ServerResponse): void {
  let types: unknown;
  try {
    types = (JSON.parse(body.toString('utf8')) as { properties?: { supportedDeploymentTypes?: unknown } })
      .properties?.supportedDeploymentTypes;
  } catch {
    types = undefined;
  }
  if (!Array.isArray(types)) {
    answer(res, 400);
    return;
  }
  const profile: Profile = types.includes('helm') ? 'helm' : 'compose';
  const state = stateOf(clientId);
  const before = state.entries.get(deviceId);
  const deploymentId = baselineDeploymentId(clientId, deviceId);
  const bytes = rendering(deploymentId, deviceId, profile);
  const digest = sha256(bytes);
  if (before?.digest !== digest) {
    state.documents.set(digest, { deploymentId, bytes });
    state.entries.set(deviceId, {
      deploymentId,
      digest,
      sizeBytes: bytes.length,
      url: `${DEPLOYMENTS}/${deploymentId}/${digest}`,
    });
    issue(state);
  }
  answer(res, before ? 200 : 201);
}

/** A 304 carries no body; every other answer says its length (0 when it has no body). */
function answer(
  res: ServerResponse,
  status: number,
  headers: Record<string, string> = {},
  body: Buffer = EMPTY,
): void {
  if (status === 304) {
    res.writeHead(status, headers).end();
    return;
  }
  res.writeHead(status, { ...headers, 'content-length': String(body.length) }).end(body);
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const clientId = callerOf(req.socket as TLSSocket);
  const path = req.url ?? '';
  if (clientId === null) {
    req.resume();
    answer(res, 401);
  } else if (req.method === 'PUT' && path.startsWith(CAPABILITIES)) {
    const deviceId = decodeURIComponent(path.slice(CAPABILITIES.length));
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => report(clientId, deviceId, Buffer.concat(chunks), res));
  } else if (req.method === 'GET' && path === DEPLOYMENTS) {
    const state = stateOf(clientId);
    if (req.headers['if-none-match'] === state.etag) answer(res, 304, { etag: state.etag });
    else answer(res, 200, { etag: state.etag, 'content-type': MANIFEST_TYPE }, state.body);
  } else if (req.method === 'GET' && path.startsWith(`${DEPLOYMENTS}/`)) {
    const [deploymentId, digest] = path.slice(DEPLOYMENTS.length + 1).split('/');
    const doc = clients.get(clientId)?.documents.get(digest ?? '');
    if (doc?.deploymentId === deploymentId) {
      answer(res, 200, { etag: `"${digest}"`, 'content-type': 'application/yaml' }, doc.bytes);
    } else answer(res, 404);
  } else {
    req.resume();
    answer(res, 404);
  }
}

function start(): void {
  const pki = process.env[PKI_DIR_ENV];
  if (!pki) throw new Error(`${PKI_DIR_ENV} is not set`);
  const read = (file: string) => readFileSync(join(pki, file), 'utf8');
  listenBaseline(
    {
      certPem: read('server.pem'),
      keyPem: read('server-key.pem'),
      caPem: read('ca.pem'),
      sessionTimeout: Number(process.env[SESSION_TIMEOUT_ENV]),
    },
    handle,
  );
}

followParent();
start();
