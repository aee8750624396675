import { describe, expect, it } from 'vitest';
import { EventPoller, type EventSource } from './event-poller.js';

interface Row {
  id: bigint;
}

/** A log whose visible rows the test controls (as if transactions committed in any order). */
class FakeLog implements EventSource<Row> {
  visible = new Set<bigint>();
  start = 0n;
  reads = 0;
  /** When set, readAfter waits for this promise (to interleave with stop()). */
  gate?: Promise<void>;

  commit(...ids: number[]): void {
    for (const id of ids) this.visible.add(BigInt(id));
  }

  startingPoint(): Promise<bigint> {
    return Promise.resolve(this.start);
  }

  async readAfter(afterId: bigint, limit: number): Promise<Row[]> {
    this.reads++;
    const rows = [...this.visible]
      .filter((id) => id > afterId)
      .sort((a, b) => (a < b ? -1 : 1))
      .slice(0, limit)
      .map((id) => ({ id }));
    await this.gate;
    return rows;
  }
}

function setup(batch = 100) {
  const log = new FakeLog();
  const delivered: number[] = [];
  let now = 1_000;
  const poller = new EventPoller<Row>(log, (row) => delivered.push(Number(row.id)), {
    gapGraceMs: 2_000,
    batch,
    now: () => now,
  });
  return { log, delivered, poller, advance: (ms: number) => (now += ms) };
}

describe('EventPoller', () => {
  it('delivers contiguous rows in id order, each once, from its starting point', async () => {
    const { log, delivered, poller } = setup();
    log.commit(1, 2, 3);
    log.start = 2n;
    await poller.start();
    await poller.poll();
    log.commit(4, 5);
    await poller.poll();
    await poller.poll();
    expect(delivered).toEqual([3, 4, 5]);
    expect(poller.highWaterMark).toBe(5n);
  });

  it('holds back rows behind an id that commits late, then delivers both in order', async () => {
    const { log, delivered, poller, advance } = setup();
    await poller.start();
    log.commit(1, 3, 4); // 2 is still in flight
    await poller.poll();
    expect(delivered).toEqual([1]);
    expect(poller.gapDeadline).toBe(3_000);
    advance(1_500);
    log.commit(2);
    await poller.poll();
    expect(delivered).toEqual([1, 2, 3, 4]);
    expect(poller.gapDeadline).toBeUndefined();
  });

  it('takes a gap older than the grace for a hole and moves on', async () => {
    const { log, delivered, poller, advance } = setup();
    await poller.start();
    log.commit(1, 3);
    await poller.poll();
    advance(1_999);
    await poller.poll();
    expect(delivered).toEqual([1]);
    advance(1);
    await poller.poll();
    expect(delivered).toEqual([1, 3]);
    log.commit(2); // too late: never delivered out of order
    log.commit(4);
    await poller.poll();
    expect(delivered).toEqual([1, 3, 4]);
  });

  it('reads batch after batch until it has caught up, and coalesces concurrent polls', async () => {
    const { log, delivered, poller } = setup(10);
    await poller.start();
    log.commit(...Array.from({ length: 35 }, (_, i) => i + 1));
    await Promise.all([poller.poll(), poller.poll(), poller.poll()]);
    expect(delivered).toEqual(Array.from({ length: 35 }, (_, i) => i + 1));
    expect(log.reads).toBeLessThanOrEqual(6);
  });

  it('drops a read that straddles stop() and starts afresh', async () => {
    const { log, delivered, poller } = setup();
    await poller.start();
    log.commit(1);
    let open!: () => void;
    log.gate = new Promise<void>((resolve) => (open = resolve));
    const inFlight = poller.poll();
    poller.stop();
    open();
    await inFlight;
    expect(delivered).toEqual([]);
    expect(poller.highWaterMark).toBeUndefined();
    log.gate = undefined;
    log.start = 1n;
    await poller.start();
    log.commit(2);
    await poller.poll();
    expect(delivered).toEqual([2]);
  });
});
