import type { FieldError } from '../json/field-error.js';

/**
 * Problem `type` URIs. The Margo ones come from the specification's registry (spec doc §3.4) and are
 * used whenever the condition is one of the standard Margo categories; `about:blank` otherwise
 * (its `title` is then the HTTP reason phrase).
 */
const MARGO = 'https://docs.margo.org/specification/problem-types';

export const ProblemType = {
  invalidRequest: `${MARGO}#invalid-request`,
  semanticError: `${MARGO}#semantic-error`,
  notAuthorized: `${MARGO}#not-authorized`,
  gatewayNotFound: `${MARGO}#gateway-not-found`,
  deviceNotFound: `${MARGO}#device-not-found`,
  invalidBundle: `${MARGO}#invalid-bundle`,
  deploymentNotFound: `${MARGO}#deployment-not-found`,
  serverCannotGenerateResponse: `${MARGO}#server-cannot-generate-response`,
  aboutBlank: 'about:blank',
} as const;

export type ProblemTypeUri = (typeof ProblemType)[keyof typeof ProblemType];

// A field error is what the JSON toolkit collects; a problem document carries them.
export type { FieldError };

/** The RFC 9457 document this service sends, with the Margo extension members (spec doc §2.7). */
export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  requestId?: string;
  retryable: boolean;
  backoffStrategy: 'none' | 'fixed' | 'exponential';
  retryAfterSeconds?: number;
  errors?: FieldError[];
  [extension: string]: unknown;
}
