import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import type { OperatorPrincipal } from '../../modules/enrollment/auth/authenticated-client.js';
import { EventTokenService } from './event-token.service.js';

/**
 * Who may open the event stream: an operator bearer token of any role, or a stream token in
 * `?token=` or the `wfm_sse` cookie. Runs before validation, so strangers learn nothing.
 */
@Injectable()
export class EventStreamGuard implements CanActivate {
  constructor(private readonly tokens: EventTokenService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<Request & { user?: OperatorPrincipal }>();
    req.user = await this.tokens.authenticate(req);
    return true;
  }
}
