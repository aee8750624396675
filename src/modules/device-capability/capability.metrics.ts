import { Injectable } from '@nestjs/common';
import { Counter, Histogram } from 'prom-client';
import { MetricsService } from '../../infra/metrics/metrics.service.js';

@Injectable()
export class CapabilityMetrics {
  readonly reports: Counter<'profile' | 'result'>;
  readonly rejected: Counter<'reason'>;
  readonly changes: Counter<'kind'>;
  readonly jobsEnqueued: Counter;
  readonly recomputeLatency: Histogram;

  constructor(metrics: MetricsService) {
    const registers = [metrics.registry];
    this.reports = new Counter({
      name: 'wfm_capability_reports_total',
      help: 'Capability reports received, by profile and result (created, updated, unchanged, rejected)',
      labelNames: ['profile', 'result'],
      registers,
    });
    this.rejected = new Counter({
      name: 'wfm_capability_reports_rejected_total',
      help: 'Capability reports rejected, by reason',
      labelNames: ['reason'],
      registers,
    });
    this.changes = new Counter({
      name: 'wfm_capability_changes_total',
      help: 'Changes of the normalised capability model detected (created, updated, deleted, labels: operator labels)',
      labelNames: ['kind'],
      registers,
    });
    this.jobsEnqueued = new Counter({
      name: 'wfm_recompute_jobs_enqueued_total',
      help: 'recompute-device jobs enqueued',
      registers,
    });
    this.recomputeLatency = new Histogram({
      name: 'wfm_recompute_latency_seconds',
      help: 'From a capability change being received to its recomputation finishing',
      buckets: [0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10, 30, 60],
      registers,
    });
  }
}
