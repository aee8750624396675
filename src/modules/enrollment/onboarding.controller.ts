import { Body, Controller, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import type { Response } from 'express';
import { ApiBody, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { RawBodyRequest } from '../../common/http/body-reader.middleware.js';
import { ApiProblems } from '../../common/openapi/api-problems.decorator.js';
import {
  OnboardingCertificateDto,
  OnboardingRequestDto,
  OnboardingResponseDto,
} from './dto/onboarding.dto.js';
import { CertificateAlreadyOnboardedError } from './enrollment.errors.js';
import { OnboardingService } from './onboarding.service.js';

/** Legacy ("clientId") profile onboarding. rc.3 clients do not onboard: an operator accepts their SVID. */
@ApiTags('Device API (legacy profile)')
@Controller('api/v1/onboarding')
export class OnboardingController {
  constructor(private readonly onboarding: OnboardingService) {}

  @Get('certificate')
  @ApiOperation({
    summary: "The WFM's root CA certificate, for the client to trust the server (unauthenticated)",
  })
  @ApiOkResponse({ type: OnboardingCertificateDto })
  getOnboardingCertificate(): OnboardingCertificateDto {
    return { certificate: this.onboarding.rootCertificate() };
  }

  @Post()
  @HttpCode(201)
  @ApiOperation({
    summary: 'Onboard a client certificate; answers the clientId',
    description:
      'The onboarding mode decides: `auto` admits at once, `approval` waits for an operator to approve ' +
      '(POST /operator/v1/clients/{clientId}/approve), `preauthorized` admits only pre-registered certificates. ' +
      "Signing the request (RFC 9421) with the certificate's key proves possession of it. A certificate " +
      'onboarded before answers 409 with its `clientId` (also in `Location`): only its key authenticates ' +
      'later requests. Rate-limited per source address (429) and capped by pending approvals (503).',
  })
  @ApiBody({ type: OnboardingRequestDto })
  @ApiCreatedResponse({ type: OnboardingResponseDto })
  @ApiProblems(400, 401, 403, 409, 429, 503)
  async onboardClient(
    @Body() body: Record<string, unknown>,
    @Req() req: RawBodyRequest,
    @Res({ passthrough: true }) res: Response,
  ): Promise<OnboardingResponseDto> {
    try {
      const { clientId, olderShape } = await this.onboarding.onboard(body, req);
      res.setHeader('Location', clientLocation(clientId));
      return olderShape ? { clientId, client_id: clientId } : { clientId };
    } catch (error) {
      if (error instanceof CertificateAlreadyOnboardedError) {
        res.setHeader('Location', clientLocation(error.clientId));
      }
      throw error;
    }
  }
}

function clientLocation(clientId: string): string {
  return `/api/v1/clients/${encodeURIComponent(clientId)}`;
}
