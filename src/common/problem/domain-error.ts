import { type FieldError, ProblemType } from './problem-types.js';

/**
 * Base class of every error a service throws on purpose. The one problem filter renders it as an
 * RFC 9457 document; services never throw HttpException.
 */
export class DomainError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    readonly title: string,
    detail: string,
    readonly extensions: Record<string, unknown> = {},
    /** For 429/503: seconds the caller should wait (sent as Retry-After). */
    readonly retryAfterSeconds?: number,
  ) {
    super(detail);
    this.name = new.target.name;
  }
}

/** 400: bytes that are not the expected format (malformed JSON, missing Content-Digest …). */
export class InvalidRequestError extends DomainError {
  constructor(detail: string, errors?: FieldError[]) {
    super(400, ProblemType.invalidRequest, 'Invalid request', detail, errors ? { errors } : {});
  }
}

/** 422: well-formed input that breaks a rule; `errors[]` points at each offending field. */
export class SemanticError extends DomainError {
  constructor(detail: string, errors: FieldError[]) {
    super(422, ProblemType.semanticError, 'Semantic error', detail, { errors });
  }
}

export class NotAuthorizedError extends DomainError {
  constructor(detail: string, title = 'Not authorized') {
    super(403, ProblemType.notAuthorized, title, detail);
  }
}

export class UnauthenticatedError extends DomainError {
  constructor(detail: string) {
    super(401, ProblemType.aboutBlank, 'Unauthorized', detail);
  }
}

export class NotFoundError extends DomainError {
  constructor(detail: string, type: string = ProblemType.aboutBlank, title = 'Not Found') {
    super(404, type, title, detail);
  }
}

export class ConflictError extends DomainError {
  constructor(detail: string, extensions: Record<string, unknown> = {}) {
    super(409, ProblemType.aboutBlank, 'Conflict', detail, extensions);
  }
}

export class TooManyRequestsError extends DomainError {
  constructor(detail: string, retryAfterSeconds: number) {
    super(429, ProblemType.aboutBlank, 'Too Many Requests', detail, {}, retryAfterSeconds);
  }
}

export class ServiceUnavailableError extends DomainError {
  constructor(detail: string, retryAfterSeconds = 5, extensions: Record<string, unknown> = {}) {
    super(503, ProblemType.aboutBlank, 'Service Unavailable', detail, extensions, retryAfterSeconds);
  }
}
