import {
  ConflictError,
  DomainError,
  InvalidRequestError,
  NotAuthorizedError,
  NotFoundError,
  ServiceUnavailableError,
  TooManyRequestsError,
  UnauthenticatedError,
} from '../../common/problem/domain-error.js';
import { ProblemType } from '../../common/problem/problem-types.js';

export class ClientNotAuthorizedError extends NotAuthorizedError {
  constructor(detail: string, retired = false) {
    super(detail, retired ? 'Client Relationship Retired' : 'Not authorized');
  }
}

export class InvalidCredentialsError extends UnauthenticatedError {}

export class UnknownClientError extends NotFoundError {
  constructor(clientId: string) {
    super(`No client with id ${clientId} is onboarded at this WFM`);
  }
}

export class InvalidOnboardingRequestError extends InvalidRequestError {}

/**
 * 409 on a repeated onboarding. It names the clientId: the certificate's key alone authenticates
 * later requests, so the real device continues with it, and a mere uploader gains nothing.
 */
export class CertificateAlreadyOnboardedError extends ConflictError {
  constructor(
    fingerprint: string,
    readonly clientId: string,
    proofOfPossession: boolean,
  ) {
    super(
      `The certificate with SHA-256 fingerprint ${fingerprint} is already onboarded as client ${clientId}; ` +
        "continue with that clientId, authenticating with the certificate's key",
      { fingerprint, clientId, proofOfPossession },
    );
  }
}

export class OnboardingRateLimitedError extends TooManyRequestsError {
  constructor(retryAfterSeconds: number) {
    super(
      `Too many onboarding requests from this address; retry in ${retryAfterSeconds} s`,
      retryAfterSeconds,
    );
  }
}

export class OnboardingQueueFullError extends ServiceUnavailableError {
  constructor(pendingMax: number) {
    super(
      `The onboarding approval queue is full (${pendingMax} requests wait for an operator); retry later`,
      60,
    );
  }
}

export class ClientNotFoundError extends NotFoundError {
  constructor(id: string) {
    super(`No client ${id}`);
  }
}

export class TokenNotFoundError extends NotFoundError {
  constructor(id: string) {
    super(`No operator token ${id}`);
  }
}

export class ForbiddenRoleError extends DomainError {
  constructor(needed: string, has: string) {
    super(
      403,
      ProblemType.aboutBlank,
      'Forbidden',
      `This operation needs the ${needed} role; the token has ${has}`,
    );
  }
}

export class ClientStateConflictError extends ConflictError {}

/** A fleet-wide operation refused to a principal limited to a label scope. */
export class ForbiddenScopeError extends DomainError {
  constructor(scope: Record<string, string>) {
    const pairs = Object.entries(scope)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ');
    super(
      403,
      ProblemType.aboutBlank,
      'Forbidden',
      `This is a fleet-wide operation; the caller is limited to the scope ${pairs}`,
    );
  }
}

export class EnrollmentRequestNotFoundError extends NotFoundError {
  constructor(id: string) {
    super(`No enrollment request ${id}`);
  }
}

export class EnrollmentRequestConflictError extends ConflictError {}
