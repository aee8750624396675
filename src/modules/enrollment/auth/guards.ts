import {
  applyDecorators,
  createParamDecorator,
  type ExecutionContext,
  Inject,
  Injectable,
  SetMetadata,
  UseGuards,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { ApiBearerAuth, ApiExtension, ApiSecurity } from '@nestjs/swagger';
import type { Request } from 'express';
import { setRequestActor } from '../../../common/logging/request-context.js';
import { ApiProblems } from '../../../common/openapi/api-problems.decorator.js';
import { APP_CONFIG, type AppConfig } from '../../../config/config.js';
import { AUDIT_ACTION_KEY, type AuditActionMeta } from '../../../infra/audit/audit-action.decorator.js';
import { AuditService } from '../../../infra/audit/audit.service.js';
import { ForbiddenRoleError, ForbiddenScopeError, InvalidCredentialsError } from '../enrollment.errors.js';
import type { AuthenticatedClient, OperatorPrincipal } from './authenticated-client.js';
import { TrustedProxies } from './trusted-proxies.js';

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

/** The audit actor of an operator: token id + name, OIDC subject + name, or the bootstrap admin. */
export function actorOf(principal: OperatorPrincipal): {
  kind: OperatorPrincipal['via'];
  id?: string;
  name: string;
} {
  const id = principal.via === 'oidc' ? principal.subject : principal.tokenId;
  return { kind: principal.via, ...(id !== undefined ? { id } : {}), name: principal.name };
}

/**
 * Operator routes: authenticates the bearer (OperatorTokenStrategy), puts the operator and its address
 * into the request context (for the audit log), and checks the role; a refusal (403) is recorded in
 * the audit log with outcome `denied`.
 */
@Injectable()
export class OperatorGuard extends AuthGuard('operator-token') {
  private readonly proxies: TrustedProxies;

  constructor(
    private readonly reflector: Reflector,
    private readonly audit: AuditService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    super();
    this.proxies = new TrustedProxies(config.tls.trustedProxies);
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    await super.canActivate(context);
    const needed =
      this.reflector.getAllAndOverride<OperatorRoleName | undefined>(ROLE_KEY, [
        context.getHandler(),
        context.getClass(),
      ]) ?? 'admin';
    const req = context.switchToHttp().getRequest<Request & { user: OperatorPrincipal }>();
    const principal = req.user;
    setRequestActor(actorOf(principal), this.proxies.sourceAddress(req));
    if (RANK[principal.role] < RANK[needed]) {
      await this.audit.recordDenied(this.deniedEntry(context, req, needed, principal.role));
      throw new ForbiddenRoleError(needed, principal.role);
    }
    const unscopedOnly = this.reflector.getAllAndOverride<boolean | undefined>(UNSCOPED_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (unscopedOnly && principal.scope !== undefined) {
      await this.audit.recordDenied({
        ...this.deniedEntry(context, req, needed, principal.role),
        summary: { scope: principal.scope, needs: 'an unscoped token', method: req.method },
      });
      throw new ForbiddenScopeError(principal.scope);
    }
    return true;
  }

  /** The route's audit action (AuditAction), else `http.<method>` on the route pattern. */
  private deniedEntry(context: ExecutionContext, req: Request, needed: string, has: string) {
    const meta = this.reflector.get<AuditActionMeta | undefined>(AUDIT_ACTION_KEY, context.getHandler());
    const params = req.params as Record<string, string | string[] | undefined>;
    const param = meta?.idParam !== undefined ? params[meta.idParam] : undefined;
    const route = (req as unknown as { route?: { path?: string } }).route?.path;
    return {
      // `{param}` in an action name is the route parameter (e.g. rollout.{action})
      action:
        meta?.action.replace(/\{(\w+)\}/g, (_, name: string) => String(params[name] ?? name)) ??
        `http.${req.method.toLowerCase()}`,
      resource: meta
        ? { type: meta.resourceType, id: Array.isArray(param) ? param.join('/') : (param ?? null) }
        : { type: 'route', id: `${req.baseUrl}${route ?? req.path}` },
      summary: { neededRole: needed, role: has, method: req.method },
    };
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
