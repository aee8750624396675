import { canonicalJson } from './jcs.js';

/**
 * The State Manifest body (`UnsignedAppStateManifest`, spec §2.1): RFC 8785 bytes (D8) of
 * `{manifestVersion, bundle, deployments}` with deployments sorted by deploymentId and URLs built from
 * `urlPrefix` (`/api/v1` for rc.3 clients, `/api/v1/clients/<clientId>` for legacy ones). Pure.
 * Inconsistent input (a bundle without deployments or the reverse, a digest that is not lowercase sha256,
 * a duplicate id, a version outside [1, 2^64-1]) is a programming error and throws.
 */

export const BUNDLE_MEDIA_TYPE = 'application/vnd.margo.bundle.v1+tar+gzip';

export interface StateManifestInput {
  manifestVersion: bigint;
  deployments: { deploymentId: string; digest: string; sizeBytes: number }[];
  bundle: { digest: string; sizeBytes: number } | null;
  /** `/api/v1` or `/api/v1/clients/<clientId>` (no trailing slash). */
  urlPrefix: string;
}

const MAX_VERSION = 2n ** 64n - 1n;
const DIGEST = /^sha256:[0-9a-f]{64}$/;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const URL_PREFIX = /^\/api\/v1(?:\/clients\/[A-Za-z0-9._~-]+)?$/;

function checkDigest(digest: string, what: string): void {
  if (!DIGEST.test(digest)) {
    throw new Error(`state manifest: ${what} digest ${JSON.stringify(digest)} is not sha256:<64 hex>`);
  }
}

function checkSize(size: number, what: string): void {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new Error(`state manifest: ${what} sizeBytes ${size} is invalid`);
  }
}

/** Checks the input's invariants (see the module comment). */
function checkInput(input: StateManifestInput): void {
  if (input.manifestVersion < 1n || input.manifestVersion > MAX_VERSION) {
    throw new Error(`state manifest: manifestVersion ${input.manifestVersion} is outside [1, 2^64-1]`);
  }
  if (!URL_PREFIX.test(input.urlPrefix)) {
    throw new Error(
      `state manifest: urlPrefix ${JSON.stringify(input.urlPrefix)} is not /api/v1[/clients/<id>]`,
    );
  }
  if ((input.bundle === null) !== (input.deployments.length === 0)) {
    throw new Error('state manifest: bundle must be null exactly when there are no deployments');
  }
  if (input.bundle) {
    checkDigest(input.bundle.digest, 'bundle');
    checkSize(input.bundle.sizeBytes, 'bundle');
  }
  const seen = new Set<string>();
  for (const d of input.deployments) {
    if (!UUID.test(d.deploymentId)) {
      throw new Error(`state manifest: deploymentId ${JSON.stringify(d.deploymentId)} is not a UUID`);
    }
    if (seen.has(d.deploymentId)) throw new Error(`state manifest: duplicate deploymentId ${d.deploymentId}`);
    seen.add(d.deploymentId);
    checkDigest(d.digest, `deployment ${d.deploymentId}`);
    checkSize(d.sizeBytes, `deployment ${d.deploymentId}`);
  }
}

/** The exact manifest bytes (JCS); their sha256 is the manifest ETag. */
export function buildStateManifest(input: StateManifestInput): Buffer {
  checkInput(input);
  const { urlPrefix } = input;
  const bundle = input.bundle && {
    mediaType: BUNDLE_MEDIA_TYPE,
    digest: input.bundle.digest,
    sizeBytes: input.bundle.sizeBytes,
    url: `${urlPrefix}/bundles/${input.bundle.digest}`,
  };
  const deployments = [...input.deployments]
    .sort((x, y) => (x.deploymentId < y.deploymentId ? -1 : x.deploymentId > y.deploymentId ? 1 : 0))
    .map((d) => ({
      deploymentId: d.deploymentId,
      digest: d.digest,
      sizeBytes: d.sizeBytes,
      url: `${urlPrefix}/deployments/${d.deploymentId}/${d.digest}`,
    }));
  return canonicalJson({ manifestVersion: input.manifestVersion, bundle, deployments });
}
