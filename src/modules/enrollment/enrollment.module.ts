import { Module } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import { DeviceAuthService } from './auth/device-auth.service.js';
import { FailedAuthLimiter } from './auth/failed-auth-limiter.service.js';
import { LegacyDeviceGuard, OperatorGuard, Rc3DeviceGuard } from './auth/guards.js';
import { OidcVerifier } from './auth/oidc-verifier.js';
import { OperatorAuthService } from './auth/operator-auth.service.js';
import { HttpSignatureStrategy, MtlsStrategy, OperatorTokenStrategy } from './auth/strategies.js';
import { ClientDirectory } from './client-directory.service.js';
import { ClientRepository } from './client.repository.js';
import { ClientsService } from './clients.service.js';
import { EnrollmentRequestRecorder } from './enrollment-request.recorder.js';
import { EnrollmentRequestRepository } from './enrollment-request.repository.js';
import { EnrollmentRequestsService } from './enrollment-requests.service.js';
import { OperatorEnrollmentRequestsController } from './operator-enrollment-requests.controller.js';
import { TrustStore } from './identity/trust-store.service.js';
import { OnboardingController } from './onboarding.controller.js';
import { OnboardingService } from './onboarding.service.js';
import { OperatorAccessController } from './operator-access.controller.js';
import { OperatorClientsController } from './operator-clients.controller.js';
import { OperatorTokenRepository } from './operator-token.repository.js';
import { OperatorTokensService } from './operator-tokens.service.js';

/**
 * Who may connect: rc.3 mutual TLS with SPIFFE X.509-SVIDs and the accepted-client policy, legacy
 * onboarding with RFC 9421 request signatures, operator tokens, and rc.3 enrollment requests
 * (valid SVIDs of unaccepted client ids, recorded for operators to approve or reject). Exports the guards, the trust
 * store and the client directory so other modules can protect their routes and resolve clients.
 */
@Module({
  imports: [PassportModule],
  controllers: [
    OnboardingController,
    OperatorClientsController,
    OperatorAccessController,
    OperatorEnrollmentRequestsController,
  ],
  providers: [
    ClientRepository,
    OperatorTokenRepository,
    ClientDirectory,
    TrustStore,
    DeviceAuthService,
    FailedAuthLimiter,
    OidcVerifier,
    OperatorAuthService,
    OnboardingService,
    ClientsService,
    OperatorTokensService,
    EnrollmentRequestRepository,
    EnrollmentRequestRecorder,
    EnrollmentRequestsService,
    MtlsStrategy,
    HttpSignatureStrategy,
    OperatorTokenStrategy,
    Rc3DeviceGuard,
    LegacyDeviceGuard,
    OperatorGuard,
  ],
  exports: [
    TrustStore,
    ClientDirectory,
    ClientsService,
    Rc3DeviceGuard,
    LegacyDeviceGuard,
    OperatorGuard,
    DeviceAuthService,
    OperatorAuthService,
    FailedAuthLimiter,
  ],
})
export class EnrollmentModule {}
