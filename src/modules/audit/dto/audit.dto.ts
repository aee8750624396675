import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsISO8601, IsOptional, IsString, MaxLength } from 'class-validator';
import { PageDto, PageQueryDto } from '../../../common/http/page.js';

export class AuditActorDto {
  @ApiProperty({ enum: ['bootstrap', 'token', 'oidc', 'system'], description: 'How the actor signed in' })
  kind!: string;

  @ApiPropertyOptional({ description: 'The created operator token id, or the OIDC subject' })
  id?: string;

  @ApiProperty({ example: 'plant-ui' })
  name!: string;
}

export class AuditResourceDto {
  @ApiProperty({ example: 'deployment' })
  type!: string;

  @ApiPropertyOptional({ example: '3f0c2a5e-8d1b-4c47-9a2e-6f1d2b7c9e10' })
  id?: string;
}

export class AuditEntryDto {
  @ApiProperty({ example: '42', description: 'Monotonic id (a decimal string)' })
  id!: string;

  @ApiProperty({ format: 'date-time' })
  at!: string;

  @ApiProperty({ type: AuditActorDto })
  actor!: AuditActorDto;

  @ApiProperty({ example: 'deployment.update' })
  action!: string;

  @ApiProperty({ type: AuditResourceDto })
  resource!: AuditResourceDto;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'A compact before/after of the change; never a secret or a token',
    example: { before: { revision: 1 }, after: { revision: 2 } },
  })
  summary!: Record<string, unknown>;

  @ApiPropertyOptional({ description: 'The X-Request-Id of the request that made the change' })
  requestId?: string;

  @ApiPropertyOptional({ example: '192.0.2.10' })
  sourceAddress?: string;

  @ApiProperty({ enum: ['ok', 'denied'], description: '`denied`: refused by authorization (403)' })
  outcome!: string;
}

export const AuditPageDto = PageDto(AuditEntryDto);

/** `GET /operator/v1/audit` filters (all optional, combined with AND), newest entries first. */
export class AuditQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'Actor: a created token id, an OIDC subject, or an actor name' })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  actor?: string;

  @ApiPropertyOptional({ example: 'deployment' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  resourceType?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  resourceId?: string;

  @ApiPropertyOptional({ example: 'deployment.update' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  action?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Entries at or after this time' })
  @IsOptional()
  @IsISO8601({ strict: true })
  from?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Entries before this time' })
  @IsOptional()
  @IsISO8601({ strict: true })
  to?: string;
}
