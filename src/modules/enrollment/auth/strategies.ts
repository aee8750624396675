import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { Request } from 'express';
import { Strategy as CustomStrategy } from 'passport-custom';
import { Strategy as BearerStrategy } from 'passport-http-bearer';
import type { AuthenticatedClient, OperatorPrincipal } from './authenticated-client.js';
import { DeviceAuthService } from './device-auth.service.js';
import { FailedAuthLimiter } from './failed-auth-limiter.service.js';
import { OperatorAuthService } from './operator-auth.service.js';

/** rc.3 devices: mutual TLS with an X.509-SVID in the accepted-client policy. */
@Injectable()
export class MtlsStrategy extends PassportStrategy(CustomStrategy, 'margo-mtls') {
  constructor(private readonly auth: DeviceAuthService) {
    super();
  }

  validate(req: Request): Promise<AuthenticatedClient> {
    return this.auth.authenticateRc3(req);
  }
}

/** Legacy "clientId" devices: RFC 9421 request signatures with the onboarded certificate's key. */
@Injectable()
export class HttpSignatureStrategy extends PassportStrategy(CustomStrategy, 'margo-http-signature') {
  constructor(private readonly auth: DeviceAuthService) {
    super();
  }

  validate(req: Request): Promise<AuthenticatedClient> {
    return this.auth.authenticateLegacy(req);
  }
}

/** Operators: bearer tokens (the bootstrap admin token or tokens an admin created). */
@Injectable()
export class OperatorTokenStrategy extends PassportStrategy(BearerStrategy, 'operator-token') {
  constructor(
    private readonly auth: OperatorAuthService,
    private readonly failures: FailedAuthLimiter,
  ) {
    super({ passReqToCallback: true });
  }

  validate(req: Request, token: string): Promise<OperatorPrincipal> {
    return this.failures.run(req, () => this.auth.authenticate(token));
  }
}
