import { createHash, timingSafeEqual } from 'node:crypto';
import { Controller, Get, Inject, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { UnauthenticatedError } from '../../common/problem/domain-error.js';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import { MetricsService } from './metrics.service.js';

const sha256 = (value: string) => createHash('sha256').update(value).digest();

/**
 * Prometheus scrape endpoint. With WFM_METRICS_TOKEN set it demands `Authorization: Bearer <token>`
 * (compared in constant time) and answers 401 problem+json otherwise; without it, it is open.
 */
@ApiExcludeController()
@Controller('metrics')
export class MetricsController {
  private readonly tokenHash?: Buffer;

  constructor(
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.tokenHash = config.metrics.token === undefined ? undefined : sha256(config.metrics.token);
  }

  @Get()
  async scrape(@Req() req: Request, @Res() res: Response): Promise<void> {
    if (this.tokenHash) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
      if (!match || !timingSafeEqual(this.tokenHash, sha256(match[1]))) {
        res.setHeader('WWW-Authenticate', 'Bearer realm="metrics"');
        throw new UnauthenticatedError(
          match
            ? 'The bearer token does not match WFM_METRICS_TOKEN'
            : '/metrics requires Authorization: Bearer <WFM_METRICS_TOKEN>',
        );
      }
    }
    res.setHeader('Content-Type', this.metrics.registry.contentType);
    res.end(await this.metrics.registry.metrics());
  }
}
