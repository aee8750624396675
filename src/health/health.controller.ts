import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import type { HealthCheckResult } from '@nestjs/terminus';
import { PrismaService } from '../infra/database/prisma.service.js';
import { RedisService } from '../infra/redis/redis.module.js';
import { ProblemDto } from '../common/openapi/problem.dto.js';

const PROBE_TIMEOUT_MS = 1_500;

@ApiTags('Health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly prisma: PrismaService,
    private readonly redis: RedisService,
  ) {}

  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process is up and serving' })
  @ApiOkResponse({
    description: 'Always `{"status":"ok"}` while the process runs',
    schema: {
      type: 'object',
      properties: { status: { type: 'string', enum: ['ok'] } },
      example: { status: 'ok' },
    },
  })
  getLiveness(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @HealthCheck({ swaggerDocumentation: false })
  @ApiOperation({ summary: 'Readiness: PostgreSQL and Redis answer' })
  @ApiOkResponse({
    description: 'Every dependency is up',
    schema: {
      type: 'object',
      properties: {
        status: { type: 'string', enum: ['ok'] },
        info: { type: 'object', additionalProperties: { type: 'object' } },
        error: { type: 'object', additionalProperties: { type: 'object' } },
        details: { type: 'object', additionalProperties: { type: 'object' } },
      },
      example: {
        status: 'ok',
        info: { postgres: { status: 'up' }, redis: { status: 'up' } },
        error: {},
        details: { postgres: { status: 'up' }, redis: { status: 'up' } },
      },
    },
  })
  @ApiServiceUnavailableResponse({
    description: 'A dependency is down (problem+json naming it)',
    type: ProblemDto,
  })
  getReadiness(): Promise<HealthCheckResult> {
    return this.health.check([
      () => this.probe('postgres', () => this.prisma.ping(PROBE_TIMEOUT_MS)),
      () => this.probe('redis', () => this.redis.ping(PROBE_TIMEOUT_MS)),
    ]);
  }

  private async probe(key: 'postgres' | 'redis', ping: () => Promise<void>) {
    const check = this.indicators.check(key);
    try {
      await ping();
      return check.up();
    } catch (error) {
      return check.down({ message: error instanceof Error ? error.message : String(error) });
    }
  }
}
