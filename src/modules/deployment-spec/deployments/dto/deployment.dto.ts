import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { MAX_ID_LENGTH } from '../../../../common/http/input-limits.js';
import {
  IsArray,
  IsDefined,
  IsIn,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { type Page, PageDto, PageQueryDto } from '../../../../common/http/page.js';
import { RolloutPolicyDto } from '../rollout/dto/rollout.dto.js';

export const ON_CAPABILITY_LOSS = ['keep', 'remove'] as const;
export const PLACEMENTS = [
  'placed',
  'not-placeable',
  'pending-recompute',
  'waiting-rollout',
  'removed',
] as const;

export class MatchExpressionDto {
  @ApiProperty({ example: 'example.com/line' }) @IsString() key!: string;
  @ApiProperty({ enum: ['In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt'] })
  @IsIn(['In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt'])
  operator!: string;
  @ApiPropertyOptional({ type: 'array', items: {}, example: ['paint', 'assembly'] })
  @IsOptional()
  @IsArray()
  values?: unknown[];
}

export class ExpressionSelectorDto {
  @ApiProperty({ type: () => [MatchExpressionDto] })
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => MatchExpressionDto)
  matchExpressions!: MatchExpressionDto[];
}

/** Every device that matches now and later: labels equal, and the expressions hold (eligibility-rule operators). */
export class SelectorDto {
  @ApiPropertyOptional({
    example: { 'example.com/site': 'plant-7' },
    description: 'Labels that must be equal',
  })
  @IsOptional()
  @IsObject()
  matchLabels?: Record<string, string | number | boolean>;

  @ApiPropertyOptional({ type: () => ExpressionSelectorDto, description: 'Expressions over labels' })
  @IsOptional()
  @ValidateNested()
  @Type(() => ExpressionSelectorDto)
  labelSelector?: ExpressionSelectorDto;

  @ApiPropertyOptional({
    type: () => ExpressionSelectorDto,
    description: 'Expressions over reported properties (keys are JSON pointers such as /vendor)',
  })
  @IsOptional()
  @ValidateNested()
  @Type(() => ExpressionSelectorDto)
  propertySelector?: ExpressionSelectorDto;

  @ApiPropertyOptional({ description: 'Only devices of this client', maxLength: MAX_ID_LENGTH })
  @IsOptional()
  @IsString()
  @MaxLength(MAX_ID_LENGTH)
  clientId?: string;
}

export class TargetDto {
  @ApiPropertyOptional({
    description: 'One device: the client id (rc.3 wfm-client-id or legacy clientId)',
    maxLength: MAX_ID_LENGTH,
  })
  // each field is checked whenever it is sent, and required when there is no selector
  @ValidateIf((o: TargetDto) => o.selector === undefined || o.clientId !== undefined)
  @IsString()
  @MaxLength(MAX_ID_LENGTH)
  clientId?: string;

  @ApiPropertyOptional({
    description: 'One device: its deviceId (gw/child for a device behind a gateway)',
    maxLength: MAX_ID_LENGTH,
  })
  @ValidateIf((o: TargetDto) => o.selector === undefined || o.deviceId !== undefined)
  @IsString()
  @MaxLength(MAX_ID_LENGTH)
  @Matches(/^[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/, { message: 'deviceId must be a DeviceId' })
  deviceId?: string;

  @ApiPropertyOptional({
    enum: ['rc3', 'legacy'],
    description: 'Only when the client id exists in both profiles',
  })
  @IsOptional()
  @IsIn(['rc3', 'legacy'])
  profile?: 'rc3' | 'legacy';

  @ApiPropertyOptional({ type: () => SelectorDto })
  @ValidateIf(
    (o: TargetDto) => (o.clientId === undefined && o.deviceId === undefined) || o.selector !== undefined,
  )
  @ValidateNested()
  @Type(() => SelectorDto)
  selector?: SelectorDto;
}

export class DeploymentCreateDto {
  @ApiProperty({ example: 'com-example-line-monitor' }) @IsString() @MaxLength(200) applicationId!: string;
  @ApiPropertyOptional({ description: 'Package version; the newest when left out' })
  @IsOptional()
  @IsString()
  version?: string;
  @ApiPropertyOptional({
    description: 'Deployment profile id; the first that fits each device when left out',
  })
  @IsOptional()
  @IsString()
  profileId?: string;
  @ApiPropertyOptional({
    description: 'Parameter values (validated against the package configuration schema)',
    example: { greeting: 'Hi' },
  })
  @IsOptional()
  @IsObject()
  parameters?: Record<string, unknown>;
  @ApiProperty({ type: () => TargetDto })
  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => TargetDto)
  target!: TargetDto;
  @ApiPropertyOptional({
    enum: ON_CAPABILITY_LOSS,
    default: 'keep',
    description: 'When a device stops fitting or matching',
  })
  @IsOptional()
  @IsIn(ON_CAPABILITY_LOSS)
  onCapabilityLoss?: (typeof ON_CAPABILITY_LOSS)[number];
  @ApiPropertyOptional({
    type: () => RolloutPolicyDto,
    description: 'Roll out in waves with health gates; left out: every change reaches every target at once',
  })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => RolloutPolicyDto)
  rollout?: RolloutPolicyDto;
}

/** A JSON Merge Patch (RFC 7396) of a deployment: members left out stay as they are. */
export class DeploymentPatchDto {
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    nullable: true,
    description:
      'Merged into the deployment-level parameter values (RFC 7396): keys left out stay, a key set to ' +
      'null removes that value (the package default applies again), object values merge recursively; ' +
      'null removes every deployment-level value',
    example: { sampleRate: 30, greeting: null },
  })
  @IsOptional()
  @IsObject()
  parameters?: Record<string, unknown> | null;
  @ApiPropertyOptional({
    type: String,
    description: 'Move to another package version (cannot be null)',
    example: '1.1.0',
  })
  @IsOptional()
  @IsString()
  version?: string | null;
  @ApiPropertyOptional({
    type: String,
    nullable: true,
    description: 'Deployment profile of the package; null removes it',
  })
  @IsOptional()
  @IsString()
  profileId?: string | null;
  @ApiPropertyOptional({
    enum: ON_CAPABILITY_LOSS,
    nullable: true,
    description: 'What happens to a target that loses a required capability; null: back to `keep`',
  })
  @IsOptional()
  @IsIn(ON_CAPABILITY_LOSS)
  onCapabilityLoss?: (typeof ON_CAPABILITY_LOSS)[number] | null;
  @ApiPropertyOptional({
    type: () => RolloutPolicyDto,
    nullable: true,
    description:
      'The rollout policy, replaced as a whole (it applies to this change already); null: changes reach every target at once',
  })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => RolloutPolicyDto)
  rollout?: RolloutPolicyDto | null;
}

/** Query of `PATCH /operator/v1/deployments/{id}`. */
export class DeploymentPatchQueryDto {
  @ApiPropertyOptional({
    enum: ['true', 'false'],
    description:
      'A change while a rollout is unfinished is refused (409) unless it supersedes it: the rollout is aborted ' +
      '(reason superseded) and the change rolls out from the last completed revision',
  })
  @IsOptional()
  @IsIn(['true', 'false'])
  supersede?: 'true' | 'false';
}

export class ParameterOverridesDto {
  @ApiProperty({
    description: 'Device-level values that layer over the deployment values',
    example: { greeting: 'Servus' },
  })
  @IsObject()
  parameters!: Record<string, unknown>;
}

export class EffectiveParameterDto {
  @ApiProperty() name!: string;
  @ApiProperty({ description: 'The effective value' }) value!: unknown;
  @ApiProperty({ enum: ['package', 'deployment', 'device'] }) source!: string;
}

export class DeploymentTargetDto {
  @ApiProperty() clientId!: string;
  @ApiProperty() deviceId!: string;
  @ApiProperty({
    format: 'uuid',
    description: 'The ApplicationDeployment id this device sees in its manifest',
  })
  deploymentId!: string;
  @ApiProperty({ enum: PLACEMENTS }) placement!: string;
  @ApiProperty({ type: [String], description: 'Which requirement failed and what the device reported' })
  reasons!: string[];
  @ApiPropertyOptional({ type: String, nullable: true }) profileId!: string | null;
  @ApiPropertyOptional({ type: String, nullable: true, description: 'sha256 digest of the current YAML' })
  digest!: string | null;
  @ApiProperty({ description: 'Listed in the client manifest now' }) inManifest!: boolean;
  @ApiPropertyOptional({ type: String, nullable: true, description: 'Manifest version that last listed it' })
  manifestVersion!: string | null;
  @ApiProperty({
    type: 'integer',
    nullable: true,
    description:
      "The deployment revision this target's document was last rendered for (null before its first placement); " +
      'below the deployment `revision` while a change is still being recomputed',
  })
  renderedRevision!: number | null;
  @ApiProperty({ type: () => [EffectiveParameterDto] }) parameters!: EffectiveParameterDto[];
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
  @ApiPropertyOptional({
    description: 'Last status the device reported for this ApplicationDeployment',
    nullable: true,
    type: 'object',
    additionalProperties: true,
  })
  status?: Record<string, unknown> | null;
  @ApiPropertyOptional({
    enum: ['in-sync', 'lagging', 'failed', 'installing', 'removed', 'unknown', 'stale'],
  })
  derivedState?: string;
}

/** A deployment without its targets (lists); `DeploymentDto` adds them. */
export class DeploymentSummaryDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() applicationId!: string;
  @ApiProperty() version!: string;
  @ApiPropertyOptional({ type: String, nullable: true }) profileId!: string | null;
  @ApiProperty({ description: 'Deployment-level values' }) parameters!: Record<string, unknown>;
  @ApiProperty({
    type: () => [EffectiveParameterDto],
    description: 'Effective values before device overrides',
  })
  effectiveParameters!: EffectiveParameterDto[];
  @ApiProperty({ description: '{clientId, deviceId} or {selector}' }) target!: Record<string, unknown>;
  @ApiProperty({ enum: ON_CAPABILITY_LOSS }) onCapabilityLoss!: string;
  @ApiProperty({
    description: 'Bumped by every change; each change of what devices get is a recorded revision',
  })
  revision!: number;
  @ApiPropertyOptional({
    type: 'integer',
    nullable: true,
    description:
      'The last revision that reached every target (null while the first rollout runs); devices that start ' +
      'matching during a rollout get it until the rollout completes',
  })
  stableRevision!: number | null;
  @ApiPropertyOptional({
    type: () => RolloutPolicyDto,
    nullable: true,
    description: 'The staged-rollout policy; null: every change reaches every target at once',
  })
  rollout!: RolloutPolicyDto | null;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'integer' },
    example: { placed: 9812, 'not-placeable': 188 },
    description: 'Number of targets per placement (placements without targets are left out)',
  })
  targetCounts!: Record<string, number>;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
}

export class DeploymentDto extends DeploymentSummaryDto {
  @ApiProperty({
    type: () => [DeploymentTargetDto],
    description: 'Every target; for large fleets page through `GET /operator/v1/deployments/{id}/targets`',
  })
  targets!: DeploymentTargetDto[];
}

export class DeploymentTargetQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: PLACEMENTS, description: 'Only targets with this placement' })
  @IsOptional()
  @IsIn(PLACEMENTS)
  placement?: string;
}

/** `{items, next}` of deployment targets. */
export const DeploymentTargetPageDto = PageDto(DeploymentTargetDto);
export type DeploymentTargetPageDto = Page<DeploymentTargetDto>;

/** `{items, next}` of deployment summaries. */
export const DeploymentSummaryPageDto = PageDto(DeploymentSummaryDto);
export type DeploymentSummaryPageDto = Page<DeploymentSummaryDto>;

export class DeploymentListQueryDto extends PageQueryDto {
  @ApiPropertyOptional() @IsOptional() @IsString() applicationId?: string;
}
