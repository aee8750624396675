import {
  applyDecorators,
  createParamDecorator,
  type ExecutionContext,
  Injectable,
  SetMetadata,
  UseGuards,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { ApiBearerAuth, ApiExtension, ApiSecurity } from '@nestjs/swagger';
import { ApiProblems } from '../../../common/openapi/api-problems.decorator.js';
import { ForbiddenRoleError, ForbiddenScopeError, InvalidCredentialsError } from '../enrollment.errors.js';
import type { AuthenticatedClient, OperatorPrincipal } from './authenticated-client.js';

/** Passport reports failures through `err`; strategies throw domain errors that must reach the filter. */
function rethrow<T>(err: unknown, user: T | false | undefined, fallback: string): T {
  if (err) throw err as Error;
  if (!user) throw new InvalidCredentialsError(fallback);
  return user;
}

@Injectable()
export class Rc3DeviceGuard extends AuthGuard('margo-mtls') {
  override handleRequest<T>(err: unknown, user: T | false): T {
    return rethrow(err, user, 'Mutual TLS authentication failed');
  }
}

@Injectable()
export class LegacyDeviceGuard extends AuthGuard('margo-http-signature') {
  override handleRequest<T>(err: unknown, user: T | false): T {
    return rethrow(err, user, 'Request signature verification failed');
  }
}

const ROLE_KEY = 'wfm:operator-role';
const UNSCOPED_KEY = 'wfm:operator-unscoped';
const RANK = { viewer: 0, operator: 1, admin: 2 } as const;
export type OperatorRoleName = keyof typeof RANK;

@Injectable()
export class OperatorGuard extends AuthGuard('operator-token') {
  constructor(private readonly reflector: Reflector) {
    super();
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    await super.canActivate(context);
    const needed =
      this.reflector.getAllAndOverride<OperatorRoleName | undefined>(ROLE_KEY, [
        context.getHandler(),
        context.getClass(),
      ]) ?? 'admin';
    const principal = context.switchToHttp().getRequest<{ user: OperatorPrincipal }>().user;
    if (RANK[principal.role] < RANK[needed]) throw new ForbiddenRoleError(needed, principal.role);
    const unscopedOnly = this.reflector.getAllAndOverride<boolean | undefined>(UNSCOPED_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (unscopedOnly && principal.scope !== undefined) throw new ForbiddenScopeError(principal.scope);
    return true;
  }

  override handleRequest<T>(err: unknown, user: T | false): T {
    return rethrow(err, user, 'An operator bearer token is required (Authorization: Bearer <token>)');
  }
}

/** rc.3 device route: mutual TLS + accepted-client policy. */
export const Rc3Device = () =>
  applyDecorators(UseGuards(Rc3DeviceGuard), ApiSecurity('mTLS'), ApiProblems(401, 403, 429));

/** Legacy device route under /api/v1/clients/{clientId}/…: RFC 9421 signature. */
export const LegacyDevice = () =>
  applyDecorators(
    UseGuards(LegacyDeviceGuard),
    ApiSecurity('httpSignature'),
    ApiProblems(400, 401, 403, 404, 429),
  );

/**
 * Operator route needing at least `role` (admin > operator > viewer). `unscoped`: a fleet-wide
 * operation (tokens, the accepted-client policy, packages, fleet defaults) that a principal limited
 * to a label scope may not use (403).
 */
export const OperatorAuth = (role: OperatorRoleName, options: { unscoped?: boolean } = {}) =>
  applyDecorators(
    SetMetadata(ROLE_KEY, role),
    ...(options.unscoped ? [SetMetadata(UNSCOPED_KEY, true), ApiExtension('x-unscoped-only', true)] : []),
    UseGuards(OperatorGuard),
    ApiBearerAuth('operator-token'),
    ApiExtension('x-required-role', role),
    ApiProblems(401, 403),
  );

/** The authenticated device client of this request. */
export const CurrentClient = createParamDecorator(
  (_: unknown, ctx: ExecutionContext) => ctx.switchToHttp().getRequest<{ user: AuthenticatedClient }>().user,
);

/** The authenticated operator of this request. */
export const CurrentOperator = createParamDecorator(
  (_: unknown, ctx: ExecutionContext) => ctx.switchToHttp().getRequest<{ user: OperatorPrincipal }>().user,
);
