import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { type Page, PageDto, PageQueryDto } from '../../../common/http/page.js';

export const CLIENT_PROFILES = ['rc3', 'legacy'] as const;
export const CLIENT_STATES = ['pending', 'active', 'retired', 'rejected'] as const;

export class ClientDto {
  @ApiProperty({
    description: 'rc.3: the wfm-client-id of its SPIFFE ID; legacy: the clientId issued at onboarding',
  })
  clientId!: string;

  @ApiProperty({ format: 'uuid', description: 'Internal id' })
  id!: string;

  @ApiProperty({ enum: CLIENT_PROFILES, enumName: 'ClientProfile' })
  profile!: string;

  @ApiProperty({ enum: CLIENT_STATES, enumName: 'ClientState' })
  state!: string;

  @ApiPropertyOptional({ description: 'rc.3: the SPIFFE ID this client authenticates with' })
  spiffeId?: string;

  @ApiPropertyOptional({ description: 'Legacy: hex SHA-256 of the onboarded certificate (DER)' })
  certificateFingerprint?: string;

  @ApiPropertyOptional({ description: 'Legacy: the onboarded certificate subject' })
  certificateSubject?: string;

  @ApiPropertyOptional({ description: 'Legacy: RFC 9421 keyid (hex SHA-256 of the SPKI DER)' })
  keyId?: string;

  @ApiPropertyOptional({
    description:
      "Legacy: whether an onboarding request signed with the certificate's key proved that the " +
      'client holds it (an unsigned upload proves nothing; approve only what you expect)',
  })
  proofOfPossession?: boolean;

  @ApiPropertyOptional({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'Legacy: when possession was proven',
  })
  possessionProvenAt?: string | null;

  @ApiPropertyOptional({ type: String, format: 'date-time', nullable: true })
  firstSeenAt!: string | null;

  @ApiPropertyOptional({ type: String, format: 'date-time', nullable: true })
  lastSeenAt!: string | null;

  @ApiPropertyOptional({ type: String, nullable: true })
  lastRemoteAddress!: string | null;

  @ApiProperty({ format: 'date-time' })
  stateChangedAt!: string;

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;
}

/** `{items, next}` of clients. */
export const ClientPageDto = PageDto(ClientDto);
export type ClientPageDto = Page<ClientDto>;

export class ClientListQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: CLIENT_PROFILES, enumName: 'ClientProfile' })
  @IsOptional()
  @IsIn(CLIENT_PROFILES)
  profile?: (typeof CLIENT_PROFILES)[number];

  @ApiPropertyOptional({ enum: CLIENT_STATES, enumName: 'ClientState' })
  @IsOptional()
  @IsIn(CLIENT_STATES)
  state?: (typeof CLIENT_STATES)[number];
}

export class ClientProfileQueryDto {
  @ApiPropertyOptional({
    enum: CLIENT_PROFILES,
    enumName: 'ClientProfile',
    description: 'Needed only when an rc.3 and a legacy client share the id',
  })
  @IsOptional()
  @IsIn(CLIENT_PROFILES)
  profile?: (typeof CLIENT_PROFILES)[number];
}
