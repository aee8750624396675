import { NotFoundError } from '../../../common/problem/domain-error.js';

export class DeploymentNotFoundError extends NotFoundError {
  constructor(id: string) {
    super(`No deployment ${id}`);
  }
}
