import type { KeyObject } from 'node:crypto';

import { checkContentDigest } from './content-digest.js';
import {
  algorithmsForKey,
  isAlgorithmCompatible,
  isSignatureAlgorithm,
  publicKeyOf,
  verifyWithAlgorithm,
  type SignatureAlgorithm,
} from './keys.js';
import {
  buildSignatureBase,
  SignatureBaseError,
  signatureParamsValue,
  type HeaderLookup,
} from './signature-base.js';
import {
  parseDictionary,
  StructuredFieldError,
  type BareItem,
  type Dictionary,
  type InnerList,
  type Item,
} from './structured-fields.js';

/**
 * Server-side verification of RFC 9421 request signatures with the Margo rules (decision D19):
 * `created` within a skew window, `keyid` bound to the registered key, a minimum covered set and a
 * covered, matching RFC 9530 `Content-Digest` whenever a body is sent. Never throws.
 */
export interface VerifyRequestInput {
  method: string;
  /** The full absolute URL as the client addressed it (rebuilt behind proxies). */
  targetUri: string;
  /** Request headers with lowercase names, as Node gives them. */
  headers: Record<string, string | string[] | undefined>;
  /** The raw body bytes; an empty or absent body means "no body". */
  body?: Buffer;
  /** The registered key (a private key is reduced to its public half). */
  publicKey: KeyObject;
  /** When set, a `keyid` parameter must equal it. */
  expectedKeyId?: string;
  nowSeconds: number;
  maxSkewSeconds: number;
  /** Alternatives: the covered components must include every name of at least one of them. */
  requiredComponents: string[][];
  requireContentDigestWhenBody: boolean;
}

export type VerifyFailureReason =
  | 'signature-missing'
  | 'signature-malformed'
  | 'signature-label-missing'
  | 'created-missing'
  | 'created-invalid'
  | 'expires-invalid'
  | 'signature-stale'
  | 'signature-future'
  | 'signature-expired'
  | 'keyid-invalid'
  | 'keyid-mismatch'
  | 'algorithm-unsupported'
  | 'algorithm-mismatch'
  | 'key-unsupported'
  | 'components-insufficient'
  | 'content-digest-not-covered'
  | 'component-unavailable'
  | 'signature-mismatch'
  | 'content-digest-missing'
  | 'content-digest-malformed'
  | 'content-digest-unsupported-algorithm'
  | 'content-digest-mismatch';

export interface VerifySuccess {
  ok: true;
  label: string;
  keyid?: string;
  created: number;
  expires?: number;
  nonce?: string;
  /** The verified signature bytes, as sent. */
  signature: Buffer;
  /**
   * One form per mathematical signature: ECDSA reduced to raw r‖s with low s (the verifier accepts
   * raw, DER and high-s encodings of the same signature), other algorithms as sent. The replay
   * cache keys on this, so a captured request re-encoded is still a replay (issue #13, finding 1).
   */
  canonicalSignature: Buffer;
  algorithm: SignatureAlgorithm;
  /** The covered component names, in signed order. */
  coveredComponents: string[];
}

export interface VerifyFailure {
  ok: false;
  /** 400 for Content-Digest problems, 401 for everything about the signature. */
  status: 400 | 401;
  reason: VerifyFailureReason;
  message: string;
}

export type VerifyResult = VerifySuccess | VerifyFailure;

/** A failure with status 401. */
function unauthorized(reason: VerifyFailureReason, message: string): VerifyFailure {
  return { ok: false, status: 401, reason, message };
}

/** A failure with status 400. */
function badRequest(reason: VerifyFailureReason, message: string): VerifyFailure {
  return { ok: false, status: 400, reason, message };
}

/** Verifies the request's signature. Every problem with the input becomes a failure result. */
export function verifyRequestSignature(input: VerifyRequestInput): VerifyResult {
  try {
    return verifyUnsafe(input);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return unauthorized('signature-malformed', `signature could not be verified: ${detail}`);
  }
}

/** The parsed signature selected for verification. */
interface SelectedSignature {
  label: string;
  input: InnerList;
  signature: Buffer;
}

function verifyUnsafe(input: VerifyRequestInput): VerifyResult {
  const lookup: HeaderLookup = (name) =>
    Object.hasOwn(input.headers, name) ? input.headers[name] : undefined;
  const selected = selectSignature(input);
  if (!selected.ok) return selected;
  const { label, signature } = selected.value;
  const params = selected.value.input.params;

  const created = checkTimes(params.get('created'), params.get('expires'), input);
  if (!created.ok) return created;

  const keyid = params.get('keyid');
  const keyidCheck = checkKeyId(keyid, input.expectedKeyId);
  if (keyidCheck) return keyidCheck;

  const publicKey = publicKeyOf(input.publicKey);
  const algorithms = candidateAlgorithms(params.get('alg'), publicKey);
  if (!algorithms.ok) return algorithms;

  const components = selected.value.input.items;
  const names = componentNames(components);
  if (!names.ok) return names;

  const digestCheck = checkBodyDigest(input, names.value);
  if (digestCheck) return digestCheck;

  const coverage = checkCoverage(names.value, input.requiredComponents);
  if (coverage) return coverage;

  let base: string;
  try {
    base = buildSignatureBase({
      method: input.method,
      targetUri: input.targetUri,
      headers: lookup,
      components,
      signatureParams: signatureParamsValue(components, params),
    });
  } catch (error) {
    if (error instanceof SignatureBaseError) return unauthorized('component-unavailable', error.message);
    throw error;
  }

  const data = Buffer.from(base, 'utf8');
  const algorithm = algorithms.value.find((alg) => verifyWithAlgorithm(alg, publicKey, data, signature));
  if (algorithm === undefined) {
    return unauthorized('signature-mismatch', 'the signature does not verify with the registered key');
  }
  const nonce = params.get('nonce');
  return {
    ok: true,
    label,
    keyid: keyid?.type === 'string' ? keyid.value : undefined,
    created: created.value.created,
    expires: created.value.expires,
    nonce: nonce?.type === 'string' ? nonce.value : undefined,
    signature,
    canonicalSignature: canonicalSignature(algorithm, signature),
    algorithm,
    coveredComponents: names.value,
  };
}

const CURVE_ORDERS: Partial<Record<SignatureAlgorithm, { size: number; n: bigint }>> = {
  'ecdsa-p256-sha256': {
    size: 32,
    n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  },
  'ecdsa-p384-sha384': {
    size: 48,
    n: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
  },
};

/**
 * The canonical bytes of a verified signature: for ECDSA raw r‖s (fixed width) with s ≤ n/2,
 * whether it arrived raw or DER, high or low s; other algorithms unchanged. Pure.
 */
export function canonicalSignature(algorithm: SignatureAlgorithm, signature: Buffer): Buffer {
  const curve = CURVE_ORDERS[algorithm];
  if (!curve) return signature;
  const parts = signature.length === 2 * curve.size ? splitRaw(signature, curve.size) : parseDer(signature);
  if (!parts) return signature;
  const [r, s] = parts;
  const lowS = s > curve.n / 2n ? curve.n - s : s;
  return Buffer.concat([toFixed(r, curve.size), toFixed(lowS, curve.size)]);
}

function splitRaw(signature: Buffer, size: number): [bigint, bigint] {
  return [toBigInt(signature.subarray(0, size)), toBigInt(signature.subarray(size))];
}

/** SEQUENCE { INTEGER r, INTEGER s } with short or one-byte long lengths; undefined when not that. */
function parseDer(der: Buffer): [bigint, bigint] | undefined {
  let offset = 0;
  const readLength = (): number | undefined => {
    const first = der[offset++];
    if (first === undefined) return undefined;
    if (first < 0x80) return first;
    if (first !== 0x81) return undefined;
    return der[offset++];
  };
  if (der[offset++] !== 0x30) return undefined;
  if (readLength() === undefined) return undefined;
  const ints: bigint[] = [];
  for (let i = 0; i < 2; i += 1) {
    if (der[offset++] !== 0x02) return undefined;
    const length = readLength();
    if (length === undefined || offset + length > der.length) return undefined;
    ints.push(toBigInt(der.subarray(offset, offset + length)));
    offset += length;
  }
  return [ints[0], ints[1]];
}

function toBigInt(bytes: Buffer): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${bytes.toString('hex')}`);
}

function toFixed(value: bigint, size: number): Buffer {
  return Buffer.from(
    value
      .toString(16)
      .padStart(2 * size, '0')
      .slice(-2 * size),
    'hex',
  );
}

type Step<T> = { ok: true; value: T } | VerifyFailure;

/** Joins repeated field lines the way Node does for most headers. */
function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

/** Parses both signature headers and picks the first Signature-Input label that has a signature. */
function selectSignature(input: VerifyRequestInput): Step<SelectedSignature> {
  const inputHeader = headerText(input.headers['signature-input']);
  const signatureHeader = headerText(input.headers['signature']);
  if (!inputHeader?.trim() || !signatureHeader?.trim()) {
    return unauthorized('signature-missing', 'the Signature-Input and Signature headers are required');
  }
  const inputs = parseSignatureHeader(inputHeader, 'Signature-Input');
  if (!inputs.ok) return inputs;
  const signatures = parseSignatureHeader(signatureHeader, 'Signature');
  if (!signatures.ok) return signatures;
  for (const [label, member] of inputs.value) {
    const signature = signatures.value.get(label);
    if (signature === undefined) continue;
    if (member.kind !== 'inner-list') {
      return unauthorized('signature-malformed', `Signature-Input member '${label}' is not an inner list`);
    }
    if (signature.kind !== 'item' || signature.value.type !== 'bytes') {
      return unauthorized('signature-malformed', `Signature member '${label}' is not a byte sequence`);
    }
    return { ok: true, value: { label, input: member, signature: signature.value.value } };
  }
  return unauthorized('signature-label-missing', 'no Signature-Input label has a matching Signature');
}

function parseSignatureHeader(value: string, header: string): Step<Dictionary> {
  try {
    return { ok: true, value: parseDictionary(value) };
  } catch (error) {
    const detail = error instanceof StructuredFieldError ? error.message : String(error);
    return unauthorized('signature-malformed', `the ${header} header is malformed: ${detail}`);
  }
}

/** `created` is required and must lie within ±maxSkew of now; `expires`, when given, must be in the future. */
function checkTimes(
  created: BareItem | undefined,
  expires: BareItem | undefined,
  input: VerifyRequestInput,
): Step<{ created: number; expires?: number }> {
  if (created === undefined) return unauthorized('created-missing', "'created' is missing");
  if (created.type !== 'integer') return unauthorized('created-invalid', "'created' must be an integer");
  if (created.value < input.nowSeconds - input.maxSkewSeconds) {
    return unauthorized(
      'signature-stale',
      `the signature was created too long ago (created=${created.value})`,
    );
  }
  if (created.value > input.nowSeconds + input.maxSkewSeconds) {
    return unauthorized(
      'signature-future',
      `the signature is created in the future (created=${created.value})`,
    );
  }
  if (expires === undefined) return { ok: true, value: { created: created.value } };
  if (expires.type !== 'integer') return unauthorized('expires-invalid', "'expires' must be an integer");
  if (expires.value < input.nowSeconds) {
    return unauthorized('signature-expired', `the signature expired (expires=${expires.value})`);
  }
  return { ok: true, value: { created: created.value, expires: expires.value } };
}

/** A `keyid`, when present, must be a string equal to the expected key id. */
function checkKeyId(keyid: BareItem | undefined, expected: string | undefined): VerifyFailure | undefined {
  if (keyid === undefined) return undefined;
  if (keyid.type !== 'string') return unauthorized('keyid-invalid', "'keyid' must be a string");
  if (expected !== undefined && keyid.value !== expected) {
    return unauthorized('keyid-mismatch', 'the keyid does not identify the registered key');
  }
  return undefined;
}

/** The algorithms to try: the one named by `alg` (if it fits the key), else all the key supports. */
function candidateAlgorithms(alg: BareItem | undefined, key: KeyObject): Step<SignatureAlgorithm[]> {
  const supported = algorithmsForKey(key);
  if (supported.length === 0) {
    return unauthorized('key-unsupported', 'the registered key type cannot verify signatures');
  }
  if (alg === undefined) return { ok: true, value: supported };
  if (alg.type !== 'string' || !isSignatureAlgorithm(alg.value)) {
    return unauthorized('algorithm-unsupported', "the 'alg' parameter names an unsupported algorithm");
  }
  if (!isAlgorithmCompatible(key, alg.value)) {
    return unauthorized('algorithm-mismatch', `'alg' ${alg.value} does not match the registered key`);
  }
  return { ok: true, value: [alg.value] };
}

/** The covered component names (lowercased), rejecting non-string identifiers. */
function componentNames(components: readonly Item[]): Step<string[]> {
  const names: string[] = [];
  for (const component of components) {
    if (component.value.type !== 'string') {
      return unauthorized('signature-malformed', 'covered component identifiers must be strings');
    }
    names.push(component.value.value.toLowerCase());
  }
  return { ok: true, value: names };
}

/** The covered set must contain every name of at least one required alternative. */
function checkCoverage(covered: readonly string[], required: readonly string[][]): VerifyFailure | undefined {
  if (required.length === 0) return undefined;
  const set = new Set(covered);
  const satisfied = required.some((alternative) => alternative.every((name) => set.has(name.toLowerCase())));
  if (satisfied) return undefined;
  const wanted = required.map((alternative) => `(${alternative.join(' ')})`).join(' or ');
  return unauthorized('components-insufficient', `the signature must cover ${wanted}`);
}

/**
 * With a body (and `requireContentDigestWhenBody`), Content-Digest must be present (400), match the
 * body (400) and be covered by the signature (401). A Content-Digest sent without a body is still
 * checked against the (empty) body when the caller passed one.
 */
function checkBodyDigest(input: VerifyRequestInput, covered: readonly string[]): VerifyFailure | undefined {
  const header = headerText(input.headers['content-digest']);
  const hasBody = input.body !== undefined && input.body.length > 0;
  const required = hasBody && input.requireContentDigestWhenBody;
  if (!required && (header === undefined || input.body === undefined)) return undefined;
  const check = checkContentDigest(header, input.body ?? Buffer.alloc(0));
  if (!check.ok) {
    switch (check.reason) {
      case 'missing':
        return badRequest('content-digest-missing', 'a request with a body needs a Content-Digest header');
      case 'malformed':
        return badRequest('content-digest-malformed', check.message);
      case 'unsupported-algorithm':
        return badRequest('content-digest-unsupported-algorithm', check.message);
      case 'mismatch':
        return badRequest('content-digest-mismatch', check.message);
    }
  }
  if (required && !covered.includes('content-digest')) {
    return unauthorized(
      'content-digest-not-covered',
      'the signature must cover content-digest when a body is sent',
    );
  }
  return undefined;
}
