import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsArray, IsIn, IsNumber, IsOptional, IsString, Max, Min, ValidateIf } from 'class-validator';
import { APPROVALS } from '../policy.js';
import { ROLLOUT_STATES } from '../machine.js';

/**
 * A rollout policy as sent on deployment create and PATCH (`rollout`). class-validator checks the
 * members' types; the waves and durations are checked by `validatePolicy` (policy.ts), which answers
 * with a pointer per offending field (`/rollout/waves/1/percent`).
 */
export class RolloutPolicyDto {
  @ApiProperty({
    type: 'array',
    items: { type: 'object', additionalProperties: true },
    description:
      'Waves in order, each `{count: n}`, `{percent: p}` (of all targets), `{selector: {matchLabels, labelSelector, ' +
      'propertySelector}}` or (first wave only) `{canary: "diverse", count: n}`; targets the waves leave over form one last wave',
    example: [{ canary: 'diverse', count: 3 }, { percent: 25 }, { percent: 100 }],
  })
  @IsArray()
  waves!: unknown[];

  @ApiPropertyOptional({
    minimum: 0,
    maximum: 1,
    default: 1,
    description: 'Share of a wave’s placed targets that must be in-sync at the new revision',
  })
  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(1)
  successThreshold?: number;

  @ApiPropertyOptional({
    minimum: 0,
    maximum: 1,
    default: 0,
    description: 'The rollout pauses by itself when the share of failed targets in a wave exceeds this',
  })
  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(1)
  failureThreshold?: number;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    default: '30m',
    example: '30m',
    description: 'A wave that has not passed its gate by then pauses (reason timeout); null: no limit',
  })
  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @IsString()
  waveTimeout?: string | null;

  @ApiPropertyOptional({ default: '0s', example: '5m', description: 'Wait after a wave succeeded' })
  @IsOptional()
  @IsString()
  pauseBetweenWaves?: string;

  @ApiPropertyOptional({ enum: APPROVALS, default: 'none' })
  @IsOptional()
  @IsIn(APPROVALS)
  approval?: (typeof APPROVALS)[number];
}

export class RolloutMemberDto {
  @ApiProperty() clientId!: string;
  @ApiProperty() deviceId!: string;
}

export class WaveCountsDto {
  @ApiProperty() members!: number;
  @ApiProperty({ description: 'Members that are placed (or will be): the gate’s denominator' })
  placed!: number;
  @ApiProperty() inSync!: number;
  @ApiProperty() failed!: number;
  @ApiProperty({ description: 'Placed members inside a downtime window (counted neither way)' })
  inDowntime!: number;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'integer' },
    example: { 'in-sync': 9, failed: 1 },
    description: 'Placed members by derived state at the new revision (`pending-render` before)',
  })
  byState!: Record<string, number>;
}

export class RolloutWaveDto {
  @ApiProperty() index!: number;
  @ApiProperty({ type: 'object', additionalProperties: true, example: { percent: 25 } }) spec!: Record<
    string,
    unknown
  >;
  @ApiProperty({ description: 'Number of members' }) size!: number;
  @ApiProperty({ type: () => [RolloutMemberDto], description: 'The members (the first 1,000)' })
  members!: RolloutMemberDto[];
  @ApiPropertyOptional({ type: String, format: 'date-time', nullable: true }) startedAt!: string | null;
  @ApiPropertyOptional({ type: String, format: 'date-time', nullable: true }) finishedAt!: string | null;
  @ApiPropertyOptional({ type: String, nullable: true, enum: ['success', 'accepted'] }) outcome!:
    string | null;
  @ApiProperty({ type: () => WaveCountsDto }) counts!: WaveCountsDto;
}

export class RolloutActionDto {
  @ApiProperty({ example: 'approve' }) action!: string;
  @ApiProperty({ description: 'The operator token’s name, or "worker"', example: 'admin' }) actor!: string;
  @ApiPropertyOptional({ type: 'integer', nullable: true }) wave!: number | null;
  @ApiProperty() fromState!: string;
  @ApiProperty() toState!: string;
  @ApiProperty({ format: 'date-time' }) at!: string;
}

export class DeploymentRevisionDto {
  @ApiProperty() revision!: number;
  @ApiProperty() version!: string;
  @ApiPropertyOptional({ type: String, nullable: true }) profileId!: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true }) parameters!: Record<string, unknown>;
  @ApiPropertyOptional({ type: String, nullable: true }) note!: string | null;
  @ApiPropertyOptional({ type: String, nullable: true }) createdBy!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export class CanaryClassDto {
  @ApiProperty({ example: 'arm64 · Acme EDGE-4 · oci · compose' }) deviceClass!: string;
  @ApiProperty() devices!: number;
  @ApiPropertyOptional() picked?: number;
}

export class CanaryCoverageDto {
  @ApiProperty() classes!: number;
  @ApiProperty({ type: () => [CanaryClassDto] }) covered!: CanaryClassDto[];
  @ApiProperty({ type: () => [CanaryClassDto], description: 'Classes the canary had no room for' })
  uncovered!: CanaryClassDto[];
}

export class RolloutSummaryDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ enum: ROLLOUT_STATES }) state!: string;
  @ApiPropertyOptional({
    type: String,
    nullable: true,
    description: 'paused: threshold | timeout | operator; aborted: operator | superseded | deleted',
  })
  reason!: string | null;
  @ApiPropertyOptional({
    type: 'integer',
    nullable: true,
    description: 'null: the deployment’s first rollout',
  })
  fromRevision!: number | null;
  @ApiProperty() toRevision!: number;
  @ApiProperty({ description: 'The current wave (0-based)' }) currentWave!: number;
  @ApiProperty() waveCount!: number;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiPropertyOptional({ type: String, format: 'date-time', nullable: true }) finishedAt!: string | null;
}

export class RolloutDto extends RolloutSummaryDto {
  @ApiProperty({ type: () => RolloutPolicyDto }) policy!: RolloutPolicyDto;
  @ApiPropertyOptional({ type: String, nullable: true }) createdBy!: string | null;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
  @ApiPropertyOptional({ type: () => CanaryCoverageDto, nullable: true }) canary!: CanaryCoverageDto | null;
  @ApiProperty({ type: () => [RolloutWaveDto] }) waves!: RolloutWaveDto[];
  @ApiProperty({ type: () => [RolloutActionDto], description: 'Who approved, paused … what and when' })
  actions!: RolloutActionDto[];
}

/** `GET /operator/v1/deployments/{id}/rollout`. */
export class DeploymentRolloutViewDto {
  @ApiProperty({ format: 'uuid' }) deploymentId!: string;
  @ApiProperty({ description: 'The deployment’s current revision' }) revision!: number;
  @ApiPropertyOptional({
    type: 'integer',
    nullable: true,
    description: 'The last revision that reached every target (what devices joining during a rollout get)',
  })
  stableRevision!: number | null;
  @ApiPropertyOptional({ type: () => RolloutPolicyDto, nullable: true }) policy!: RolloutPolicyDto | null;
  @ApiPropertyOptional({
    type: () => RolloutDto,
    nullable: true,
    description: 'The newest rollout (null: none yet)',
  })
  rollout!: RolloutDto | null;
  @ApiProperty({ type: () => [RolloutSummaryDto], description: 'Earlier rollouts, newest first' })
  previous!: RolloutSummaryDto[];
  @ApiProperty({ type: () => [DeploymentRevisionDto] }) revisions!: DeploymentRevisionDto[];
}

/** Query of `POST /operator/v1/deployments/{id}/rollout/{action}`. */
export class RolloutActionQueryDto {
  @ApiPropertyOptional({
    enum: ['true', 'false'],
    description:
      'rollback only: roll the previous revision out as a new rollout with the same policy (default: at once)',
  })
  @IsOptional()
  @IsIn(['true', 'false'])
  staged?: 'true' | 'false';
}
