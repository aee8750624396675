import { Injectable } from '@nestjs/common';
import { Counter, Histogram } from 'prom-client';
import { MetricsService } from '../../infra/metrics/metrics.service.js';

@Injectable()
export class StatusMetrics {
  readonly reports: Counter<'state'>;
  readonly ingestLatency: Histogram;

  constructor(metrics: MetricsService) {
    const registers = [metrics.registry];
    this.reports = new Counter({
      name: 'wfm_status_reports_total',
      help: 'Status reports received, by reported state (or invalid)',
      labelNames: ['state'],
      registers,
    });
    this.ingestLatency = new Histogram({
      name: 'wfm_status_ingest_seconds',
      help: 'Time to validate and store one status report',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    });
  }
}
