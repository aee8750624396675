import { NotFoundError } from '../../../common/problem/domain-error.js';

export class PackageNotFoundError extends NotFoundError {
  constructor(what: string) {
    super(`No application package ${what}`);
  }
}
