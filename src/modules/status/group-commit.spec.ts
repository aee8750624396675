import { describe, expect, it } from 'vitest';
import {
  GroupCommitQueue,
  QueueClosedError,
  QueueFullError,
  type GroupCommitWriter,
} from './group-commit.js';

/** A writer that records its batches and answers each item with its double, or fails as told. */
class RecordingWriter implements GroupCommitWriter<number, number> {
  readonly batches: number[][] = [];
  /** Items whose presence fails the whole write. */
  poison = new Set<number>();
  /** Fails every write with this error while set. */
  down?: Error;
  /** Resolves each write only when released (to hold a write in flight). */
  hold?: Promise<void>;

  async write(items: readonly number[]): Promise<number[]> {
    this.batches.push([...items]);
    await this.hold;
    if (this.down) throw this.down;
    const bad = items.find((i) => this.poison.has(i));
    if (bad !== undefined) throw new Error(`constraint violated by ${bad}`);
    return items.map((i) => i * 2);
  }

  retryEachAlone(error: unknown): boolean {
    return error !== this.down;
  }
}

const settle = <T>(p: Promise<T>) =>
  p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );

describe('GroupCommitQueue', () => {
  it('writes the items that arrive together in one batch and answers each with its own result', async () => {
    const writer = new RecordingWriter();
    const queue = new GroupCommitQueue({ maxBatch: 100, maxWaitMs: 5, maxQueued: 1000 }, writer);
    const results = await Promise.all([1, 2, 3, 4].map((i) => queue.submit(i)));
    expect(results).toEqual([2, 4, 6, 8]);
    expect(writer.batches).toEqual([[1, 2, 3, 4]]);
  });

  it('cuts batches at maxBatch, keeps arrival order, and forms the next batch while one is written', async () => {
    const writer = new RecordingWriter();
    let release!: () => void;
    writer.hold = new Promise((r) => (release = r));
    const queue = new GroupCommitQueue({ maxBatch: 3, maxWaitMs: 0, maxQueued: 1000 }, writer);
    const first = [1, 2, 3].map((i) => queue.submit(i)); // a full batch starts at once
    await new Promise((r) => setImmediate(r));
    const later = [4, 5, 6, 7].map((i) => queue.submit(i)); // arrive while it is written
    expect(writer.batches).toEqual([[1, 2, 3]]);
    expect(queue.queued).toBe(7);
    writer.hold = undefined;
    release();
    expect(await Promise.all([...first, ...later])).toEqual([2, 4, 6, 8, 10, 12, 14]);
    expect(writer.batches).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
    expect(queue.queued).toBe(0);
  });

  it('refuses items beyond maxQueued (waiting and in flight) and accepts again once they are written', async () => {
    const writer = new RecordingWriter();
    let release!: () => void;
    writer.hold = new Promise((r) => (release = r));
    const queue = new GroupCommitQueue({ maxBatch: 2, maxWaitMs: 0, maxQueued: 3 }, writer);
    const accepted = [1, 2, 3].map((i) => queue.submit(i));
    const refused = await settle(queue.submit(4));
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.error).toBeInstanceOf(QueueFullError);
    expect(!refused.ok && (refused.error as QueueFullError).queued).toBe(3);
    writer.hold = undefined;
    release();
    expect(await Promise.all(accepted)).toEqual([2, 4, 6]);
    expect(await queue.submit(4)).toBe(8);
    // the refused item was never handed to the writer
    expect(writer.batches.flat()).toEqual([1, 2, 3, 4]);
  });

  it('fails every item of a batch with the error the writer does not retry item by item', async () => {
    const writer = new RecordingWriter();
    writer.down = new Error('connection refused');
    const queue = new GroupCommitQueue({ maxBatch: 10, maxWaitMs: 1, maxQueued: 100 }, writer);
    const results = await Promise.all([1, 2, 3].map((i) => settle(queue.submit(i))));
    expect(results.map((r) => !r.ok && r.error)).toEqual([writer.down, writer.down, writer.down]);
    expect(writer.batches).toEqual([[1, 2, 3]]);
  });

  it('writes a failed batch again item by item so one bad item fails alone', async () => {
    const writer = new RecordingWriter();
    writer.poison.add(2);
    const queue = new GroupCommitQueue({ maxBatch: 10, maxWaitMs: 1, maxQueued: 100 }, writer);
    const results = await Promise.all([1, 2, 3].map((i) => settle(queue.submit(i))));
    expect(results[0]).toEqual({ ok: true, value: 2 });
    expect(results[1].ok).toBe(false);
    expect(!results[1].ok && String(results[1].error)).toMatch(/constraint violated by 2/);
    expect(results[2]).toEqual({ ok: true, value: 6 });
    expect(writer.batches).toEqual([[1, 2, 3], [1], [2], [3]]);
  });

  it('rejects a writer answer of the wrong length instead of mismatching results', async () => {
    const queue = new GroupCommitQueue(
      { maxBatch: 10, maxWaitMs: 1, maxQueued: 100 },
      { write: () => Promise.resolve([1]), retryEachAlone: () => false },
    );
    const results = await Promise.all([1, 2].map((i) => settle(queue.submit(i))));
    expect(results.every((r) => !r.ok)).toBe(true);
  });

  it('close() writes what waits (without waiting for the timer) and refuses new items', async () => {
    const writer = new RecordingWriter();
    const queue = new GroupCommitQueue({ maxBatch: 2, maxWaitMs: 60_000, maxQueued: 100 }, writer);
    const pending = [1, 2, 3].map((i) => queue.submit(i));
    const started = Date.now();
    await queue.close();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await Promise.all(pending)).toEqual([2, 4, 6]);
    const late = await settle(queue.submit(9));
    expect(!late.ok && late.error).toBeInstanceOf(QueueClosedError);
  });

  it('runs up to maxInFlight writes at once, each with the items that waited for it', async () => {
    const writer = new RecordingWriter();
    let release!: () => void;
    writer.hold = new Promise((r) => (release = r));
    const queue = new GroupCommitQueue(
      { maxBatch: 10, maxWaitMs: 1, maxQueued: 100, maxInFlight: 2 },
      writer,
    );
    const first = [1, 2].map((i) => queue.submit(i));
    await new Promise((r) => setTimeout(r, 20));
    const second = [3, 4].map((i) => queue.submit(i)); // a second write starts while the first runs
    await new Promise((r) => setTimeout(r, 20));
    const third = [5].map((i) => queue.submit(i)); // both run: waits for one of them
    await new Promise((r) => setTimeout(r, 20));
    expect(writer.batches).toEqual([
      [1, 2],
      [3, 4],
    ]);
    writer.hold = undefined;
    release();
    expect(await Promise.all([...first, ...second, ...third])).toEqual([2, 4, 6, 8, 10]);
    expect(writer.batches.slice(2)).toEqual([[5]]);
    expect(queue.queued).toBe(0);
    expect(await queue.submit(6)).toBe(12); // nothing left running that could strand a new item
  });

  it('validates its options', () => {
    const writer = new RecordingWriter();
    expect(() => new GroupCommitQueue({ maxBatch: 0, maxWaitMs: 0, maxQueued: 1 }, writer)).toThrow(
      RangeError,
    );
    expect(() => new GroupCommitQueue({ maxBatch: 1, maxWaitMs: -1, maxQueued: 1 }, writer)).toThrow(
      RangeError,
    );
  });
});
