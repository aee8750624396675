import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsInt,
  IsISO8601,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  Validate,
  ValidateIf,
  ValidateNested,
  type ValidationArguments,
  ValidatorConstraint,
  type ValidatorConstraintInterface,
} from 'class-validator';

const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;
export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

@ValidatorConstraint({ name: 'timeZone' })
class TimeZoneConstraint implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    if (typeof value !== 'string') return false;
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: value });
      return true;
    } catch {
      return false;
    }
  }
  defaultMessage(args: ValidationArguments): string {
    return `${args.property} must be an IANA time zone such as UTC or Europe/Berlin`;
  }
}

/** Hours of the day in which the client checks for desired-state updates (Margo "polling interval period"). */
export class PollingPeriodDto {
  @ApiProperty({ example: '06:00', description: 'HH:MM, inclusive' })
  @Matches(HHMM, { message: 'start must be HH:MM' })
  start!: string;

  @ApiProperty({ example: '22:00', description: 'HH:MM, exclusive; may be before start (overnight)' })
  @Matches(HHMM, { message: 'end must be HH:MM' })
  end!: string;

  @ApiPropertyOptional({ default: 'UTC' })
  @IsOptional()
  @Validate(TimeZoneConstraint)
  timezone?: string;
}

/** A known downtime: once (from/to) or weekly (days + start/end). */
export class DowntimeWindowDto {
  @ApiProperty({ enum: ['once', 'weekly'] })
  @IsIn(['once', 'weekly'])
  kind!: 'once' | 'weekly';

  @ApiPropertyOptional({ format: 'date-time', description: 'kind=once' })
  @ValidateIf((o: DowntimeWindowDto) => o.kind === 'once')
  @IsISO8601({ strict: true })
  from?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'kind=once' })
  @ValidateIf((o: DowntimeWindowDto) => o.kind === 'once')
  @IsISO8601({ strict: true })
  to?: string;

  @ApiPropertyOptional({ enum: WEEKDAYS, isArray: true, description: 'kind=weekly' })
  @ValidateIf((o: DowntimeWindowDto) => o.kind === 'weekly')
  @IsArray()
  @IsIn(WEEKDAYS, { each: true })
  days?: string[];

  @ApiPropertyOptional({ example: '01:00', description: 'kind=weekly, HH:MM' })
  @ValidateIf((o: DowntimeWindowDto) => o.kind === 'weekly')
  @Matches(HHMM, { message: 'start must be HH:MM' })
  start?: string;

  @ApiPropertyOptional({
    example: '03:00',
    description: 'kind=weekly, HH:MM (may be before start: overnight)',
  })
  @ValidateIf((o: DowntimeWindowDto) => o.kind === 'weekly')
  @Matches(HHMM, { message: 'end must be HH:MM' })
  end?: string;

  @ApiPropertyOptional({ default: 'UTC' })
  @IsOptional()
  @Validate(TimeZoneConstraint)
  timezone?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(200)
  reason?: string;
}

/** PUT body: fields left out keep their value; `null` falls back to the fleet default. */
export class ClientSettingsUpdateDto {
  @ApiPropertyOptional({
    type: Number,
    nullable: true,
    minimum: 5,
    maximum: 86400,
    description: 'Seconds between polls',
  })
  @IsOptional()
  @ValidateIf((_o, v) => v !== null)
  @IsInt()
  @Min(5)
  @Max(86_400)
  pollingIntervalSeconds?: number | null;

  @ApiPropertyOptional({ type: () => PollingPeriodDto, nullable: true })
  @IsOptional()
  @ValidateIf((_o, v) => v !== null)
  @ValidateNested()
  @Type(() => PollingPeriodDto)
  pollingPeriod?: PollingPeriodDto | null;

  @ApiPropertyOptional({ type: () => [DowntimeWindowDto], nullable: true })
  @IsOptional()
  @ValidateIf((_o, v) => v !== null)
  @IsArray()
  @ArrayMaxSize(50)
  @ValidateNested({ each: true })
  @Type(() => DowntimeWindowDto)
  downtimeWindows?: DowntimeWindowDto[] | null;
}

export class ClientSettingsDto {
  @ApiProperty({ description: 'Effective seconds between polls' })
  pollingIntervalSeconds!: number;

  @ApiPropertyOptional({ type: () => PollingPeriodDto, nullable: true })
  pollingPeriod!: PollingPeriodDto | null;

  @ApiProperty({ type: () => [DowntimeWindowDto] })
  downtimeWindows!: DowntimeWindowDto[];

  @ApiProperty({
    description: 'Which layer set each value',
    example: { pollingIntervalSeconds: 'client', pollingPeriod: 'fleet', downtimeWindows: 'fleet' },
  })
  source!: Record<'pollingIntervalSeconds' | 'pollingPeriod' | 'downtimeWindows', 'client' | 'fleet'>;
}
