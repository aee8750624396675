import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Matches } from 'class-validator';
import { type Page, PageDto, PageQueryDto } from '../../../common/http/page.js';

export const ENROLLMENT_REQUEST_STATES = ['pending', 'approved', 'rejected'] as const;

/** An rc.3 client that presented a valid X.509-SVID of an unaccepted client id (one per certificate). */
export class EnrollmentRequestDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ description: 'The wfm-client-id of the SPIFFE ID', example: 'line-7' })
  clientId!: string;

  @ApiProperty({ example: 'spiffe://wfm.local/margo/wfm/wfm-1/client/line-7' })
  spiffeId!: string;

  @ApiProperty({ description: 'Hex SHA-256 of the leaf certificate (DER)' })
  certificateFingerprint!: string;

  @ApiProperty({ format: 'date-time' })
  notBefore!: string;

  @ApiProperty({ format: 'date-time' })
  notAfter!: string;

  @ApiProperty({ format: 'date-time' })
  firstSeenAt!: string;

  @ApiProperty({ format: 'date-time', description: 'Up to WFM_ENROLLMENT_REQUESTS_FLUSH_MS behind' })
  lastSeenAt!: string;

  @ApiProperty({ description: 'Requests refused with this certificate (and the auto-accepted first one)' })
  requestCount!: number;

  @ApiProperty({ type: [String], description: 'Device ids it tried to report (the first 16)' })
  deviceIds!: string[];

  @ApiPropertyOptional({ type: String, nullable: true })
  lastRemoteAddress!: string | null;

  @ApiProperty({ enum: ENROLLMENT_REQUEST_STATES, enumName: 'EnrollmentRequestState' })
  state!: string;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    description: 'Who decided: an operator name, or "auto-accept" (WFM_ENROLLMENT_AUTO_ACCEPT)',
  })
  decidedBy!: string | null;

  @ApiPropertyOptional({ type: String, format: 'date-time', nullable: true })
  decidedAt!: string | null;
}

/** `{items, next}` of enrollment requests. */
export const EnrollmentRequestPageDto = PageDto(EnrollmentRequestDto);
export type EnrollmentRequestPageDto = Page<EnrollmentRequestDto>;

export class EnrollmentRequestListQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: ENROLLMENT_REQUEST_STATES, enumName: 'EnrollmentRequestState' })
  @IsOptional()
  @IsIn(ENROLLMENT_REQUEST_STATES)
  state?: (typeof ENROLLMENT_REQUEST_STATES)[number];

  @ApiPropertyOptional({ description: 'Only the requests of this wfm-client-id' })
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9._-]{1,255}$/, { message: 'clientId must be a wfm-client-id' })
  clientId?: string;
}
