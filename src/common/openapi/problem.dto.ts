import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class FieldErrorDto {
  @ApiProperty({ description: 'JSON pointer (RFC 6901) into the request body', example: '/properties/id' })
  field!: string;

  @ApiProperty({ example: 'must equal the deviceId in the path' })
  message!: string;
}

/** RFC 9457 problem document with the Margo extension members (spec §2.7). */
export class ProblemDto {
  @ApiProperty({ example: 'https://docs.margo.org/specification/problem-types#semantic-error' })
  type!: string;

  @ApiProperty({ example: 'Semantic error' })
  title!: string;

  @ApiProperty({ example: 422 })
  status!: number;

  @ApiPropertyOptional()
  detail?: string;

  @ApiPropertyOptional({ description: 'The request path' })
  instance?: string;

  @ApiPropertyOptional({ description: 'Correlates with the X-Request-Id header and the logs' })
  requestId?: string;

  @ApiProperty({ description: 'Whether repeating the request may succeed' })
  retryable!: boolean;

  @ApiProperty({ enum: ['none', 'fixed', 'exponential'] })
  backoffStrategy!: string;

  @ApiPropertyOptional({ description: 'Advisory; the Retry-After header is authoritative' })
  retryAfterSeconds?: number;

  @ApiPropertyOptional({ type: () => [FieldErrorDto] })
  errors?: FieldErrorDto[];
}
