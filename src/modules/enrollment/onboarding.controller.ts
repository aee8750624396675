import { Body, Controller, Get, HttpCode, Post, Req } from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { RawBodyRequest } from '../../common/http/body-reader.middleware.js';
import { ApiProblems } from '../../common/openapi/api-problems.decorator.js';
import {
  OnboardingCertificateDto,
  OnboardingRequestDto,
  OnboardingResponseDto,
} from './dto/onboarding.dto.js';
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
      '(POST /operator/v1/clients/{clientId}/approve), `preauthorized` admits only pre-registered certificates.',
  })
  @ApiBody({ type: OnboardingRequestDto })
  @ApiCreatedResponse({ type: OnboardingResponseDto })
  @ApiProblems(400, 401, 403, 409)
  async onboardClient(
    @Body() body: Record<string, unknown>,
    @Req() req: RawBodyRequest,
  ): Promise<OnboardingResponseDto> {
    const { clientId, olderShape } = await this.onboarding.onboard(body, req);
    return olderShape ? { clientId, client_id: clientId } : { clientId };
  }
}
