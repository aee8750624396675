import { createPrivateKey, type KeyObject } from 'node:crypto';
import https from 'node:https';
import type { PeerCertificate } from 'node:tls';
import { checkServerIdentity } from 'node:tls';
import { verifyDigest } from './digest.js';
import { signRequest, tamperSignature, type RsaSignatureAlgorithm } from './http-signature-signer.js';
import { readTar, type TarEntry } from './tar.js';
import { request, type RawResponse } from './transport.js';

/**
 * A Margo device client (WFM Client) for both API generations, written for this project: the tests,
 * the conformance runner, the simulator and the demo all talk to the WFM through it. Every call
 * returns the raw response (status, headers, exact bytes) so callers can assert on the wire.
 */

export const MANIFEST_MEDIA_TYPE = 'application/vnd.margo.manifest.v1+json';
export const BUNDLE_MEDIA_TYPE = 'application/vnd.margo.bundle.v1+tar+gzip';

export interface CallOptions {
  headers?: Record<string, string | undefined>;
  body?: unknown;
}

export interface ManifestOptions {
  ifNoneMatch?: string;
  /** Accept header; omitted when undefined. */
  accept?: string;
}

/** The device routes, the same for both profiles but for their path prefix. */
abstract class DeviceApi {
  protected abstract readonly prefix: string;

  abstract call(method: string, path: string, options?: CallOptions): Promise<RawResponse>;

  putCapabilities(deviceId: string, manifest: unknown, method: 'PUT' | 'POST' = 'PUT'): Promise<RawResponse> {
    return this.call(method, `${this.prefix}/capabilities/${deviceId}`, { body: manifest });
  }

  deleteCapabilities(deviceId: string): Promise<RawResponse> {
    return this.call('DELETE', `${this.prefix}/capabilities/${deviceId}`);
  }

  getManifest(options: ManifestOptions = {}): Promise<RawResponse> {
    return this.call('GET', `${this.prefix}/deployments`, {
      headers: { accept: options.accept, 'if-none-match': options.ifNoneMatch },
    });
  }

  /** One ApplicationDeployment YAML; throws DigestMismatchError when a 200's bytes do not hash to `digest`. */
  async getDeploymentYaml(
    deploymentId: string,
    digest: string,
    headers: Record<string, string> = {},
  ): Promise<RawResponse> {
    const res = await this.call('GET', `${this.prefix}/deployments/${deploymentId}/${digest}`, { headers });
    if (res.status === 200) verifyDigest(res.body, digest);
    return res;
  }

  /** The bundle; throws DigestMismatchError when a 200's bytes do not hash to `digest`. */
  async getBundle(
    digest: string,
    headers: Record<string, string> = {},
  ): Promise<RawResponse & { entries?: TarEntry[] }> {
    const res = await this.call('GET', `${this.prefix}/bundles/${digest}`, { headers });
    if (res.status !== 200) return res;
    verifyDigest(res.body, digest);
    return { ...res, entries: readTar(res.body) };
  }

  postStatus(deploymentId: string, report: unknown, singular = false): Promise<RawResponse> {
    const segment = singular ? 'deployment' : 'deployments';
    return this.call('POST', `${this.prefix}/${segment}/${deploymentId}/status`, { body: report });
  }
}

function encodeBody(body: unknown): Buffer | undefined {
  if (body === undefined) return undefined;
  if (Buffer.isBuffer(body)) return body;
  return Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
}

export interface Rc3ClientOptions {
  baseUrl: string;
  /** Trust bundle (PEM) to verify the WFM's SVID. */
  ca: string;
  /** The client's X.509-SVID chain (PEM, leaf first) and key. */
  certChainPem: string;
  keyPem: string;
  /** Expected SPIFFE ID of the WFM (`spiffe://<td>/margo/wfm/<wfm-id>`); DNS names are then not checked. */
  wfmSpiffeId?: string;
  /** Reuse TLS connections (default true). */
  keepAlive?: boolean;
}

/** rc.3 (MIAF): mutual TLS with an X.509-SVID; routes without {clientId}. */
export class Rc3Client extends DeviceApi {
  protected readonly prefix = '/api/v1';
  readonly agent: https.Agent;

  constructor(private readonly options: Rc3ClientOptions) {
    super();
    const expected = options.wfmSpiffeId;
    this.agent = new https.Agent({
      keepAlive: options.keepAlive ?? true,
      ca: options.ca,
      cert: options.certChainPem,
      key: options.keyPem,
      checkServerIdentity: expected
        ? (_host: string, cert: PeerCertificate) => checkSpiffeId(cert, expected)
        : checkServerIdentity,
    });
  }

  call(method: string, path: string, options: CallOptions = {}): Promise<RawResponse> {
    const body = encodeBody(options.body);
    return request(new URL(path, this.options.baseUrl), {
      method,
      agent: this.agent,
      headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...options.headers },
      body,
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

function checkSpiffeId(cert: PeerCertificate, expected: string): Error | undefined {
  const uris = (cert.subjectaltname ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.startsWith('URI:'))
    .map((s) => s.slice(4));
  return uris.length === 1 && uris[0] === expected
    ? undefined
    : new Error(`the server's SPIFFE ID is ${uris.join(', ') || 'missing'}, expected ${expected}`);
}

export interface LegacyIdentity {
  certPem: string;
  keyPem: string;
}

export interface LegacyClientOptions {
  baseUrl: string;
  /** Trust anchors for the server (e.g. from GET /api/v1/onboarding/certificate). */
  ca?: string;
  identity: LegacyIdentity;
  clientId: string;
  /** RSA keys: which RFC 9421 algorithm to sign with. */
  rsaAlgorithm?: RsaSignatureAlgorithm;
  keepAlive?: boolean;
}

export interface SignedCallOptions extends CallOptions {
  /** Send without signature headers. */
  unsigned?: boolean;
  /** Send without Content-Digest (and do not cover it). */
  skipContentDigest?: boolean;
  /** Flip a bit of the signature. */
  tamper?: boolean;
  /** Sign with this key instead (e.g. a fresh, un-onboarded one). */
  signWith?: KeyObject;
  /** Override parts of the signature parameters. */
  keyid?: string | null;
  created?: number;
  components?: string[];
}

/** Legacy "clientId" profile: server-side TLS, RFC 9421 signatures with RFC 9530 Content-Digest. */
export class LegacyClient extends DeviceApi {
  protected readonly prefix: string;
  readonly agent: https.Agent;
  private readonly privateKey: KeyObject;

  constructor(readonly options: LegacyClientOptions) {
    super();
    this.prefix = `/api/v1/clients/${options.clientId}`;
    this.privateKey = createPrivateKey(options.identity.keyPem);
    this.agent = new https.Agent({ keepAlive: options.keepAlive ?? true, ca: options.ca });
  }

  get clientId(): string {
    return this.options.clientId;
  }

  /** The WFM's CA (`GET /api/v1/onboarding/certificate`), decoded to PEM. */
  static async fetchCa(baseUrl: string, ca?: string): Promise<string> {
    const res = await request(new URL('/api/v1/onboarding/certificate', baseUrl), {
      ca,
      insecure: ca === undefined,
    });
    if (res.status !== 200) throw new Error(`GET /api/v1/onboarding/certificate answered ${res.status}`);
    return Buffer.from(res.json<{ certificate: string }>().certificate, 'base64').toString('utf8');
  }

  /** POST /api/v1/onboarding with the certificate (base64 of PEM), signed with its key as real agents do. */
  static async onboard(
    baseUrl: string,
    identity: LegacyIdentity,
    options: { ca?: string; body?: Record<string, unknown>; sign?: boolean } = {},
  ): Promise<{ response: RawResponse; client?: LegacyClient }> {
    const url = new URL('/api/v1/onboarding', baseUrl).toString();
    const body = Buffer.from(
      JSON.stringify(
        options.body ?? {
          apiVersion: 'onboarding.margo.org/v1alpha1',
          kind: 'OnboardingRequest',
          certificate: Buffer.from(identity.certPem).toString('base64'),
        },
      ),
    );
    const signature =
      options.sign === false
        ? {}
        : signRequest({ method: 'POST', url, body, privateKey: createPrivateKey(identity.keyPem) });
    const response = await request(url, {
      method: 'POST',
      ca: options.ca,
      headers: { 'content-type': 'application/json', ...signature },
      body,
    });
    if (response.status !== 201) return { response };
    const clientId = response.json<{ clientId: string }>().clientId;
    return { response, client: new LegacyClient({ baseUrl, ca: options.ca, identity, clientId }) };
  }

  call(method: string, path: string, options: SignedCallOptions = {}): Promise<RawResponse> {
    const url = new URL(path, this.options.baseUrl).toString();
    const body = encodeBody(options.body);
    const headers: Record<string, string | undefined> = {
      ...(body ? { 'content-type': 'application/json' } : {}),
      ...options.headers,
    };
    if (!options.unsigned) {
      const hasBody = body !== undefined && body.length > 0;
      const components =
        options.components ??
        (hasBody && !options.skipContentDigest
          ? ['@method', '@target-uri', '@authority', 'content-digest']
          : ['@method', '@target-uri', '@authority']);
      let signed = signRequest({
        method,
        url,
        headers: headers,
        body: options.skipContentDigest ? undefined : body,
        privateKey: options.signWith ?? this.privateKey,
        keyid: options.keyid,
        created: options.created,
        components,
        algorithm: this.options.rsaAlgorithm,
      });
      if (options.skipContentDigest) signed = { ...signed, 'content-digest': undefined };
      if (options.tamper) {
        signed = tamperSignature<typeof signed & Record<string, string | undefined>>({ ...signed });
      }
      Object.assign(headers, signed);
    }
    return request(url, { method, agent: this.agent, headers, body });
  }

  close(): void {
    this.agent.destroy();
  }
}
