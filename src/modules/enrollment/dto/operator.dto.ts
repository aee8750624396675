import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  IsIn,
  IsOptional,
  IsString,
  Length,
  Matches,
  MaxLength,
  Validate,
  ValidateIf,
  type ValidationArguments,
  ValidatorConstraint,
  type ValidatorConstraintInterface,
} from 'class-validator';

export const OPERATOR_ROLES = ['admin', 'operator', 'viewer'] as const;

const SCOPE_KEY = /^[A-Za-z0-9]([A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?$/;
const MAX_SCOPE_PAIRS = 8;

/** A label scope: 1–8 `key: value` pairs of device labels (keys like label keys, values non-empty strings). */
@ValidatorConstraint({ name: 'labelScope' })
export class LabelScopeConstraint implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    if (!value || typeof value !== 'object' || Array.isArray(value)) return false;
    const entries = Object.entries(value as Record<string, unknown>);
    return (
      entries.length >= 1 &&
      entries.length <= MAX_SCOPE_PAIRS &&
      entries.every(
        ([k, v]) =>
          SCOPE_KEY.test(k) &&
          typeof v === 'string' &&
          v.length >= 1 &&
          v.length <= 256 &&
          ![...v].some((c) => c.charCodeAt(0) < 32 || c.charCodeAt(0) === 127),
      )
    );
  }
  defaultMessage(args: ValidationArguments): string {
    return `${args.property} must be an object of 1–${MAX_SCOPE_PAIRS} device label pairs with string values, e.g. {"site": "DE-001"}`;
  }
}

const SCOPE_PROPERTY = {
  type: 'object',
  additionalProperties: { type: 'string' },
  example: { site: 'DE-001' },
} as const;

export class OperatorTokenCreateDto {
  @ApiProperty({ example: 'plant-ui' })
  @IsString()
  @Length(1, 100)
  name!: string;

  @ApiProperty({ enum: OPERATOR_ROLES, enumName: 'OperatorRole' })
  @IsIn(OPERATOR_ROLES)
  role!: (typeof OPERATOR_ROLES)[number];

  @ApiPropertyOptional({
    ...SCOPE_PROPERTY,
    description:
      'Limit the token to devices whose labels contain all these pairs (and the clients, deployments and events about them); absent: the whole fleet',
  })
  @IsOptional()
  @Validate(LabelScopeConstraint)
  scope?: Record<string, string>;
}

export class OperatorTokenDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty()
  name!: string;

  @ApiProperty({ enum: OPERATOR_ROLES, enumName: 'OperatorRole' })
  role!: string;

  @ApiProperty({ description: 'First characters of the token, to recognise it' })
  prefix!: string;

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;

  @ApiPropertyOptional({ type: String, nullable: true })
  createdBy!: string | null;

  @ApiPropertyOptional({ type: String, format: 'date-time', nullable: true })
  revokedAt!: string | null;

  @ApiPropertyOptional({ type: String, format: 'date-time', nullable: true })
  lastUsedAt!: string | null;

  @ApiPropertyOptional({ ...SCOPE_PROPERTY, description: 'The label scope; absent: the whole fleet' })
  scope?: Record<string, string>;
}

export class OperatorTokenCreatedDto extends OperatorTokenDto {
  @ApiProperty({ description: 'The bearer token; shown once, stored only as a hash' })
  token!: string;
}

export class PreauthorizedCertificateCreateDto {
  @ApiPropertyOptional({ description: 'Hex SHA-256 of the certificate DER (colons allowed)' })
  // required without a certificate, and checked whenever it is sent (a certificate beside it wins)
  @ValidateIf(
    (o: PreauthorizedCertificateCreateDto) => o.certificate === undefined || o.fingerprint !== undefined,
  )
  @IsString()
  @Matches(/^([0-9a-fA-F]{2}:?){31}[0-9a-fA-F]{2}$/, { message: 'fingerprint must be 64 hex digits' })
  fingerprint?: string;

  @ApiPropertyOptional({ description: 'Or the certificate itself (PEM, or base64 of PEM or DER)' })
  @IsOptional()
  @IsString()
  @MaxLength(65_536)
  certificate?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(200)
  note?: string;
}

export class PreauthorizedCertificateDto {
  @ApiProperty()
  fingerprint!: string;

  @ApiPropertyOptional({ type: String, nullable: true })
  note!: string | null;

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;

  @ApiPropertyOptional({ type: String, format: 'date-time', nullable: true })
  usedAt!: string | null;
}

/** Who the caller of the operator API is (`GET /operator/v1/me`). */
export class OperatorMeDto {
  @ApiProperty({ example: 'plant-ui' })
  name!: string;

  @ApiProperty({ enum: OPERATOR_ROLES, enumName: 'OperatorRole' })
  role!: string;

  @ApiProperty({
    enum: ['bootstrap', 'token', 'oidc'],
    description: 'How the caller signed in: the bootstrap admin token, a created token, or OIDC',
  })
  via!: string;

  @ApiPropertyOptional({ format: 'uuid', description: 'The created operator token in use' })
  tokenId?: string;

  @ApiPropertyOptional({ description: 'OIDC: the token subject' })
  subject?: string;

  @ApiPropertyOptional({
    description: 'OIDC: the token issuer',
    example: 'https://login.example.com/realms/wfm',
  })
  issuer?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string' },
    example: { site: 'DE-001' },
    description: 'The label scope the caller is limited to; absent: the whole fleet',
  })
  scope?: Record<string, string>;
}
