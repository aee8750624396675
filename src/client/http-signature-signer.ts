import type { KeyObject } from 'node:crypto';

import { contentDigestHeader } from '../common/http-signatures/content-digest.js';
import {
  algorithmsForKey,
  keyIdOf,
  signatureKeyTypeOf,
  signWithAlgorithm,
  UnsupportedKeyError,
  type SignatureAlgorithm,
} from '../common/http-signatures/keys.js';
import {
  buildSignatureBase,
  headerLookupFrom,
  signatureParamsValue,
  type HeaderLookup,
  type HeaderRecord,
} from '../common/http-signatures/signature-base.js';
import {
  parseDictionary,
  serializeDictionary,
  stringItem,
  type Parameters,
} from '../common/http-signatures/structured-fields.js';

/**
 * Client side of RFC 9421 / RFC 9530 as Margo device clients do it (margo-clients.md §5):
 * `Content-Digest: sha-256=:…:` for bodies and
 * `Signature-Input: sig1=("@method" "@target-uri" "@authority" "content-digest");created=…;keyid="<hex>"`.
 */
export type RsaSignatureAlgorithm = 'rsa-pss-sha256' | 'rsa-pss-sha512' | 'rsa-v1_5-sha256';

export interface SignRequestOptions {
  method: string;
  /** The absolute URL exactly as the request will be sent to (it is signed verbatim as `@target-uri`). */
  url: string;
  /** Request headers (any case); needed when header fields other than content-digest are covered. */
  headers?: HeaderRecord;
  /** The body bytes as sent; an empty body counts as no body. */
  body?: Buffer | string;
  privateKey: KeyObject;
  /** Defaults to {@link keyIdOf} the public key; pass `null` to omit the parameter. */
  keyid?: string | null;
  /** Unix seconds; defaults to now. */
  created?: number;
  /** Defaults to `sig1`. */
  label?: string;
  /** Defaults to `@method @target-uri @authority`, plus `content-digest` when there is a body. */
  components?: string[];
  /** For RSA keys only; defaults to `rsa-v1_5-sha256` (RSA-PSS keys default to their PSS hash). */
  algorithm?: RsaSignatureAlgorithm;
  /** Add the `alg` parameter (off by default, as Margo clients do not send it). */
  includeAlg?: boolean;
  /** Optional `expires` (unix seconds) and `nonce` parameters, off by default. */
  expires?: number;
  nonce?: string;
}

/** Headers to add to the request (lowercase names). */
export interface SignatureHeaders {
  'content-digest'?: string;
  'signature-input': string;
  signature: string;
}

const DEFAULT_COMPONENTS = ['@method', '@target-uri', '@authority'];

/**
 * Signs a request and returns the headers to add. A `content-digest` already present in `headers`
 * is kept (and signed) as is, so negative tests can send a wrong digest; otherwise it is computed.
 * Throws for keys or algorithms it cannot sign with (a programming error, not attacker input).
 */
export function signRequest(options: SignRequestOptions): SignatureHeaders {
  const body = typeof options.body === 'string' ? Buffer.from(options.body) : options.body;
  const hasBody = body !== undefined && body.length > 0;
  const given = headerLookupFrom(options.headers ?? {});
  const givenDigest = given('content-digest');
  const digest = hasBody
    ? ((typeof givenDigest === 'string' ? givenDigest : givenDigest?.join(', ')) ?? contentDigestHeader(body))
    : undefined;
  const headers: HeaderLookup = (name) =>
    name === 'content-digest' && digest !== undefined ? digest : given(name);

  const names = options.components ?? [...DEFAULT_COMPONENTS, ...(hasBody ? ['content-digest'] : [])];
  const components = names.map((name) => stringItem(name));
  const algorithm = chooseAlgorithm(options.privateKey, options.algorithm);
  const params = signatureParameters(options, algorithm);
  const signatureParams = signatureParamsValue(components, params);
  const base = buildSignatureBase({
    method: options.method.toUpperCase(),
    targetUri: options.url,
    headers,
    components,
    signatureParams,
  });
  const signature = signWithAlgorithm(algorithm, options.privateKey, Buffer.from(base, 'utf8'));
  const label = options.label ?? 'sig1';
  return {
    ...(digest !== undefined ? { 'content-digest': digest } : {}),
    'signature-input': `${label}=${signatureParams}`,
    signature: `${label}=:${signature.toString('base64')}:`,
  };
}

/** The algorithm for this key: fixed by the curve for EC and Ed25519, chosen for RSA. */
function chooseAlgorithm(key: KeyObject, requested: RsaSignatureAlgorithm | undefined): SignatureAlgorithm {
  const type = signatureKeyTypeOf(key);
  const usable = algorithmsForKey(key);
  if (type === undefined || usable.length === 0) {
    throw new UnsupportedKeyError(`cannot sign with a ${key.asymmetricKeyType ?? 'secret'} key`);
  }
  if (type !== 'rsa' && type !== 'rsa-pss') {
    if (requested !== undefined) throw new UnsupportedKeyError(`${requested} needs an RSA key, not ${type}`);
    return usable[0];
  }
  const algorithm = requested ?? (type === 'rsa' ? 'rsa-v1_5-sha256' : usable[usable.length - 1]);
  if (!usable.includes(algorithm)) throw new UnsupportedKeyError(`this ${type} key cannot sign ${algorithm}`);
  return algorithm;
}

/** `created`, `keyid`, then the optional `alg`, `expires` and `nonce`, in that order. */
function signatureParameters(options: SignRequestOptions, algorithm: SignatureAlgorithm): Parameters {
  const params: Parameters = new Map();
  params.set('created', { type: 'integer', value: options.created ?? Math.floor(Date.now() / 1000) });
  if (options.keyid !== null) {
    params.set('keyid', { type: 'string', value: options.keyid ?? keyIdOf(options.privateKey) });
  }
  if (options.includeAlg === true) params.set('alg', { type: 'string', value: algorithm });
  if (options.expires !== undefined) params.set('expires', { type: 'integer', value: options.expires });
  if (options.nonce !== undefined) params.set('nonce', { type: 'string', value: options.nonce });
  return params;
}

/**
 * For negative tests: returns a copy of `headers` whose Signature bytes have one bit flipped (in
 * every member). The header name is matched case-insensitively and keeps its spelling.
 */
export function tamperSignature<T extends Record<string, string | undefined>>(headers: T): T {
  const name = Object.keys(headers).find((key) => key.toLowerCase() === 'signature');
  const value = name === undefined ? undefined : headers[name];
  if (name === undefined || value === undefined) throw new Error('tamperSignature: no Signature header');
  const dictionary = parseDictionary(value);
  for (const member of dictionary.values()) {
    if (member.kind !== 'item' || member.value.type !== 'bytes' || member.value.value.length === 0) continue;
    const bytes = Buffer.from(member.value.value);
    bytes[bytes.length >> 1] ^= 0x01;
    member.value = { type: 'bytes', value: bytes };
  }
  return { ...headers, [name]: serializeDictionary(dictionary) };
}
