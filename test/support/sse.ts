import https from 'node:https';
import type { WfmAccess } from '../../src/simulator/fleet.js';

/** One event of the operator event log (`GET /operator/v1/events`). */
export interface OperatorEvent {
  id: string;
  type: string;
  at: string;
  clientId?: string;
  deploymentId?: string;
  data: Record<string, unknown>;
}

/**
 * Replays the operator event log from its beginning (`Last-Event-ID: 0`) with the given filters, and
 * keeps reading live events until `enough(events)` holds or `timeoutMs` passes; then closes the stream
 * and resolves with every event read. Rejects when the stream does not open with 200.
 */
export function readEventLog(
  access: WfmAccess,
  filters: Record<string, string>,
  enough: (events: OperatorEvent[]) => boolean,
  timeoutMs: number,
): Promise<OperatorEvent[]> {
  const url = new URL('/operator/v1/events', access.url);
  for (const [key, value] of Object.entries(filters)) url.searchParams.set(key, value);
  return new Promise((resolve, reject) => {
    const events: OperatorEvent[] = [];
    let buffer = '';
    let settled = false;
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      if (error) reject(error);
      else resolve(events);
    };
    const timer = setTimeout(() => finish(), timeoutMs);
    const req = https.get(
      url,
      {
        ca: access.ca,
        headers: {
          authorization: `Bearer ${access.adminToken}`,
          accept: 'text/event-stream',
          'last-event-id': '0',
        },
      },
      (res) => {
        res.setEncoding('utf8');
        if (res.statusCode !== 200) {
          let body = '';
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () => finish(new Error(`GET ${url.pathname} answered ${res.statusCode}: ${body}`)));
          return;
        }
        res.on('data', (chunk: string) => {
          buffer += chunk.replace(/\r\n?/g, '\n');
          const blocks = buffer.split('\n\n');
          buffer = blocks.pop() ?? '';
          for (const block of blocks) {
            const data = block
              .split('\n')
              .filter((line) => line.startsWith('data:'))
              .map((line) => line.slice(5).replace(/^ /, ''));
            if (data.length > 0) events.push(JSON.parse(data.join('\n')) as OperatorEvent);
          }
          if (enough(events)) finish();
        });
        res.on('end', () => finish());
      },
    );
    req.on('error', (error) => finish(error));
  });
}
