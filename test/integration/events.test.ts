import type http from 'node:http';
import https from 'node:https';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { withClient } from '../../src/infra/database/postgres-admin.js';
import {
  EventLogService,
  KEEP_EVENTS,
  type NewOperatorEvent,
} from '../../src/infra/events/event-log.service.js';
import { EventTokenService } from '../../src/modules/events/event-token.service.js';
import { EventsModule } from '../../src/modules/events/events.module.js';
import { TEST_REDIS_URL } from '../support/env.js';
import { bearer } from '../support/identities.js';
import { type TestService, startTestService } from '../support/service.js';
import { hostPort, TcpProxy, viaProxy } from '../support/tcp-proxy.js';

const PATH = '/operator/v1/events';

interface SseMessage {
  id?: string;
  event?: string;
  data: string;
}

interface EventJson {
  id: string;
  type: string;
  at: string;
  clientId?: string;
  deploymentId?: string;
  data: Record<string, unknown>;
}

/** A Server-Sent Events reader over node's https, parsing the stream itself. */
interface SseStream {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The whole body of a non-200 answer. */
  body: string;
  retry?: string;
  comments: string[];
  messages: SseMessage[];
  /** Whether the server ended the stream. */
  ended: boolean;
  /** Waits until at least `count` messages arrived; resolves with all of them. */
  next(count: number, timeoutMs?: number): Promise<SseMessage[]>;
  close(): void;
}

const streams: SseStream[] = [];

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Parses complete SSE blocks out of `buffer`; returns what is left over. */
function parseBlocks(buffer: string, stream: SseStream): string {
  const normalised = buffer.replace(/\r\n?/g, '\n');
  const blocks = normalised.split('\n\n');
  const rest = blocks.pop() ?? '';
  for (const block of blocks) {
    const message: Partial<SseMessage> = {};
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) {
        stream.comments.push(line.slice(1).trim());
        continue;
      }
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'data') data.push(value);
      else if (field === 'id') message.id = value;
      else if (field === 'event') message.event = value;
      else if (field === 'retry') stream.retry = value;
    }
    if (data.length > 0) stream.messages.push({ ...message, data: data.join('\n') });
  }
  return rest;
}

function openStream(
  wfm: TestService,
  path: string,
  headers: Record<string, string> = {},
): Promise<SseStream> {
  return new Promise<SseStream>((resolve, reject) => {
    const req = https.request(new URL(path, wfm.url), {
      ca: wfm.serverCa,
      agent: false,
      headers: { accept: 'text/event-stream', ...headers },
    });
    req.on('error', (error) => {
      if ((error as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(error);
    });
    req.on('response', (res) => {
      let buffer = '';
      const stream: SseStream = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        body: '',
        comments: [],
        messages: [],
        ended: false,
        async next(count, timeoutMs = 10_000) {
          const end = Date.now() + timeoutMs;
          while (stream.messages.length < count) {
            if (Date.now() > end) {
              throw new Error(
                `expected ${count} messages, got ${stream.messages.length}: ${JSON.stringify(stream.messages)}`,
              );
            }
            await sleep(20);
          }
          return stream.messages;
        },
        close: () => req.destroy(),
      };
      streams.push(stream);
      res.setEncoding('utf8');
      if (stream.status !== 200) {
        res.on('data', (chunk: string) => (stream.body += chunk));
        res.on('end', () => resolve(stream));
        return;
      }
      res.on('data', (chunk: string) => {
        buffer = parseBlocks(buffer + chunk, stream);
      });
      res.on('end', () => (stream.ended = true));
      res.on('error', () => undefined);
      resolve(stream);
    });
    req.end();
  });
}

const eventsOf = (messages: SseMessage[]) => messages.map((m) => JSON.parse(m.data) as EventJson);
const idsOf = (messages: SseMessage[]) => messages.map((m) => m.id);
const sorted = (ids: bigint[]) => [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map(String);

function publisher(wfm: TestService): (event: Partial<NewOperatorEvent>) => Promise<bigint> {
  const log = wfm.app.get(EventLogService);
  return (event) => log.publish({ type: 'status.changed', data: {}, ...event });
}

async function until(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await sleep(50);
  }
  return false;
}

afterEach(() => {
  for (const stream of streams.splice(0)) stream.close();
});

describe('operator event stream (SSE)', () => {
  let wfm: TestService;
  let publish: (event: Partial<NewOperatorEvent>) => Promise<bigint>;
  const admin = () => bearer(wfm.adminToken);

  beforeAll(async () => {
    wfm = await startTestService({}, [EventsModule]);
    publish = publisher(wfm);
  });
  afterAll(async () => {
    await wfm?.stop();
  });

  async function createOperatorToken(role: string): Promise<{ id: string; token: string }> {
    const res = await wfm.call('/operator/v1/tokens', {
      method: 'POST',
      headers: { ...admin(), 'content-type': 'application/json' },
      body: JSON.stringify({ name: `${role}-events-${Date.now()}`, role }),
    });
    expect(res.status).toBe(201);
    return res.json();
  }

  async function streamToken(token: string): Promise<string> {
    const res = await wfm.call(`${PATH}/token`, { method: 'POST', headers: bearer(token) });
    expect(res.status).toBe(200);
    return res.json<{ token: string }>().token;
  }

  it('streams published events in id order with SSE framing; without a resume point only new ones', async () => {
    const before = await publish({ type: 'client.enrolled', clientId: 'before' });
    const stream = await openStream(wfm, PATH, admin());
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(stream.headers['cache-control']).toContain('no-cache');

    const ids = await Promise.all(
      [0, 1, 2, 3, 4].map((n) =>
        publish({
          type: n % 2 === 0 ? 'status.changed' : 'placement.changed',
          clientId: 'line-1.plc',
          deploymentId: 'dep-1',
          data: { n, version: 12n, nested: { ok: true } },
        }),
      ),
    );
    const messages = await stream.next(5);
    expect(stream.retry).toBe('3000');
    expect(idsOf(messages)).toEqual(sorted(ids));
    expect(messages.every((m) => BigInt(m.id!) > before)).toBe(true);
    for (const [i, event] of eventsOf(messages).entries()) {
      expect(messages[i].event).toBe(event.type);
      expect(event).toMatchObject({
        id: messages[i].id,
        clientId: 'line-1.plc',
        deploymentId: 'dep-1',
        data: { version: '12', nested: { ok: true } },
      });
      expect(Date.parse(event.at)).toBeGreaterThan(Date.now() - 60_000);
    }
    await sleep(200);
    expect(stream.messages).toHaveLength(5);
  });

  it('resumes after Last-Event-ID (header or ?lastEventId=) with exactly the missed events, then live', async () => {
    const first = await openStream(wfm, PATH, admin());
    const seen: bigint[] = [];
    for (let i = 0; i < 3; i++) seen.push(await publish({ data: { phase: 'seen', i } }));
    await first.next(3);
    first.close();

    const missed: bigint[] = [];
    for (let i = 0; i < 4; i++) missed.push(await publish({ data: { phase: 'missed', i } }));
    const resumed = await openStream(wfm, PATH, { ...admin(), 'last-event-id': String(seen[2]) });
    expect(idsOf(await resumed.next(4))).toEqual(missed.map(String));
    const live = await Promise.all([
      publish({ data: { phase: 'live' } }),
      publish({ data: { phase: 'live' } }),
    ]);
    expect(idsOf(await resumed.next(6))).toEqual([...missed.map(String), ...sorted(live)]);
    await sleep(200);
    expect(resumed.messages).toHaveLength(6);

    // the query form; the header wins when both are given (what a reconnecting EventSource sends)
    const byQuery = await openStream(wfm, `${PATH}?lastEventId=${seen[0]}`, admin());
    const expected = [seen[1], seen[2], ...missed].map(String).concat(sorted(live));
    expect(idsOf(await byQuery.next(expected.length))).toEqual(expected);
    const both = await openStream(wfm, `${PATH}?lastEventId=${seen[0]}`, {
      ...admin(),
      'last-event-id': String(missed[3]),
    });
    expect(idsOf(await both.next(2))).toEqual(sorted(live));
  });

  it('treats a Last-Event-ID this log never issued (a reset database) as "from now"', async () => {
    const stream = await openStream(wfm, PATH, { ...admin(), 'last-event-id': '999999999999' });
    const id = await publish({ data: { afterReset: true } });
    expect(idsOf(await stream.next(1))).toEqual([String(id)]);
  });

  it('filters by type, deployment and client, live and on replay', async () => {
    const byType = await openStream(wfm, `${PATH}?type=status.changed,client.retired`, admin());
    const byDeployment = await openStream(wfm, `${PATH}?deploymentId=dep-f1`, admin());
    const byClientAndType = await openStream(wfm, `${PATH}?clientId=cl-f1&type=status.changed`, admin());
    const mix: Partial<NewOperatorEvent>[] = [
      { type: 'status.changed', deploymentId: 'dep-f1', clientId: 'cl-f2' },
      { type: 'placement.changed', deploymentId: 'dep-f1' },
      { type: 'manifest.issued', clientId: 'cl-f1' },
      { type: 'client.retired', clientId: 'cl-f1' },
      { type: 'status.changed', deploymentId: 'dep-f2', clientId: 'cl-f1' },
      { type: 'placement.changed', deploymentId: 'dep-f2' },
      { type: 'status.changed', deploymentId: 'dep-f1', clientId: 'cl-f1' },
    ];
    const ids: bigint[] = [];
    for (const event of mix) ids.push(await publish(event));
    const pick = (...indexes: number[]) => indexes.map((i) => String(ids[i]));

    expect(idsOf(await byType.next(4))).toEqual(pick(0, 3, 4, 6));
    expect(idsOf(await byDeployment.next(3))).toEqual(pick(0, 1, 6));
    expect(idsOf(await byClientAndType.next(2))).toEqual(pick(4, 6));
    await sleep(200);
    expect(byType.messages).toHaveLength(4);
    expect(byDeployment.messages).toHaveLength(3);
    expect(byClientAndType.messages).toHaveLength(2);

    const replayed = await openStream(wfm, `${PATH}?deploymentId=dep-f1`, {
      ...admin(),
      'last-event-id': String(ids[0] - 1n),
    });
    expect(idsOf(await replayed.next(3))).toEqual(pick(0, 1, 6));
  }, 20_000);

  it('keeps id order when a lower id commits after a higher one', async () => {
    const stream = await openStream(wfm, PATH, admin());
    let slow = 0n;
    let fast = 0n;
    await withClient(wfm.databaseUrl, async (client) => {
      await client.query('BEGIN');
      const { rows } = await client.query<{ id: string }>(
        `INSERT INTO operator_event (type, data) VALUES ('status.changed', '{"slow": true}') RETURNING id`,
      );
      slow = BigInt(rows[0].id);
      fast = await publish({ data: { fast: true } });
      expect(fast).toBe(slow + 1n);
      await sleep(600);
      expect(stream.messages).toHaveLength(0); // held back behind the uncommitted id
      await client.query('COMMIT');
    });
    expect(idsOf(await stream.next(2, 5_000))).toEqual([String(slow), String(fast)]);
  });

  it('takes a rolled-back id for a hole and moves on after the grace', async () => {
    const stream = await openStream(wfm, PATH, admin());
    let hole = 0n;
    await withClient(wfm.databaseUrl, async (client) => {
      await client.query('BEGIN');
      const { rows } = await client.query<{ id: string }>(
        `INSERT INTO operator_event (type, data) VALUES ('status.changed', '{}') RETURNING id`,
      );
      hole = BigInt(rows[0].id);
      await client.query('ROLLBACK');
    });
    const started = Date.now();
    const after = await publish({ data: { afterHole: true } });
    expect(after).toBe(hole + 1n);
    expect(idsOf(await stream.next(1, 6_000))).toEqual([String(after)]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_500);
  });

  it('accepts a stream token in ?token=, the wfm_sse cookie or as bearer', async () => {
    const viewer = await createOperatorToken('viewer');
    const res = await wfm.call(`${PATH}/token`, { method: 'POST', headers: bearer(viewer.token) });
    expect(res.status).toBe(200);
    const { token, expiresAt } = res.json<{ token: string; expiresAt: string }>();
    expect(Date.parse(expiresAt) - Date.now()).toBeGreaterThan(290_000);
    expect(Date.parse(expiresAt) - Date.now()).toBeLessThanOrEqual(300_000);
    const cookie = String(res.headers['set-cookie']);
    expect(cookie).toContain(`wfm_sse=${token}`);
    for (const attribute of [
      'HttpOnly',
      'Secure',
      'SameSite=None',
      'Path=/operator/v1/events',
      'Max-Age=300',
    ]) {
      expect(cookie).toContain(attribute);
    }
    expect(res.headers['cache-control']).toBe('no-store');

    const byQuery = await openStream(wfm, `${PATH}?token=${encodeURIComponent(token)}`);
    const byCookie = await openStream(wfm, PATH, { cookie: `theme=dark; wfm_sse=${token}` });
    const byBearer = await openStream(wfm, PATH, bearer(token));
    for (const stream of [byQuery, byCookie, byBearer]) expect(stream.status).toBe(200);
    const id = await publish({ type: 'client.enrolled', clientId: 'token-test' });
    for (const stream of [byQuery, byCookie, byBearer]) {
      expect(idsOf(await stream.next(1))).toEqual([String(id)]);
    }
  });

  it('refuses missing, unknown, forged, expired and revoked credentials with 401 problem+json', async () => {
    const viewer = await createOperatorToken('viewer');
    const token = await streamToken(viewer.token);
    const [prefix, payload, signature] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const elevated = Buffer.from(JSON.stringify({ ...claims, role: 'admin' })).toString('base64url');
    const flipped = signature.slice(0, -2) + (signature.endsWith('AA') ? 'BB' : 'AA');
    const expired = await wfm.app
      .get(EventTokenService)
      .issue(
        { kind: 'operator', name: 'bootstrap-admin', role: 'admin', via: 'bootstrap' },
        Date.now() - 301_000,
      );

    const refused: [string, Record<string, string>][] = [
      [PATH, {}],
      [PATH, bearer('wfm_viewer_not-a-token')],
      [PATH, { authorization: 'Basic YWRtaW46YWRtaW4=' }],
      [`${PATH}?token=${prefix}.${payload}.${flipped}`, {}],
      [`${PATH}?token=${prefix}.${elevated}.${signature}`, {}],
      [`${PATH}?token=garbage`, {}],
      [`${PATH}?token=${encodeURIComponent(expired.token)}`, {}],
      [PATH, { cookie: `wfm_sse=${expired.token}` }],
      [PATH, { cookie: `wfm_sse=${prefix}.${payload}.${flipped}` }],
      // a bad bearer does not fall through to a good query token
      [`${PATH}?token=${encodeURIComponent(token)}`, bearer('wfm_viewer_not-a-token')],
    ];
    for (const [path, headers] of refused) {
      const res = await openStream(wfm, path, headers);
      expect(res.status, `${path} ${JSON.stringify(headers)}`).toBe(401);
      expect(res.headers['content-type']).toBe('application/problem+json');
      expect(JSON.parse(res.body)).toMatchObject({ status: 401, title: 'Unauthorized' });
    }
    const expiredRes = await openStream(wfm, `${PATH}?token=${encodeURIComponent(expired.token)}`);
    expect((JSON.parse(expiredRes.body) as { detail: string }).detail).toContain('expired');

    // the token endpoint wants an operator bearer token; a stream token cannot mint more
    for (const headers of [{}, bearer('nope'), bearer(token)]) {
      const res = await wfm.call(`${PATH}/token`, { method: 'POST', headers });
      expect(res.status).toBe(401);
      expect(res.headers['content-type']).toBe('application/problem+json');
    }

    // revoking the operator token revokes the stream tokens obtained with it
    expect((await openStream(wfm, `${PATH}?token=${encodeURIComponent(token)}`)).status).toBe(200);
    const revoke = await wfm.call(`/operator/v1/tokens/${viewer.id}`, { method: 'DELETE', headers: admin() });
    expect(revoke.status).toBe(204);
    const afterRevoke = await openStream(wfm, `${PATH}?token=${encodeURIComponent(token)}`);
    expect(afterRevoke.status).toBe(401);
    expect((await openStream(wfm, PATH, bearer(viewer.token))).status).toBe(401);
  });

  it('ends open streams within a second when their operator token is revoked', async () => {
    const viewer = await createOperatorToken('viewer');
    const other = await createOperatorToken('viewer');
    const viaStreamToken = await openStream(
      wfm,
      `${PATH}?token=${encodeURIComponent(await streamToken(viewer.token))}`,
    );
    const viaBearer = await openStream(wfm, PATH, bearer(viewer.token));
    const unrelated = await openStream(wfm, PATH, bearer(other.token));
    const bootstrap = await openStream(wfm, PATH, admin());
    const all = [viaStreamToken, viaBearer, unrelated, bootstrap];
    expect(all.map((s) => s.status)).toEqual([200, 200, 200, 200]);
    await publish({ data: { phase: 'before' } });
    for (const stream of all) await stream.next(1);

    const revoke = await wfm.call(`/operator/v1/tokens/${viewer.id}`, { method: 'DELETE', headers: admin() });
    expect(revoke.status).toBe(204);
    const revokedAt = Date.now();
    expect(await until(() => Promise.resolve(viaStreamToken.ended && viaBearer.ended), 1_500)).toBe(true);
    expect(Date.now() - revokedAt).toBeLessThan(1_200);

    // nothing more reaches the revoked streams; the others keep theirs
    await publish({ data: { phase: 'after' } });
    await unrelated.next(2);
    await bootstrap.next(2);
    await sleep(200);
    expect([viaStreamToken.messages.length, viaBearer.messages.length]).toEqual([1, 1]);
    expect([unrelated.ended, bootstrap.ended]).toEqual([false, false]);
  });

  it('authenticates before validating, then answers 400 for a bad Last-Event-ID and 422 for a bad filter', async () => {
    expect((await openStream(wfm, `${PATH}?type=bad%20type`)).status).toBe(401);
    const badHeader = await openStream(wfm, PATH, { ...admin(), 'last-event-id': 'abc' });
    expect(badHeader.status).toBe(400);
    expect(badHeader.headers['content-type']).toBe('application/problem+json');
    expect((await openStream(wfm, `${PATH}?type=bad%20type`, admin())).status).toBe(422);
    expect((await openStream(wfm, `${PATH}?lastEventId=-1`, admin())).status).toBe(422);
    expect((await openStream(wfm, `${PATH}?unknown=1`, admin())).status).toBe(422);
  });

  it('counts open streams in wfm_sse_subscribers and releases them on disconnect', async () => {
    const gauge = async () => {
      const text = (await wfm.call('/metrics')).text();
      return Number(/^wfm_sse_subscribers (\d+)$/m.exec(text)?.[1]);
    };
    expect(await until(async () => (await gauge()) === 0, 5_000)).toBe(true);
    const a = await openStream(wfm, PATH, admin());
    const b = await openStream(wfm, PATH, admin());
    expect(await gauge()).toBe(2);
    a.close();
    b.close();
    expect(await until(async () => (await gauge()) === 0, 5_000)).toBe(true);
    expect(wfm.app.get(EventLogService).subscriberCount).toBe(0);
  });

  it('prunes the log to the newest KEEP_EVENTS ids', async () => {
    await withClient(wfm.databaseUrl, (client) =>
      client.query(
        `INSERT INTO operator_event (type, data) SELECT 'bulk', '{}' FROM generate_series(1, ${KEEP_EVENTS + 10})`,
      ),
    );
    expect(await wfm.app.get(EventLogService).prune()).toBeGreaterThanOrEqual(10);
    const { count, min, max } = await withClient(wfm.databaseUrl, async (client) => {
      const { rows } = await client.query<{ count: string; min: string; max: string }>(
        'SELECT count(*) AS count, min(id) AS min, max(id) AS max FROM operator_event',
      );
      return rows[0];
    });
    expect(Number(count)).toBe(KEEP_EVENTS);
    expect(BigInt(max) - BigInt(min)).toBe(BigInt(KEEP_EVENTS - 1));
  });

  it('documents the stream and the OperatorEventDto schema in OpenAPI', async () => {
    const doc = (await wfm.call('/docs/openapi.json')).json<{
      paths: Record<
        string,
        Record<string, { responses: Record<string, { content?: Record<string, unknown> }> }>
      >;
      components: { schemas: Record<string, { properties: Record<string, unknown> }> };
    }>();
    expect(doc.paths[PATH]?.get?.responses['200']?.content).toHaveProperty(['text/event-stream']);
    expect(doc.paths[`${PATH}/token`]?.post?.responses['200']?.content).toHaveProperty(['application/json']);
    expect(Object.keys(doc.components.schemas.OperatorEventDto.properties)).toEqual(
      expect.arrayContaining(['id', 'type', 'at', 'clientId', 'deploymentId', 'data']),
    );
  });
});

describe('operator event stream across instances', () => {
  const redis = hostPort(TEST_REDIS_URL, 6379);
  const proxy = new TcpProxy(redis.host, redis.port);
  let first: TestService;
  let second: TestService;

  beforeAll(async () => {
    await proxy.start();
    first = await startTestService({}, [EventsModule]);
    // The second instance reaches Redis through a proxy the test can cut. API role only: BullMQ
    // workers that are still reconnecting after the cut do not close (the instance would not stop).
    second = await startTestService(
      {
        DATABASE_URL: first.databaseUrl,
        WFM_QUEUE_PREFIX: first.config.queue.prefix,
        WFM_DATA_DIR: first.dataDir,
        REDIS_URL: viaProxy(TEST_REDIS_URL, proxy.port),
        WFM_ROLES: 'api',
      },
      [EventsModule],
    );
  });
  afterAll(async () => {
    await second?.stop();
    await first?.stop();
    await proxy.stop();
  });

  it('delivers events published on either instance to streams on both, in order, each once', async () => {
    // a stream token issued by one instance opens a stream on the other (the key is in Postgres)
    const token = (
      await first.call(`${PATH}/token`, { method: 'POST', headers: bearer(first.adminToken) })
    ).json<{ token: string }>().token;
    const onSecond = await openStream(second, `${PATH}?token=${encodeURIComponent(token)}`);
    const onFirst = await openStream(first, PATH, bearer(first.adminToken));
    expect([onSecond.status, onFirst.status]).toEqual([200, 200]);

    const started = Date.now();
    const one = await publisher(first)({ type: 'manifest.issued', clientId: 'x-1' });
    expect(idsOf(await onSecond.next(1))).toEqual([String(one)]);
    expect(Date.now() - started).toBeLessThan(500); // the Redis notification, not the 2 s safety poll

    const fromFirst = publisher(first);
    const fromSecond = publisher(second);
    const ids = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? fromFirst : fromSecond)({ data: { i } })),
    );
    const expected = [String(one), ...sorted(ids)];
    expect(idsOf(await onSecond.next(21))).toEqual(expected);
    expect(idsOf(await onFirst.next(21))).toEqual(expected);
    await sleep(300);
    expect(onSecond.messages).toHaveLength(21);
    expect(onFirst.messages).toHaveLength(21);
  });

  it('ends a stream on one instance within a second of a revocation on the other', async () => {
    const created = await first.call('/operator/v1/tokens', {
      method: 'POST',
      headers: { ...bearer(first.adminToken), 'content-type': 'application/json' },
      body: JSON.stringify({ name: `cross-revoke-${Date.now()}`, role: 'viewer' }),
    });
    const viewer = created.json<{ id: string; token: string }>();
    const onSecond = await openStream(second, PATH, bearer(viewer.token));
    expect(onSecond.status).toBe(200);
    const revoke = await first.call(`/operator/v1/tokens/${viewer.id}`, {
      method: 'DELETE',
      headers: bearer(first.adminToken),
    });
    expect(revoke.status).toBe(204);
    const revokedAt = Date.now();
    expect(await until(() => Promise.resolve(onSecond.ended), 1_500)).toBe(true);
    expect(Date.now() - revokedAt).toBeLessThan(1_200);
  });

  it('keeps delivering by polling while an instance has lost Redis', async () => {
    const onSecond = await openStream(second, PATH, bearer(second.adminToken));
    await proxy.cut();
    onTestFinished(() => proxy.restore());
    await sleep(200);
    const id = await publisher(first)({ type: 'client.retired', clientId: 'x-2' });
    const started = Date.now();
    expect(idsOf(await onSecond.next(1, 5_000))).toEqual([String(id)]);
    expect(Date.now() - started).toBeLessThan(2_500);

    // publishing without Redis works too; the other instance notices at its next safety poll
    const onFirst = await openStream(first, PATH, bearer(first.adminToken));
    const before = Date.now();
    const quiet = await publisher(second)({ type: 'client.retired', clientId: 'x-3' });
    expect(Date.now() - before).toBeLessThan(1_000);
    expect(idsOf(await onSecond.next(2, 5_000))).toEqual([String(id), String(quiet)]);
    expect(idsOf(await onFirst.next(1, 5_000))).toEqual([String(quiet)]);
    expect(Date.now() - before).toBeLessThan(3_500);
  });
});
