/** The poller's view of the log: where to start and what came after an id. */
export interface EventSource<E extends { id: bigint }> {
  /** An id below which no row is still in flight (see EventRepository.settledId). */
  startingPoint(): Promise<bigint>;
  /** Rows with id > `afterId`, in id order, at most `limit`. */
  readAfter(afterId: bigint, limit: number): Promise<E[]>;
}

export interface EventPollerOptions {
  /** How long a missing id may hold back the rows after it before it counts as a hole. */
  gapGraceMs: number;
  /** Rows read per query. */
  batch: number;
  now?: () => number;
}

/**
 * Reads the event log in id order and hands every row to `deliver` exactly once, without gaps.
 *
 * Ids come from a sequence, but concurrent transactions commit in any order: id 12 may become
 * visible before id 11. The poller therefore only advances its high-water mark through contiguous
 * ids. When an id is missing it waits: the row either appears (then 11 and 12 go out in order) or,
 * once the gap has been seen for `gapGraceMs`, the id is taken for a hole (a rolled-back insert, a
 * sequence jump after a crash) and skipped. Inserts are single autocommit statements, so the window
 * between taking an id and committing it is far below the grace.
 */
export class EventPoller<E extends { id: bigint }> {
  private hwm?: bigint;
  private starting?: Promise<bigint>;
  /** Bumped by start/stop, so a read that straddles a restart is dropped. */
  private epoch = 0;
  private gap?: { after: bigint; since: number };
  private running?: Promise<void>;
  private again = false;
  private readonly now: () => number;

  constructor(
    private readonly source: EventSource<E>,
    private readonly deliver: (event: E) => void,
    private readonly options: EventPollerOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** The id of the last row delivered (or skipped); undefined while stopped. */
  get highWaterMark(): bigint | undefined {
    return this.hwm;
  }

  /** When a pending gap will be given up on (epoch ms), so the caller can poll again then. */
  get gapDeadline(): number | undefined {
    return this.gap ? this.gap.since + this.options.gapGraceMs : undefined;
  }

  /** Starts (once) from the source's starting point; resolves with the high-water mark. */
  start(): Promise<bigint> {
    if (this.hwm !== undefined) return Promise.resolve(this.hwm);
    if (!this.starting) {
      const epoch = ++this.epoch;
      this.starting = this.source.startingPoint().then(
        (id) => {
          if (epoch === this.epoch) this.hwm = id;
          return id;
        },
        (error: unknown) => {
          if (epoch === this.epoch) this.starting = undefined;
          throw error;
        },
      );
    }
    return this.starting;
  }

  /** Forgets the position (no subscribers left); the next start reads it afresh. */
  stop(): void {
    this.epoch++;
    this.hwm = undefined;
    this.starting = undefined;
    this.gap = undefined;
  }

  /** Reads and delivers what is new; concurrent calls coalesce into one more round. */
  poll(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.drain().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async drain(): Promise<void> {
    do {
      this.again = false;
      if (await this.readOnce()) this.again = true;
    } while (this.again);
  }

  /** One query; true when a full batch was consumed (more may be waiting). */
  private async readOnce(): Promise<boolean> {
    const from = this.hwm;
    const epoch = this.epoch;
    if (from === undefined) return false;
    const rows = await this.source.readAfter(from, this.options.batch);
    if (epoch !== this.epoch) return false;
    for (const row of rows) {
      if (!this.mayDeliver(row.id)) break;
      this.hwm = row.id;
      this.deliver(row);
    }
    return rows.length === this.options.batch && this.hwm !== from;
  }

  /** Whether `id` is next in line: contiguous, or after a gap that has outlived the grace. */
  private mayDeliver(id: bigint): boolean {
    const hwm = this.hwm!;
    if (id === hwm + 1n) {
      this.gap = undefined;
      return true;
    }
    const now = this.now();
    if (this.gap?.after !== hwm) this.gap = { after: hwm, since: now };
    if (now - this.gap.since < this.options.gapGraceMs) return false;
    this.gap = undefined;
    return true;
  }
}
