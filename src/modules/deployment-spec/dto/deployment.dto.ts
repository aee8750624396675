import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsArray,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';

export const ON_CAPABILITY_LOSS = ['keep', 'remove'] as const;
export const PLACEMENTS = ['placed', 'not-placeable', 'pending-recompute', 'removed'] as const;

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

  @ApiPropertyOptional({ description: 'Only devices of this client' })
  @IsOptional()
  @IsString()
  clientId?: string;
}

export class TargetDto {
  @ApiPropertyOptional({ description: 'One device: the client id (rc.3 wfm-client-id or legacy clientId)' })
  // each field is checked whenever it is sent, and required when there is no selector
  @ValidateIf((o: TargetDto) => o.selector === undefined || o.clientId !== undefined)
  @IsString()
  clientId?: string;

  @ApiPropertyOptional({ description: 'One device: its deviceId (gw/child for a device behind a gateway)' })
  @ValidateIf((o: TargetDto) => o.selector === undefined || o.deviceId !== undefined)
  @IsString()
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
  @ApiProperty({ type: () => TargetDto }) @ValidateNested() @Type(() => TargetDto) target!: TargetDto;
  @ApiPropertyOptional({
    enum: ON_CAPABILITY_LOSS,
    default: 'keep',
    description: 'When a device stops fitting or matching',
  })
  @IsOptional()
  @IsIn(ON_CAPABILITY_LOSS)
  onCapabilityLoss?: (typeof ON_CAPABILITY_LOSS)[number];
}

export class DeploymentPatchDto {
  @ApiPropertyOptional({ description: 'Replaces the deployment-level parameter values' })
  @IsOptional()
  @IsObject()
  parameters?: Record<string, unknown>;
  @ApiPropertyOptional({ description: 'Move to another package version' })
  @IsOptional()
  @IsString()
  version?: string;
  @ApiPropertyOptional({ type: String, nullable: true }) @IsOptional() @IsString() profileId?: string | null;
  @ApiPropertyOptional({ enum: ON_CAPABILITY_LOSS })
  @IsOptional()
  @IsIn(ON_CAPABILITY_LOSS)
  onCapabilityLoss?: (typeof ON_CAPABILITY_LOSS)[number];
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
  @ApiProperty() revision!: number;
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

export class DeploymentTargetQueryDto {
  @ApiPropertyOptional({ enum: PLACEMENTS, description: 'Only targets with this placement' })
  @IsOptional()
  @IsIn(PLACEMENTS)
  placement?: string;

  @ApiPropertyOptional({ description: 'Cursor from the previous page (`next`)' })
  @IsOptional()
  @IsString()
  after?: string;

  @ApiPropertyOptional({ default: 100, minimum: 1, maximum: 1000 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit: number = 100;
}

export class DeploymentTargetPageDto {
  @ApiProperty({ type: () => [DeploymentTargetDto] }) items!: DeploymentTargetDto[];
  @ApiPropertyOptional({ type: String, nullable: true, description: 'Pass as `after` for the next page' })
  next!: string | null;
  @ApiProperty() limit!: number;
}

export class DeploymentListQueryDto {
  @ApiPropertyOptional() @IsOptional() @IsString() applicationId?: string;
}
