import { bounded } from '../../common/bounded.js';
import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { Prisma } from '../../generated/prisma/client.js';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import { RedisService } from '../redis/redis.module.js';
import { EventPoller } from './event-poller.js';
import { type EventFilter, EventRepository, type OperatorEventRow } from './event.repository.js';

export type { EventFilter } from './event.repository.js';

/** Known event types; any other dotted name may be published too. */
export type OperatorEventType =
  | 'status.changed'
  | 'placement.changed'
  | 'manifest.issued'
  | 'client.enrolled'
  | 'client.retired'
  | 'device.changed'
  | 'audit.recorded'
  | (string & {});

/** What a publisher hands over. `data` is stored as JSON (bigints become strings, dates ISO strings). */
export interface NewOperatorEvent {
  type: OperatorEventType;
  /** External client id (rc.3 wfm-client-id or legacy clientId). */
  clientId?: string;
  /** Operator deployment id. */
  deploymentId?: string;
  data: Readonly<Record<string, unknown>>;
}

/** An event as subscribers receive it. */
export interface OperatorEvent {
  /** Monotonic, from Postgres; orders the events across all instances. */
  id: bigint;
  type: OperatorEventType;
  /** ISO 8601 time of the insert. */
  at: string;
  clientId?: string;
  deploymentId?: string;
  data: Record<string, unknown>;
}

/** Events kept in the log (everything older is pruned); at least 10,000 are promised. */
export const KEEP_EVENTS = 50_000;
/** How long a missing id holds back later ones before it counts as a hole (see EventPoller). */
export const GAP_GRACE_MS = 2_000;
const PRUNE_INTERVAL_MS = 10 * 60_000;
/** Poll period while the Redis notifications flow (a safety net for a lost PUBLISH) … */
const NOTIFIED_POLL_MS = 2_000;
/** … and while they do not. */
const FALLBACK_POLL_MS = 1_000;
const READ_BATCH = 500;
const REPLAY_PAGE = 500;
const NOTIFY_TIMEOUT_MS = 500;

interface Subscription {
  filter: EventFilter;
  /** The highest id handed to this subscriber (or its starting point). */
  lastId: bigint;
  /** Live events that arrived while the replay ran; undefined once live. */
  pending?: OperatorEvent[];
  onEvent: (event: OperatorEvent) => void;
  options: SubscribeOptions;
  closed: boolean;
}

export interface SubscribeOptions {
  /** The replay failed (e.g. Postgres is away); the subscription has ended. */
  onError?: (error: Error) => void;
  /**
   * The replay is done: from now on every event published (on any instance) reaches `onEvent`.
   * A stream answers its HTTP request only then, so a client that sees the response cannot miss
   * an event published after it.
   */
  onLive?: () => void;
}

/** Whether an event passes a subscriber's filter. */
export function matchesFilter(event: OperatorEvent, filter: EventFilter): boolean {
  if (filter.types && !filter.types.includes(event.type)) return false;
  if (filter.excludeTypes?.includes(event.type)) return false;
  if (filter.deploymentId !== undefined && event.deploymentId !== filter.deploymentId) return false;
  if (filter.clientId !== undefined && event.clientId !== filter.clientId) return false;
  return true;
}

function toEvent(row: OperatorEventRow): OperatorEvent {
  return {
    id: row.id,
    type: row.type,
    at: row.at.toISOString(),
    ...(row.clientId !== null ? { clientId: row.clientId } : {}),
    ...(row.deploymentId !== null ? { deploymentId: row.deploymentId } : {}),
    data: (row.data ?? {}) as Record<string, unknown>,
  };
}

/** The publisher's data as JSON (bigints as decimal strings). */
function toJson(data: Readonly<Record<string, unknown>>): Prisma.InputJsonObject {
  const text = JSON.stringify(data, (_key, value: unknown) =>
    typeof value === 'bigint' ? value.toString() : value,
  );
  return JSON.parse(text) as Prisma.InputJsonObject;
}

/**
 * The operator event log. Postgres is the log (the id orders events; Redis keeps nothing on disk);
 * Redis only carries a tiny "something new" notification on `<prefix>:events` (`wfm:events` by
 * default) so every instance learns about an insert at once. One shared poller per process reads new
 * rows once and fans them out to all subscribers, in id order, without gaps or duplicates (see
 * EventPoller for ids that commit out of order). It also polls every 2 s as a safety net for a lost
 * notification, and every second while its own Redis subscription is down.
 */
@Injectable()
export class EventLogService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(EventLogService.name);
  private readonly channel: string;
  private readonly subscriptions = new Set<Subscription>();
  private readonly poller: EventPoller<OperatorEventRow>;
  private listener?: Redis;
  private notified = false;
  private pollTimer?: NodeJS.Timeout;
  private pruneTimer?: NodeJS.Timeout;
  private pollFailing = false;
  private destroyed = false;

  constructor(
    private readonly events: EventRepository,
    @Inject(RedisService) private readonly redis: RedisService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.channel = `${config.queue.prefix}:events`;
    this.poller = new EventPoller<OperatorEventRow>(
      {
        startingPoint: () => this.events.settledId(GAP_GRACE_MS),
        readAfter: (afterId, limit) => this.events.readAfter(afterId, limit),
      },
      (row) => this.fanOut(toEvent(row)),
      { gapGraceMs: GAP_GRACE_MS, batch: READ_BATCH },
    );
  }

  onModuleInit(): void {
    this.pruneTimer = setInterval(() => void this.prune(), PRUNE_INTERVAL_MS);
    this.pruneTimer.unref();
  }

  onModuleDestroy(): void {
    this.destroyed = true;
    clearInterval(this.pruneTimer);
    clearTimeout(this.pollTimer);
    for (const subscription of this.subscriptions) subscription.closed = true;
    this.subscriptions.clear();
    this.poller.stop();
    this.listener?.disconnect();
  }

  /** Number of open subscriptions in this process. */
  get subscriberCount(): number {
    return this.subscriptions.size;
  }

  /**
   * Appends an event to the log (its own statement, committed at once; call it after the change it
   * reports has committed) and tells every instance over Redis, best effort: without Redis they
   * notice at their next safety poll (≤ 2 s). Resolves with the event's id; rejects when Postgres
   * fails.
   */
  async publish(event: NewOperatorEvent): Promise<bigint> {
    const id = await this.events.insert({
      type: event.type,
      clientId: event.clientId,
      deploymentId: event.deploymentId,
      data: toJson(event.data),
    });
    if (this.subscriptions.size > 0) void this.pollNow();
    await this.notify(id);
    return id;
  }

  /** `publish` for many events at once: one statement, one commit, one notification. */
  async publishMany(events: NewOperatorEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.published(await this.appendIn(undefined, events));
  }

  /**
   * Appends events inside the caller's transaction as its last statement, so they commit together
   * with the change they report (none without the other); resolves with the highest id (0 when
   * there were none). After the commit, call `published` with it.
   */
  async appendIn(tx: Prisma.TransactionClient | undefined, events: NewOperatorEvent[]): Promise<bigint> {
    if (events.length === 0) return 0n;
    return this.events.insertMany(
      events.map((event) => ({
        type: event.type,
        clientId: event.clientId,
        deploymentId: event.deploymentId,
        data: toJson(event.data),
      })),
      tx,
    );
  }

  /** After the commit of events appended with `appendIn`: tells this and every other instance. */
  async published(highestId: bigint): Promise<void> {
    if (highestId === 0n) return;
    if (this.subscriptions.size > 0) void this.pollNow();
    await this.notify(highestId);
  }

  /**
   * Replays the events after `afterId` that match `filter` (none when undefined: only new ones),
   * then delivers new ones as they are published on any instance, in id order, each once.
   * Callbacks never run synchronously. Returns the function that ends the subscription.
   */
  subscribe(
    filter: EventFilter,
    afterId: bigint | undefined,
    onEvent: (event: OperatorEvent) => void,
    options: SubscribeOptions = {},
  ): () => void {
    const subscription: Subscription = { filter, lastId: -1n, pending: [], onEvent, options, closed: false };
    this.subscriptions.add(subscription);
    this.listen();
    this.open(subscription, afterId).catch((error: unknown) => {
      if (subscription.closed) return;
      this.unsubscribe(subscription);
      subscription.options.onError?.(error instanceof Error ? error : new Error(String(error)));
    });
    return () => this.unsubscribe(subscription);
  }

  /** Starts the shared poller, replays from Postgres, then switches the subscriber to live. */
  private async open(subscription: Subscription, afterId: bigint | undefined): Promise<void> {
    const upTo = await this.poller.start();
    if (subscription.closed) return;
    void this.pollNow(); // a freshly started poller starts a little in the past
    if (afterId === undefined) {
      subscription.lastId = await this.events.maxId();
    } else if (afterId > upTo && afterId > (await this.events.maxId())) {
      // an id this log never issued (e.g. the database was reset): continue from its newest event
      subscription.lastId = await this.events.maxId();
    } else {
      subscription.lastId = afterId;
      await this.replay(subscription, upTo);
      if (subscription.lastId < upTo) subscription.lastId = upTo;
    }
    if (subscription.closed) return;
    const pending = subscription.pending ?? [];
    subscription.pending = undefined;
    for (const event of pending) this.deliver(subscription, event);
    if (!subscription.closed) subscription.options.onLive?.();
  }

  /** Hands over the matching events in (lastId, upTo], page by page. */
  private async replay(subscription: Subscription, upTo: bigint): Promise<void> {
    for (;;) {
      const rows = await this.events.readRange(subscription.lastId, upTo, subscription.filter, REPLAY_PAGE);
      for (const row of rows) {
        if (subscription.closed) return;
        this.deliver(subscription, toEvent(row));
      }
      if (rows.length < REPLAY_PAGE) return;
    }
  }

  private unsubscribe(subscription: Subscription): void {
    subscription.closed = true;
    this.subscriptions.delete(subscription);
    if (this.subscriptions.size === 0) {
      clearTimeout(this.pollTimer);
      this.poller.stop();
    }
  }

  /** The poller's output: every subscriber gets the event (buffered while its replay runs). */
  private fanOut(event: OperatorEvent): void {
    for (const subscription of this.subscriptions) {
      if (subscription.closed || !matchesFilter(event, subscription.filter)) continue;
      if (subscription.pending) subscription.pending.push(event);
      else this.deliver(subscription, event);
    }
  }

  /** Delivers one event unless the subscriber already has it; a throwing callback ends it. */
  private deliver(subscription: Subscription, event: OperatorEvent): void {
    if (subscription.closed || event.id <= subscription.lastId) return;
    subscription.lastId = event.id;
    try {
      subscription.onEvent(event);
    } catch (error) {
      this.logger.warn({ msg: 'an event subscriber failed; unsubscribed', error: String(error) });
      this.unsubscribe(subscription);
    }
  }

  /** Reads what is new now; errors are logged once per outage and retried by the timer. */
  private async pollNow(): Promise<void> {
    if (this.subscriptions.size === 0 || this.destroyed) return;
    try {
      await this.poller.start();
      await this.poller.poll();
      if (this.pollFailing) this.logger.log('reading the event log works again');
      this.pollFailing = false;
    } catch (error) {
      if (!this.pollFailing) {
        this.logger.warn({ msg: 'cannot read the event log; retrying', error: String(error) });
      }
      this.pollFailing = true;
    } finally {
      this.schedulePoll();
    }
  }

  /** The next timed poll: soon after a pending gap's deadline, else the safety / fallback period. */
  private schedulePoll(): void {
    clearTimeout(this.pollTimer);
    if (this.subscriptions.size === 0 || this.destroyed) return;
    let delay = this.notified ? NOTIFIED_POLL_MS : FALLBACK_POLL_MS;
    const deadline = this.poller.gapDeadline;
    if (deadline !== undefined) delay = Math.min(delay, Math.max(0, deadline - Date.now()) + 10);
    this.pollTimer = setTimeout(() => void this.pollNow(), delay);
    this.pollTimer.unref();
  }

  /** Subscribes (once per process) to the notification channel on a connection of its own. */
  private listen(): void {
    if (this.listener || this.destroyed) return;
    const listener = this.redis.client.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null });
    listener.on('error', () => undefined);
    listener.on('ready', () => {
      listener.subscribe(this.channel).then(
        () => {
          this.notified = true;
          void this.pollNow(); // notifications may have been missed while away
        },
        () => undefined,
      );
    });
    listener.on('close', () => {
      const wasNotified = this.notified;
      this.notified = false;
      if (wasNotified) this.schedulePoll(); // poll every second from now on
    });
    listener.on('message', (_channel: string, id: string) => this.onNotification(id));
    this.listener = listener;
  }

  private onNotification(id: string): void {
    const hwm = this.poller.highWaterMark;
    if (hwm !== undefined && /^\d{1,19}$/.test(id) && BigInt(id) <= hwm) return;
    void this.pollNow();
  }

  /** PUBLISHes the new id, bounded in time; a failure only delays other instances by ≤ 1 s. */
  private async notify(id: bigint): Promise<void> {
    try {
      // bounded() also swallows the late rejection of a publish that lost the race
      await bounded(this.redis.client.publish(this.channel, id.toString()), NOTIFY_TIMEOUT_MS, 'Redis');
    } catch (error) {
      this.logger.debug({
        msg: 'could not notify other instances of an event',
        id: String(id),
        error: String(error),
      });
    }
  }

  /** Drops all but the newest KEEP_EVENTS ids (every instance may run it; it is idempotent). */
  async prune(): Promise<number> {
    try {
      return await this.events.pruneKeeping(KEEP_EVENTS);
    } catch (error) {
      this.logger.warn({ msg: 'could not prune the event log', error: String(error) });
      return 0;
    }
  }
}
