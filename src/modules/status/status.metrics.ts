import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { MetricsService } from '../../infra/metrics/metrics.service.js';

@Injectable()
export class StatusMetrics {
  readonly reports: Counter<'state'>;
  readonly ingestLatency: Histogram;
  readonly batchSize: Histogram;
  readonly batchDuration: Histogram;
  readonly rejected: Counter;
  readonly queued: Gauge;
  /** Reports waiting or being written right now (set by the batcher). */
  queuedNow: () => number = () => 0;

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
    this.batchSize = new Histogram({
      name: 'wfm_status_batch_size',
      help: 'Status reports written per transaction (group commit; one-by-one retries count as 1)',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
      registers,
    });
    this.batchDuration = new Histogram({
      name: 'wfm_status_batch_seconds',
      help: 'Time to write one batch of status reports (its transaction, commit included)',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    });
    this.rejected = new Counter({
      name: 'wfm_status_queue_rejected_total',
      help: 'Status reports answered 503 because WFM_STATUS_QUEUE_MAX reports were waiting',
      registers,
    });
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    this.queued = new Gauge({
      name: 'wfm_status_queued',
      help: 'Status reports accepted and not yet answered (waiting for or in a batch)',
      registers,
      collect() {
        this.set(self.queuedNow());
      },
    });
  }
}
