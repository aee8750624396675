import { Injectable, type OnModuleInit } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { MetricsService } from '../../infra/metrics/metrics.service.js';
import { StatusQueryService } from './status-query.service.js';

const REFRESH_MS = 30_000;

/** `wfm_targets{state}`: targets by derived state, recomputed at most every 30 s when scraped. */
@Injectable()
export class StatusGauges implements OnModuleInit {
  private cached?: { at: number; overall: Record<string, number> };

  constructor(
    private readonly metrics: MetricsService,
    private readonly query: StatusQueryService,
  ) {}

  onModuleInit(): void {
    const read = () => this.overall();
    new Gauge({
      name: 'wfm_targets',
      help: 'Deployment targets by derived state (placed targets) or placement (the others)',
      labelNames: ['state'],
      registers: [this.metrics.registry],
      async collect() {
        const overall = await read().catch(() => undefined);
        this.reset();
        for (const [state, count] of Object.entries(overall ?? {})) this.set({ state }, count);
      },
    });
  }

  private async overall(): Promise<Record<string, number>> {
    if (this.cached && Date.now() - this.cached.at < REFRESH_MS) return this.cached.overall;
    const overall = await this.query.overall();
    this.cached = { at: Date.now(), overall };
    return overall;
  }
}
