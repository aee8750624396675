/**
 * `margo-wfm get events` / `events --follow`: reads the SSE stream with a short-lived stream token
 * (POST /operator/v1/events/token) in `?token=`; the bearer token is never put in a URL and not sent
 * on the stream request.
 */
import type { Schemas } from '../api-client/index.js';
import { type Api, CliError, EXIT, ok } from './http.js';
import { type SseItem, SseParser } from './sse.js';

export interface EventFilters {
  type?: string;
  deploymentId?: string;
  clientId?: string;
}

export interface ReadEventsOptions {
  filters: EventFilters;
  /** Replay every matching event after this id first; undefined: only new events. */
  after?: string;
  /** Keep reading (reconnecting with Last-Event-ID); else stop once the replay is done. */
  follow: boolean;
  onEvent: (event: Schemas['OperatorEventDto']) => void;
  /** Called each time the stream is live (after the replay). */
  onLive?: () => void;
  /** Called before a reconnect, with the reason. */
  onReconnect?: (reason: string) => void;
  signal?: AbortSignal;
}

/** One connection: resolves with `true` when it stopped after the replay (not following). */
async function readOnce(api: Api, options: ReadEventsOptions, state: { last?: string }): Promise<boolean> {
  const { token } = await ok(api.client.POST('/operator/v1/events/token'));
  const { data, error, response } = await api.client.GET('/operator/v1/events', {
    params: {
      query: { ...options.filters, token },
      header: state.last !== undefined ? { 'Last-Event-ID': state.last } : {},
    },
    headers: { authorization: null, accept: 'text/event-stream' },
    parseAs: 'stream',
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (!response.ok || !data) {
    const detail = (error as { detail?: string } | undefined)?.detail ?? response.statusText;
    throw new CliError(
      `${response.status}: ${detail}`,
      response.status === 404 ? EXIT.notFound : EXIT.service,
    );
  }
  const parser = new SseParser();
  const decoder = new TextDecoder();
  const reader = data.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return false;
      for (const item of parser.feed(decoder.decode(value, { stream: true }))) {
        if (handle(item, options, state)) return true;
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

/** Handles one SSE item; `true` when reading should stop (the replay is done and not following). */
function handle(item: SseItem, options: ReadEventsOptions, state: { last?: string }): boolean {
  if (item.kind === 'comment' && item.text === 'live') {
    options.onLive?.();
    return !options.follow;
  }
  if (item.kind !== 'message') return false;
  const event = JSON.parse(item.data) as Schemas['OperatorEventDto'];
  if (item.id !== undefined) state.last = item.id;
  options.onEvent(event);
  return false;
}

/** Reads events per `options`; with `follow`, reconnects after a dropped stream and never returns. */
export async function readEvents(api: Api, options: ReadEventsOptions): Promise<void> {
  const state: { last?: string } = options.after !== undefined ? { last: options.after } : {};
  let delay = 1_000;
  for (;;) {
    try {
      if (await readOnce(api, options, state)) return;
      if (!options.follow) return;
      delay = 1_000;
      options.onReconnect?.('the stream ended');
    } catch (error) {
      if (options.signal?.aborted) return;
      // a refusal (bad filter, revoked token) is final; a lost connection is retried when following
      if (!options.follow || !(error instanceof CliError) || error.exitCode !== EXIT.connection) throw error;
      options.onReconnect?.(error.message);
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 30_000);
  }
}

/** One line per event: time, id, type, client, deployment, data as compact JSON. */
export function eventLine(event: Schemas['OperatorEventDto']): string {
  return [
    event.at,
    event.id,
    event.type,
    event.clientId ? `client=${event.clientId}` : '',
    event.deploymentId ? `deployment=${event.deploymentId}` : '',
    JSON.stringify(event.data),
  ]
    .filter((f) => f !== '')
    .join('  ');
}
