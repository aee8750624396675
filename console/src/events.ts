// Live operator events over SSE. EventSource cannot send headers, so the console asks for a
// short-lived stream token (POST /operator/v1/events/token, with the bearer token in the header) and
// opens the stream with it: the operator token itself never goes into a URL. When the stream drops,
// a new stream token is fetched and the stream resumes after the last event seen.
import { useEffect, useRef, useState } from 'react';
import { call, type Schemas } from './api';
import { useSession } from './session';

export type OperatorEvent = Schemas['OperatorEventDto'];

export interface StreamFilter {
  type?: string;
  clientId?: string;
  deploymentId?: string;
}

const RETRY_MS = 3_000;

/** Calls `onEvent` for each live event matching `filter`; returns whether the stream is open. */
export function useEventStream(filter: StreamFilter, onEvent: (event: OperatorEvent) => void): boolean {
  const { api } = useSession();
  const [open, setOpen] = useState(false);
  const handler = useRef(onEvent);
  handler.current = onEvent;
  const key = JSON.stringify(filter);

  useEffect(() => {
    let source: EventSource | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    let lastEventId: string | undefined;
    const parsed = JSON.parse(key) as StreamFilter;

    const connect = async () => {
      try {
        const { token } = await call(api.POST('/operator/v1/events/token'));
        if (stopped) return;
        const query = new URLSearchParams({ token });
        for (const [name, value] of Object.entries(parsed)) if (value) query.set(name, String(value));
        if (lastEventId) query.set('lastEventId', lastEventId);
        source = new EventSource(`/operator/v1/events?${query.toString()}`);
        source.onopen = () => setOpen(true);
        source.onmessage = null;
        const deliver = (message: MessageEvent<string>) => {
          if (message.lastEventId) lastEventId = message.lastEventId;
          try {
            handler.current(JSON.parse(message.data) as OperatorEvent);
          } catch {
            /* a malformed message is skipped */
          }
        };
        // every event has its type as the SSE event name: listen to the generic handler as well
        source.onmessage = deliver;
        for (const type of KNOWN_TYPES) source.addEventListener(type, deliver as EventListener);
        source.onerror = () => {
          setOpen(false);
          source?.close();
          if (!stopped) timer = setTimeout(() => void connect(), RETRY_MS);
        };
      } catch {
        setOpen(false);
        if (!stopped) timer = setTimeout(() => void connect(), RETRY_MS);
      }
    };
    void connect();
    return () => {
      stopped = true;
      clearTimeout(timer);
      source?.close();
      setOpen(false);
    };
  }, [api, key]);
  return open;
}

/** The event types the service publishes (src/infra/events/event-log.service.ts, OperatorEventType). */
export const KNOWN_TYPES = [
  'status.changed',
  'placement.changed',
  'manifest.issued',
  'client.enrolled',
  'client.retired',
  'device.changed',
];
