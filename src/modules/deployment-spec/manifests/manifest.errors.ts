import { DomainError, NotFoundError } from '../../../common/problem/domain-error.js';
import { ProblemType } from '../../../common/problem/problem-types.js';

export class DeploymentDocumentNotFoundError extends NotFoundError {
  constructor(deploymentId: string, digest: string) {
    super(
      `No ApplicationDeployment ${deploymentId} with digest ${digest} is available to this client`,
      ProblemType.deploymentNotFound,
      'Deployment not found',
    );
  }
}

export class BundleNotFoundError extends NotFoundError {
  constructor(digest: string) {
    super(
      `No bundle with digest ${digest} is available to this client`,
      ProblemType.invalidBundle,
      'Bundle not found',
    );
  }
}

export class NotAcceptableError extends DomainError {
  constructor(accept: string) {
    super(
      406,
      ProblemType.serverCannotGenerateResponse,
      'Not Acceptable',
      `The Accept header (${accept}) lists no type this server can produce; the manifest is application/vnd.margo.manifest.v1+json`,
    );
  }
}
