import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { isDatabaseUnavailable } from '../../common/problem/problem.js';
import { ServiceUnavailableError } from '../../common/problem/domain-error.js';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import { EventLogService, type NewOperatorEvent } from '../../infra/events/event-log.service.js';
import { GroupCommitQueue, QueueClosedError, QueueFullError } from './group-commit.js';
import { StatusMetrics } from './status.metrics.js';
import {
  type IngestOutcome,
  type IngestRow,
  isIdempotencyConflict,
  StatusRepository,
} from './status.repository.js';

/** History entries kept per (client, deployment, device). */
export const HISTORY_LIMIT = 200;
/** Seconds a client is asked to wait when the queue is full. */
const QUEUE_FULL_RETRY_AFTER_S = 1;

/** One validated report and the event to append if it becomes the current status. */
export interface StatusWrite {
  row: IngestRow;
  event: NewOperatorEvent;
}

/**
 * Group commit of status reports (issue 15): requests hand their validated report over and wait;
 * every batch (up to WFM_STATUS_BATCH_MAX reports, the first waiting at most WFM_STATUS_BATCH_MS;
 * WFM_STATUS_BATCH_WRITERS batches at once) is one transaction — current-status upserts, history rows, the trim and the `status.changed` events —
 * and each request is answered only after the transaction with its report has committed. At most
 * WFM_STATUS_QUEUE_MAX reports wait or are being written; beyond that a report is answered 503 with
 * Retry-After, never dropped. A batch that fails because the database is unreachable fails every
 * report in it with that error (the same 503 as an unbatched write); any other failure (one report
 * broke a constraint) writes the batch's reports again one by one, so one bad report fails alone.
 * On shutdown the queue is written out before the database connection closes.
 */
@Injectable()
export class StatusBatcher implements OnModuleDestroy {
  private readonly logger = new Logger(StatusBatcher.name);
  private readonly queue: GroupCommitQueue<StatusWrite, IngestOutcome>;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly statuses: StatusRepository,
    private readonly events: EventLogService,
    private readonly metrics: StatusMetrics,
  ) {
    this.queue = new GroupCommitQueue<StatusWrite, IngestOutcome>(
      {
        maxBatch: config.status.batchMax,
        maxWaitMs: config.status.batchMs,
        maxQueued: config.status.queueMax,
        maxInFlight: Math.min(config.status.writers, config.database.poolSize),
      },
      {
        write: (items) => this.write(items),
        retryEachAlone: (error) => !isDatabaseUnavailable(error),
      },
      {
        onBatch: (size, ms) => {
          this.metrics.batchSize.observe(size);
          this.metrics.batchDuration.observe(ms / 1000);
        },
      },
    );
    this.metrics.queuedNow = () => this.queue.queued;
  }

  /** Resolves once the report is committed; rejects with the write's error or 503 when full. */
  async submit(write: StatusWrite): Promise<IngestOutcome> {
    try {
      return await this.queue.submit(write);
    } catch (error) {
      if (error instanceof QueueFullError) {
        this.metrics.rejected.inc();
        throw new ServiceUnavailableError(
          `${error.queued} status reports are waiting to be stored (WFM_STATUS_QUEUE_MAX); retry later`,
          QUEUE_FULL_RETRY_AFTER_S,
        );
      }
      if (error instanceof QueueClosedError) {
        throw new ServiceUnavailableError('The service is shutting down; retry later', 5);
      }
      throw error;
    }
  }

  async onModuleDestroy(): Promise<void> {
    const waiting = this.queue.queued;
    if (waiting > 0) this.logger.log({ msg: 'writing the queued status reports before shutdown', waiting });
    await this.queue.close();
  }

  private async write(items: readonly StatusWrite[], retried = false): Promise<IngestOutcome[]> {
    try {
      const { outcomes, result: highestEventId } = await this.statuses.ingestBatch(
        items.map((i) => i.row),
        HISTORY_LIMIT,
        (tx, outcomes) =>
          this.events.appendIn(
            tx,
            items.filter((_, n) => outcomes[n].applied && !outcomes[n].replay).map((i) => i.event),
          ),
      );
      void this.events.published(highestEventId);
      return outcomes;
    } catch (error) {
      // a resend that raced its original into another transaction: that one has committed now
      if (items.length === 1 && !retried && isIdempotencyConflict(error)) return this.write(items, true);
      throw error;
    }
  }
}
