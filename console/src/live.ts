import { type QueryKey, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef } from 'react';
import { type StreamFilter, useEventStream } from './events';

/**
 * Refetches the given queries when a matching event arrives (at most every 500 ms), so a page
 * shows what the fleet does without polling. Returns whether the live stream is open.
 */
export function useLiveRefresh(filter: StreamFilter, keys: QueryKey[]): boolean {
  const queries = useQueryClient();
  const pending = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const latest = useRef(keys);
  latest.current = keys;
  const open = useEventStream(filter, () => {
    if (pending.current) return;
    pending.current = setTimeout(() => {
      pending.current = undefined;
      for (const key of latest.current) void queries.invalidateQueries({ queryKey: key });
    }, 500);
  });
  // what changed between the first fetch and the stream's opening arrives with no event: refetch once open
  useEffect(() => {
    if (open) for (const key of latest.current) void queries.invalidateQueries({ queryKey: key });
  }, [open, queries]);
  useEffect(() => () => clearTimeout(pending.current), []);
  return open;
}
