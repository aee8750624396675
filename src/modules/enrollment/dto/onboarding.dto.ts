import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class OnboardingCertificateDto {
  @ApiProperty({ description: 'Base64 of the WFM root CA certificate (PEM)' })
  certificate!: string;
}

export class OnboardingRequestDto {
  @ApiProperty({ example: 'onboarding.margo.org/v1alpha1' })
  apiVersion!: string;

  @ApiProperty({ example: 'OnboardingRequest' })
  kind!: string;

  @ApiProperty({
    description: 'The client certificate: base64 of PEM or DER (older agents send `public_certificate`)',
  })
  certificate!: string;
}

export class OnboardingResponseDto {
  @ApiProperty({ description: 'The clientId for /api/v1/clients/{clientId}/… routes' })
  clientId!: string;

  @ApiPropertyOptional({ description: 'The same id for agents of the oldest draft (snake_case)' })
  client_id?: string;
}
