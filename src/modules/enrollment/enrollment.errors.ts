import {
  ConflictError,
  DomainError,
  InvalidRequestError,
  NotAuthorizedError,
  NotFoundError,
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

export class CertificateAlreadyOnboardedError extends ConflictError {
  constructor(fingerprint: string) {
    super(`The certificate with SHA-256 fingerprint ${fingerprint} is already onboarded`, { fingerprint });
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
