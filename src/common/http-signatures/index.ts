/** Server-side RFC 9421 HTTP Message Signatures and RFC 9530 Content-Digest (no dependencies beyond node:crypto). */
export {
  checkContentDigest,
  contentDigest,
  contentDigestHeader,
  type ContentDigestAlgorithm,
  type ContentDigestCheck,
} from './content-digest.js';
export {
  algorithmsForKey,
  isAlgorithmCompatible,
  isSignatureAlgorithm,
  keyIdOf,
  publicKeyOf,
  SIGNATURE_ALGORITHMS,
  signatureKeyTypeOf,
  verifyWithAlgorithm,
  type SignatureAlgorithm,
  type SignatureKeyType,
} from './keys.js';
export {
  buildSignatureBase,
  headerLookupFrom,
  SignatureBaseError,
  signatureParamsValue,
  type HeaderLookup,
  type HeaderRecord,
  type SignatureBaseErrorCode,
  type SignatureBaseInput,
} from './signature-base.js';
export { parseDictionary, StructuredFieldError } from './structured-fields.js';
export {
  verifyRequestSignature,
  type VerifyFailure,
  type VerifyFailureReason,
  type VerifyRequestInput,
  type VerifyResult,
  type VerifySuccess,
} from './verify.js';
