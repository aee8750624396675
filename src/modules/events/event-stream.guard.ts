import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import type { OperatorPrincipal } from '../enrollment/auth/authenticated-client.js';
import { FailedAuthLimiter } from '../enrollment/auth/failed-auth-limiter.service.js';
import { EventTokenService } from './event-token.service.js';

/**
 * Who may open the event stream: an operator bearer token of any role, or a stream token in
 * `?token=` or the `wfm_sse` cookie. Runs before validation, so strangers learn nothing; a bad token
 * counts against the address's failed-authentication budget.
 */
@Injectable()
export class EventStreamGuard implements CanActivate {
  constructor(
    private readonly tokens: EventTokenService,
    private readonly failures: FailedAuthLimiter,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<Request & { user?: OperatorPrincipal }>();
    req.user = await this.failures.run(req, () => this.tokens.authenticate(req));
    return true;
  }
}
