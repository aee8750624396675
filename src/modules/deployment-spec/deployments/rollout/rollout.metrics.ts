import { Injectable } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { MetricsService } from '../../../../infra/metrics/metrics.service.js';
import { ROLLOUT_STATES } from './machine.js';
import { RolloutRepository } from './rollout.repository.js';

/**
 * `wfm_rollout_state{deployment_id, state}` (1 for the state of each deployment's newest rollout, 0
 * for the other states), `wfm_rollout_wave{deployment_id}` (waves started, of `wfm_rollout_waves`)
 * read from PostgreSQL when scraped, and `wfm_rollout_transitions_total{event}` of this process.
 */
@Injectable()
export class RolloutMetrics {
  readonly transitions: Counter<'event'>;

  constructor(metrics: MetricsService, repo: RolloutRepository) {
    const registers = [metrics.registry];
    this.transitions = new Counter({
      name: 'wfm_rollout_transitions_total',
      help: 'Rollout transitions applied by this process, by event (wave-started, paused, completed, …)',
      labelNames: ['event'],
      registers,
    });
    let latest: Promise<Awaited<ReturnType<RolloutRepository['latestRollouts']>>> | undefined;
    const read = () => {
      // one query per scrape for the three gauges
      latest ??= repo.latestRollouts().finally(() => setTimeout(() => (latest = undefined), 1_000));
      return latest.catch(() => []);
    };
    new Gauge({
      name: 'wfm_rollout_state',
      help: 'State of each deployment’s newest rollout (1 for its state)',
      labelNames: ['deployment_id', 'state'],
      registers,
      async collect() {
        this.reset();
        for (const r of await read()) {
          for (const state of ROLLOUT_STATES) {
            this.set({ deployment_id: r.deploymentId, state }, r.state === state ? 1 : 0);
          }
        }
      },
    });
    new Gauge({
      name: 'wfm_rollout_wave',
      help: 'The current wave (1-based) of each deployment’s newest rollout',
      labelNames: ['deployment_id'],
      registers,
      async collect() {
        this.reset();
        for (const r of await read()) {
          this.set({ deployment_id: r.deploymentId }, r.waveCount === 0 ? 0 : r.currentWave + 1);
        }
      },
    });
    new Gauge({
      name: 'wfm_rollout_waves',
      help: 'Number of waves of each deployment’s newest rollout',
      labelNames: ['deployment_id'],
      registers,
      async collect() {
        this.reset();
        for (const r of await read()) this.set({ deployment_id: r.deploymentId }, r.waveCount);
      },
    });
  }
}
