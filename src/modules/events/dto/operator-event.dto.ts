import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches, MaxLength } from 'class-validator';

/** One event of the operator stream, as the `data:` line of an SSE message carries it. */
export class OperatorEventDto {
  @ApiProperty({
    description: 'Monotonic event id (a decimal string: it may exceed 2^53); also the SSE `id:`',
    example: '1042',
  })
  id!: string;

  @ApiProperty({
    description:
      'Event type; also the SSE `event:` name. Known: status.changed, placement.changed, manifest.issued, client.enrolled, client.retired, device.changed',
    example: 'status.changed',
  })
  type!: string;

  @ApiProperty({ format: 'date-time' })
  at!: string;

  @ApiPropertyOptional({ description: 'External client id (rc.3 wfm-client-id or legacy clientId)' })
  clientId?: string;

  @ApiPropertyOptional({ description: 'Operator deployment id' })
  deploymentId?: string;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'Type-specific details',
  })
  data!: Record<string, unknown>;
}

export class EventStreamQueryDto {
  @ApiPropertyOptional({
    description: 'Only these event types (comma-separated)',
    example: 'status.changed,placement.changed',
  })
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  @Matches(/^[A-Za-z0-9._-]+(,[A-Za-z0-9._-]+)*$/, { message: 'type must be a comma list of event types' })
  type?: string;

  @ApiPropertyOptional({ description: 'Only events of this operator deployment' })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  deploymentId?: string;

  @ApiPropertyOptional({ description: 'Only events of this client (external id)' })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  clientId?: string;

  @ApiPropertyOptional({
    description: 'Resume after this event id (the Last-Event-ID header takes precedence)',
    example: '1042',
  })
  @IsOptional()
  @Matches(/^\d{1,19}$/, { message: 'lastEventId must be an event id' })
  lastEventId?: string;

  @ApiPropertyOptional({
    description:
      'A stream token from POST /operator/v1/events/token (for EventSource, which cannot send headers)',
  })
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  token?: string;
}

export class StreamTokenDto {
  @ApiProperty({ description: 'Give it as ?token= (or rely on the wfm_sse cookie set with it)' })
  token!: string;

  @ApiProperty({ format: 'date-time', description: 'Valid for opening a stream until then (5 minutes)' })
  expiresAt!: string;
}
