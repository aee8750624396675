/**
 * Group commit (issue 15): callers hand over items one at a time and get a promise that settles when
 * the batch holding their item has been written; a single writer takes up to `maxBatch` items per
 * write, one write at a time, so items that arrive while a write runs form the next batch. The first
 * item of an idle queue waits at most `maxWaitMs` for company. Nothing here knows about databases.
 */
export interface GroupCommitOptions {
  /** Items per write at most. */
  maxBatch: number;
  /** How long the first item of a batch waits for others (0: until the next turn of the event loop). */
  maxWaitMs: number;
  /** Items accepted and not yet settled at most (waiting and being written); more are refused. */
  maxQueued: number;
  /** Writes running at once (default 1); a further batch starts only when the waiting ones fill it. */
  maxInFlight?: number;
}

export interface GroupCommitWriter<I, O> {
  /** Writes the items at once (all or nothing); resolves with one result per item, in order. */
  write(items: readonly I[]): Promise<O[]>;
  /**
   * Whether a failed write of several items is tried again item by item (e.g. one item broke a
   * constraint), rather than failing every item with the error (e.g. the database is unreachable).
   */
  retryEachAlone(error: unknown): boolean;
}

/** The queue is full; the caller should come back later. */
export class QueueFullError extends Error {
  constructor(readonly queued: number) {
    super(`${queued} items are waiting to be written`);
    this.name = 'QueueFullError';
  }
}

/** The queue was closed; nothing more is accepted. */
export class QueueClosedError extends Error {
  constructor() {
    super('the queue is closed');
    this.name = 'QueueClosedError';
  }
}

interface Entry<I, O> {
  item: I;
  resolve: (value: O) => void;
  reject: (error: unknown) => void;
}

export interface GroupCommitStats {
  /** Items given to `write` per call, including single-item retries. */
  onBatch?: (size: number, ms: number) => void;
}

export class GroupCommitQueue<I, O> {
  private readonly waiting: Entry<I, O>[] = [];
  private writing = 0;
  private timer?: NodeJS.Timeout;
  private immediate?: NodeJS.Immediate;
  /** The running write loops (at most maxInFlight), and their promises (for close). */
  private readonly lanes = new Set<object>();
  private readonly running = new Set<Promise<void>>();
  private closed = false;

  constructor(
    private readonly options: GroupCommitOptions,
    private readonly writer: GroupCommitWriter<I, O>,
    private readonly stats: GroupCommitStats = {},
  ) {
    if (
      options.maxBatch < 1 ||
      options.maxQueued < 1 ||
      options.maxWaitMs < 0 ||
      (options.maxInFlight ?? 1) < 1
    ) {
      throw new RangeError('maxBatch, maxQueued and maxInFlight must be at least 1, maxWaitMs not negative');
    }
  }

  private get maxInFlight(): number {
    return this.options.maxInFlight ?? 1;
  }

  /** Items accepted and not settled yet. */
  get queued(): number {
    return this.waiting.length + this.writing;
  }

  /**
   * Hands over one item; resolves with its result once the write that holds it has succeeded, or
   * rejects with that write's error. Rejects at once with QueueFullError when `maxQueued` items are
   * pending, and with QueueClosedError after `close()`.
   */
  submit(item: I): Promise<O> {
    if (this.closed) return Promise.reject(new QueueClosedError());
    if (this.queued >= this.options.maxQueued) return Promise.reject(new QueueFullError(this.queued));
    return new Promise<O>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /** Refuses new items, writes every waiting one and resolves when all are settled. */
  async close(): Promise<void> {
    this.closed = true;
    this.cancelTimers();
    while (this.lanes.size > 0 || this.waiting.length > 0) {
      if (this.lanes.size === 0) this.startLane();
      await Promise.all(this.running);
    }
  }

  /**
   * While fewer than maxInFlight writes run, a full batch starts one at once and the first waiting
   * item starts the timer after which a batch starts with what has arrived. When all run, a loop
   * that finishes its write takes what waits (each loop runs until nothing does).
   */
  private schedule(): void {
    if (this.lanes.size >= this.maxInFlight) return;
    if (this.waiting.length >= this.options.maxBatch) {
      this.cancelTimers();
      this.startLane();
      return;
    }
    if (this.timer || this.immediate) return;
    const fire = () => {
      this.timer = undefined;
      this.immediate = undefined;
      if (this.lanes.size < this.maxInFlight) this.startLane();
    };
    if (this.options.maxWaitMs === 0) this.immediate = setImmediate(fire);
    else this.timer = setTimeout(fire, this.options.maxWaitMs);
  }

  private cancelTimers(): void {
    clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
  }

  private startLane(): void {
    if (this.waiting.length === 0) return;
    const lane = {};
    this.lanes.add(lane);
    const run = this.drain(lane);
    this.running.add(run);
    void run.then(() => this.running.delete(run));
  }

  /**
   * Writes batches until nothing waits; never rejects (each entry is settled instead). Before it ends
   * it marks itself done in the same turn as its last check of `waiting`, so an item submitted after
   * that starts a new loop rather than waiting for one that has ended.
   */
  private async drain(lane: object): Promise<void> {
    try {
      while (this.waiting.length > 0) {
        const batch = this.waiting.splice(0, this.options.maxBatch);
        this.writing += batch.length;
        try {
          await this.writeBatch(batch);
        } finally {
          this.writing -= batch.length;
        }
        // another loop may start for items that waited while this one wrote
        if (this.waiting.length > this.options.maxBatch && this.lanes.size < this.maxInFlight) {
          this.startLane();
        }
      }
    } finally {
      this.lanes.delete(lane);
    }
  }

  private async writeBatch(batch: Entry<I, O>[]): Promise<void> {
    let results: O[];
    const started = performance.now();
    try {
      results = await this.writer.write(batch.map((e) => e.item));
    } catch (error) {
      this.stats.onBatch?.(batch.length, performance.now() - started);
      if (batch.length > 1 && this.writer.retryEachAlone(error)) {
        for (const entry of batch) await this.writeBatch([entry]);
      } else {
        for (const entry of batch) entry.reject(error);
      }
      return;
    }
    this.stats.onBatch?.(batch.length, performance.now() - started);
    if (results.length !== batch.length) {
      const error = new Error(`the writer returned ${results.length} results for ${batch.length} items`);
      for (const entry of batch) entry.reject(error);
      return;
    }
    batch.forEach((entry, i) => entry.resolve(results[i]));
  }
}
