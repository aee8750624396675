import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import type { Response } from 'express';
import { Gauge } from 'prom-client';
import { InvalidRequestError, ServiceUnavailableError } from '../../common/problem/domain-error.js';
import { OperatorAuthService } from '../enrollment/auth/operator-auth.service.js';
import { MetricsService } from '../../infra/metrics/metrics.service.js';
import type { EventStreamQueryDto, OperatorEventDto } from './dto/operator-event.dto.js';
import { EventScopeRepository } from './event-scope.repository.js';
import {
  type EventFilter,
  EventLogService,
  type OperatorEvent,
} from '../../infra/events/event-log.service.js';

/** Browsers wait this long before reconnecting (sent as `retry:`). */
export const RETRY_MS = 3_000;
/** A comment line this often keeps proxies and load balancers from closing an idle stream. */
export const HEARTBEAT_MS = 15_000;
/** A reader this far behind is disconnected; it resumes with Last-Event-ID, so nothing is lost. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
/**
 * How often the operator tokens behind the open streams are checked against the database (one query
 * for all of them): a revocation, made on any instance, ends the streams opened with that token or
 * with a stream token obtained with it within this time plus one query.
 */
export const REVOCATION_CHECK_MS = 500;
/**
 * Sent once the replay after a resume point is complete and the stream is live: a comment, which
 * EventSource ignores, that lets a reader such as `margo-wfm get events` stop after the history.
 */
export const LIVE_COMMENT = ': live\n\n';
const MAX_EVENT_ID = 9_223_372_036_854_775_807n;

export interface StreamRequest {
  filter: EventFilter;
  afterId?: bigint;
  /** The created operator token the stream was opened with (directly or via a stream token). */
  tokenId?: string;
  /** The caller's label scope: only events inside it are sent (EventScopeRepository). */
  scope?: Record<string, string>;
}

type Delivery = { event: OperatorEvent } | { marker: () => void };

/**
 * The events of a scoped stream, in order: each run asks the database which of the waiting events
 * are visible within the scope (one query per run, up to 500 events), writes those, and keeps
 * markers (the end of the replay) in their place.
 */
class ScopedDelivery {
  private readonly waiting: Delivery[] = [];
  private running = false;
  private stopped = false;

  constructor(
    private readonly visible: (ids: bigint[]) => Promise<Set<bigint>>,
    private readonly write: (event: OperatorEvent) => void,
    private readonly fail: (error: unknown) => void,
  ) {}

  push(item: Delivery): void {
    if (this.stopped) return;
    this.waiting.push(item);
    if (!this.running) void this.run();
  }

  stop(): void {
    this.stopped = true;
    this.waiting.length = 0;
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.waiting.length > 0 && !this.stopped) {
        const batch = this.waiting.splice(0, 500);
        const ids = batch.flatMap((item) => ('event' in item ? [item.event.id] : []));
        const shown = await this.visible(ids);
        for (const item of batch) {
          if (this.stopped) return;
          if ('marker' in item) item.marker();
          else if (shown.has(item.event.id)) this.write(item.event);
        }
      }
    } catch (error) {
      this.fail(error);
    } finally {
      this.running = false;
    }
  }
}

/** The JSON an SSE `data:` line carries. */
export function toEventDto(event: OperatorEvent): OperatorEventDto {
  return {
    id: event.id.toString(),
    type: event.type,
    at: event.at,
    ...(event.clientId !== undefined ? { clientId: event.clientId } : {}),
    ...(event.deploymentId !== undefined ? { deploymentId: event.deploymentId } : {}),
    data: event.data,
  };
}

/** One SSE message: `id`, `event` and one `data` line (JSON never contains a raw newline). */
export function formatEvent(event: OperatorEvent): string {
  const type = event.type.replace(/[\r\n]/g, ' ');
  return `id: ${event.id}\nevent: ${type}\ndata: ${JSON.stringify(toEventDto(event))}\n\n`;
}

/** The resume point: the Last-Event-ID header (what a reconnecting EventSource sends) wins. */
export function parseStreamRequest(query: EventStreamQueryDto, lastEventIdHeader?: string): StreamRequest {
  const types = query.type?.split(',').filter((t) => t !== '');
  const filter: EventFilter = {
    ...(types && types.length > 0 ? { types } : {}),
    ...(query.deploymentId !== undefined ? { deploymentId: query.deploymentId } : {}),
    ...(query.clientId !== undefined ? { clientId: query.clientId } : {}),
  };
  const raw = lastEventIdHeader?.trim() || query.lastEventId;
  if (raw === undefined) return { filter };
  if (!/^\d{1,19}$/.test(raw) || BigInt(raw) > MAX_EVENT_ID) {
    throw new InvalidRequestError('Last-Event-ID must be an event id (a decimal number)');
  }
  return { filter, afterId: BigInt(raw) };
}

/**
 * Server-Sent Events for operator UIs: writes the subscription of one HTTP response as an
 * `text/event-stream`, with heartbeats, and ends the subscription when the client goes away.
 */
@Injectable()
export class EventStreamService implements OnModuleDestroy {
  private readonly logger = new Logger(EventStreamService.name);
  /** Each open stream's close function, with the operator token it depends on (if any). */
  private readonly open = new Map<() => void, string | undefined>();
  private readonly revocationCheck: NodeJS.Timeout;
  private checking = false;

  constructor(
    private readonly events: EventLogService,
    private readonly operators: OperatorAuthService,
    private readonly scopes: EventScopeRepository,
    metrics: MetricsService,
  ) {
    this.revocationCheck = setInterval(() => void this.closeRevoked(), REVOCATION_CHECK_MS);
    this.revocationCheck.unref();
    const open = this.open;
    new Gauge({
      name: 'wfm_sse_subscribers',
      help: 'Open operator event streams (GET /operator/v1/events) on this instance',
      registers: [metrics.registry],
      collect() {
        this.set(open.size);
      },
    });
  }

  /** Number of open streams on this instance. */
  get openStreams(): number {
    return this.open.size;
  }

  /**
   * Turns `res` into an event stream for `request` until the client disconnects. Resolves once the
   * stream is live (the response has started); rejects, with nothing written, when the event log
   * cannot be read, so the caller answers with a problem document.
   */
  stream(res: Response, request: StreamRequest): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (!res.socket || res.socket.destroyed) return resolve(); // the client left during authentication
      let started = false;
      let closed = false;
      const start = (): void => {
        if (started || closed) return;
        started = true;
        this.writeHead(res);
        resolve();
      };
      const close = (): void => {
        if (closed) return;
        closed = true;
        scoped?.stop();
        clearInterval(heartbeat);
        unsubscribe();
        this.open.delete(close);
        if (started && !res.writableEnded) res.end();
        resolve();
      };
      const write = (event: OperatorEvent): void => {
        start();
        res.write(formatEvent(event));
        if (res.writableLength > MAX_BUFFERED_BYTES) close();
      };
      const live = (): void => {
        start();
        if (!closed) res.write(LIVE_COMMENT);
      };
      // a scoped stream sends only what the scope query lets through (replay and live alike)
      const scope = request.scope;
      const scoped =
        scope !== undefined
          ? new ScopedDelivery(
              (ids) => this.scopes.visibleIds(ids, scope),
              write,
              (error) => {
                this.logger.warn({
                  msg: 'cannot check the scope of events for a stream',
                  error: String(error),
                });
                if (!started) reject(new ServiceUnavailableError('The event log is unavailable'));
                close();
              },
            )
          : undefined;
      // callbacks never run synchronously, so `close` and `heartbeat` exist when they do
      const unsubscribe = this.events.subscribe(
        request.filter,
        request.afterId,
        (event) => (scoped ? scoped.push({ event }) : write(event)),
        {
          onLive: () => (scoped ? scoped.push({ marker: live }) : live()),
          onError: (error) => {
            this.logger.warn({ msg: 'cannot read the event log for a stream', error: String(error) });
            if (!started) reject(new ServiceUnavailableError('The event log is unavailable'));
            close();
          },
        },
      );
      const heartbeat = setInterval(() => {
        if (started) res.write(': keep-alive\n\n');
      }, HEARTBEAT_MS);
      heartbeat.unref();
      res.on('close', close);
      this.open.set(close, request.tokenId);
    });
  }

  /** The response head and the reconnection delay. */
  private writeHead(res: Response): void {
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    res.socket?.setNoDelay(true);
    res.write(`retry: ${RETRY_MS}\n\n`);
  }

  /**
   * Ends the streams whose operator token was revoked (or deleted). One query per tick for every
   * open stream; a failed query is retried at the next tick (the streams stay open meanwhile: a
   * database that cannot be read also refuses every new stream and request).
   */
  async closeRevoked(): Promise<void> {
    if (this.checking) return;
    const ids = new Set([...this.open.values()].filter((id) => id !== undefined));
    if (ids.size === 0) return;
    this.checking = true;
    try {
      const active = await this.operators.activeTokenIds([...ids]);
      for (const [close, tokenId] of [...this.open]) {
        if (tokenId !== undefined && !active.has(tokenId)) close();
      }
    } catch (error) {
      this.logger.warn({ msg: 'cannot check the operator tokens of open streams', error: String(error) });
    } finally {
      this.checking = false;
    }
  }

  /** Ends every stream (shutdown); clients reconnect to another instance. */
  onModuleDestroy(): void {
    clearInterval(this.revocationCheck);
    for (const close of [...this.open.keys()]) close();
  }
}
