import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueClientSvid, loadIssuer } from '../../src/client/identities.js';
import { Rc3Client } from '../../src/client/margo-client.js';
import type { RawResponse } from '../../src/client/transport.js';
import { request } from '../../src/client/transport.js';
import { loadConfig } from '../../src/config/config.js';
import { withClient } from '../../src/infra/database/postgres-admin.js';
import { ensureDevPki } from '../../src/infra/tls/dev-pki.js';
import { createTestDatabase } from '../support/database.js';
import { TEST_REDIS_URL } from '../support/env.js';
import { rc3Client } from '../support/identities.js';
import { type ServiceProcess, spawnService } from '../support/process.js';
import { deleteRedisKeys } from '../support/redis.js';
import { type TestService, startTestService } from '../support/service.js';
import { hostPort, TcpProxy, viaProxy } from '../support/tcp-proxy.js';

/**
 * Group commit of status reports (issue 15): back-pressure, ordering inside one batch, durability of
 * every 2xx under concurrency and with Postgres cut mid-run, idempotent resends after a crash
 * between commit and answer, and the queue written out on shutdown. Orphan reports (a deploymentId
 * the WFM never issued; D12: accepted with 200) need no setup and follow the same write path.
 */

const orphan = (deploymentId: string, version: number, state = 'installed') => ({
  deploymentId,
  adoptedManifestVersion: version,
  status: { state },
  components: [],
});

const PROBLEM = 'application/problem+json';

async function sql<T>(databaseUrl: string, text: string, values: unknown[] = []): Promise<T[]> {
  const result = await withClient(databaseUrl, (c) => c.query(text, values));
  return result.rows as T[];
}

/** History rows of one orphan target (oldest first). */
const historyOf = (databaseUrl: string, deploymentId: string) =>
  sql<{ state: string; adopted: string; applied: boolean; idempotency_key: string | null }>(
    databaseUrl,
    `SELECT state, adopted_manifest_version::text AS adopted, applied, idempotency_key
       FROM deployment_status_report WHERE deployment_id = $1 ORDER BY id`,
    [deploymentId],
  );

/** `wfm_status_batch_size` count and sum from the metrics page. */
async function batchMetrics(wfm: TestService): Promise<{ batches: number; reports: number }> {
  const text = (await wfm.call('/metrics')).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 'NaN');
  return { batches: value('wfm_status_batch_size_count'), reports: value('wfm_status_batch_size_sum') };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('status group commit: back-pressure', () => {
  let wfm: TestService;
  let device: Rc3Client;
  beforeAll(async () => {
    wfm = await startTestService({
      WFM_ONBOARDING_MODE: 'auto',
      WFM_RATE_LIMIT_PER_MINUTE: '0',
      WFM_STATUS_QUEUE_MAX: '3',
      WFM_STATUS_BATCH_MAX: '100',
      WFM_STATUS_BATCH_MS: '700', // the first report's batch waits, so the queue fills
    });
    device = await rc3Client(wfm, 'pressure');
  });
  afterAll(async () => {
    device?.close();
    await wfm?.stop();
  });

  it('answers 503 problem+json with Retry-After once WFM_STATUS_QUEUE_MAX reports wait, stores exactly the accepted ones, and accepts again after the write', async () => {
    const ids = Array.from({ length: 8 }, () => `bp-${randomUUID()}`);
    const answers = await Promise.all(ids.map((id) => device.postStatus(id, orphan(id, 1))));
    const accepted = ids.filter((_, i) => answers[i].status === 200);
    const refused = answers.filter((a) => a.status === 503);
    expect(accepted).toHaveLength(3);
    expect(refused).toHaveLength(5);
    for (const r of refused) {
      expect(r.headers['content-type']).toContain(PROBLEM);
      expect(r.headers['retry-after']).toBe('1');
      expect(r.json()).toMatchObject({
        status: 503,
        retryable: true,
        detail: expect.stringContaining('WFM_STATUS_QUEUE_MAX'),
      });
    }
    const stored = await sql<{ deployment_id: string }>(
      wfm.databaseUrl,
      `SELECT deployment_id FROM deployment_status_report WHERE deployment_id = ANY($1::text[])`,
      [ids],
    );
    expect(stored.map((s) => s.deployment_id).sort()).toEqual([...accepted].sort());
    // refused reports can be sent again once the queue has room
    const again = ids.find((id) => !accepted.includes(id))!;
    expect((await device.postStatus(again, orphan(again, 1))).status).toBe(200);
    expect(await historyOf(wfm.databaseUrl, again)).toHaveLength(1);
    const metrics = (await wfm.call('/metrics')).text();
    expect(metrics).toMatch(/^wfm_status_queue_rejected_total 5$/m);
  });
});

describe('status group commit: ordering, durability, idempotency, shutdown', () => {
  let wfm: TestService;
  let device: Rc3Client;
  beforeAll(async () => {
    wfm = await startTestService({
      WFM_ONBOARDING_MODE: 'auto',
      WFM_RATE_LIMIT_PER_MINUTE: '0',
      WFM_STATUS_BATCH_MS: '300', // long enough that reports sent 20 ms apart share a batch
    });
    device = await rc3Client(wfm, 'batcher');
  });
  afterAll(async () => {
    device?.close();
    await wfm?.stop();
  });

  it('applies adoptedManifestVersion ordering inside one batch: an older version arriving later goes to history only', async () => {
    const id = `order-${randomUUID()}`;
    const before = await batchMetrics(wfm);
    // sent in this order, 20 ms apart, all within one 300-ms batch window
    const reports = [
      orphan(id, 2, 'installing'),
      orphan(id, 3, 'installed'),
      orphan(id, 2, 'failed'), // older than the stored 3: not applied
      orphan(id, 3, 'removing'), // equal version: last received wins
      orphan(id, 1, 'pending'), // older again
    ];
    const pending: Promise<RawResponse>[] = [];
    for (const r of reports) {
      pending.push(device.postStatus(id, r));
      await sleep(20);
    }
    expect((await Promise.all(pending)).map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    const after = await batchMetrics(wfm);
    expect(after.batches - before.batches).toBe(1);
    expect(after.reports - before.reports).toBe(5);
    expect(await historyOf(wfm.databaseUrl, id)).toEqual([
      { state: 'installing', adopted: '2', applied: true, idempotency_key: null },
      { state: 'installed', adopted: '3', applied: true, idempotency_key: null },
      { state: 'failed', adopted: '2', applied: false, idempotency_key: null },
      { state: 'removing', adopted: '3', applied: true, idempotency_key: null },
      { state: 'pending', adopted: '1', applied: false, idempotency_key: null },
    ]);
    const [current] = await sql<{ state: string; adopted: string; reports: number }>(
      wfm.databaseUrl,
      `SELECT state, adopted_manifest_version::text AS adopted, reports FROM deployment_status WHERE deployment_id = $1`,
      [id],
    );
    expect(current).toEqual({ state: 'removing', adopted: '3', reports: 5 });
    // the events: one per applied report, in order
    const events = await sql<{ state: string }>(
      wfm.databaseUrl,
      `SELECT data->>'state' AS state FROM operator_event
        WHERE type = 'status.changed' AND data->>'applicationDeploymentId' = $1 ORDER BY id`,
      [id],
    );
    expect(events.map((e) => e.state)).toEqual(['installing', 'installed', 'removing']);
  });

  it('stores every report answered 2xx among 300 concurrent ones, in batches', async () => {
    const ids = Array.from({ length: 30 }, (_, i) => `many-${i}-${randomUUID()}`);
    const before = await batchMetrics(wfm);
    const answers = await Promise.all(
      Array.from({ length: 300 }, (_, n) =>
        device
          .postStatus(
            ids[n % 30],
            orphan(ids[n % 30], 1 + Math.floor(n / 30), n % 2 ? 'installed' : 'installing'),
          )
          .then(
            (res) => ({ id: ids[n % 30], status: res.status }),
            () => ({ id: ids[n % 30], status: 0 }),
          ),
      ),
    );
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    const rows = await sql<{ deployment_id: string; n: number }>(
      wfm.databaseUrl,
      `SELECT deployment_id, count(*)::int AS n FROM deployment_status_report
        WHERE deployment_id = ANY($1::text[]) GROUP BY deployment_id`,
      [ids],
    );
    const stored = new Map(rows.map((r) => [r.deployment_id, r.n]));
    for (const id of ids) expect(stored.get(id), id).toBe(10);
    // each target ends at its highest version (10), whatever the order inside the batches
    const current = await sql<{ adopted: string }>(
      wfm.databaseUrl,
      `SELECT adopted_manifest_version::text AS adopted FROM deployment_status WHERE deployment_id = ANY($1::text[])`,
      [ids],
    );
    expect(current).toHaveLength(30);
    expect(new Set(current.map((c) => c.adopted))).toEqual(new Set(['10']));
    const after = await batchMetrics(wfm);
    expect(after.reports - before.reports).toBe(300);
    // grouped: fewer transactions than reports (how many depends on how fast they arrive)
    expect(after.batches - before.batches).toBeLessThan(300);
  });

  it('stores a report once per Idempotency-Key: a resend, alone or in the same batch, is answered 200 and writes nothing', async () => {
    const id = `idem-${randomUUID()}`;
    const key = randomUUID();
    const post = (state: string, k: string | undefined) =>
      device.call('POST', `/api/v1/deployments/${id}/status`, {
        body: orphan(id, 4, state),
        headers: { 'content-type': 'application/json', ...(k ? { 'idempotency-key': k } : {}) },
      });
    // the original and a resend racing it into the same batch
    const [a, b] = await Promise.all([post('installed', key), post('installed', key)]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(await historyOf(wfm.databaseUrl, id)).toEqual([
      { state: 'installed', adopted: '4', applied: true, idempotency_key: key },
    ]);
    // a later resend (quoted, as a structured-field string) changes nothing either
    expect((await post('installed', `"${key}"`)).status).toBe(200);
    expect(await historyOf(wfm.databaseUrl, id)).toHaveLength(1);
    // another key is another report
    expect((await post('removing', randomUUID())).status).toBe(200);
    expect((await historyOf(wfm.databaseUrl, id)).map((h) => h.state)).toEqual(['installed', 'removing']);
    const [current] = await sql<{ reports: number; state: string }>(
      wfm.databaseUrl,
      `SELECT reports, state FROM deployment_status WHERE deployment_id = $1`,
      [id],
    );
    expect(current).toEqual({ reports: 2, state: 'removing' });
    const bad = await post('installed', 'has space');
    expect(bad.status).toBe(400);
    expect(bad.json()).toMatchObject({ status: 400, detail: expect.stringContaining('Idempotency-Key') });
  });
});

describe('status group commit: shutdown', () => {
  it('writes the queued reports before the service stops', async () => {
    const db = await createTestDatabase();
    try {
      const wfm = await startTestService({
        DATABASE_URL: db.url,
        WFM_ONBOARDING_MODE: 'auto',
        WFM_RATE_LIMIT_PER_MINUTE: '0',
        WFM_STATUS_BATCH_MS: '1000',
      });
      const device = await rc3Client(wfm, 'shutdown');
      const ids = Array.from({ length: 5 }, () => `stop-${randomUUID()}`);
      const answers = ids.map((id) => device.postStatus(id, orphan(id, 1)).catch(() => undefined));
      // wait until all five wait in the batcher (its first report waits 1 s for the batch)
      const deadline = Date.now() + 900;
      let queued = 0;
      while (queued < 5 && Date.now() < deadline) {
        const text = (await wfm.call('/metrics')).text();
        queued = Number(/^wfm_status_queued (\d+)$/m.exec(text)?.[1] ?? 0);
      }
      expect(queued).toBe(5);
      const stored = () =>
        sql<{ n: number }>(
          db.url,
          `SELECT count(*)::int AS n FROM deployment_status_report WHERE deployment_id = ANY($1::text[])`,
          [ids],
        );
      expect((await stored())[0].n).toBe(0);
      await wfm.stop(); // does not drop a database it was given
      await Promise.all(answers);
      device.close();
      expect((await stored())[0].n).toBe(5);
    } finally {
      await db.drop();
    }
  });
});

describe('status group commit: Postgres cut mid-run', () => {
  let wfm: TestService;
  let device: Rc3Client;
  let proxy: TcpProxy;
  let directUrl: string;
  beforeAll(async () => {
    const db = await createTestDatabase();
    directUrl = db.url;
    const { host, port } = hostPort(db.url, 5432);
    proxy = await new TcpProxy(host, port).start();
    wfm = await startTestService({
      DATABASE_URL: viaProxy(db.url, proxy.port),
      WFM_ONBOARDING_MODE: 'auto',
      WFM_RATE_LIMIT_PER_MINUTE: '0',
      WFM_STATUS_BATCH_MS: '5',
    });
    const stop = wfm.stop.bind(wfm);
    wfm.stop = async () => {
      await stop();
      await proxy.stop();
      await db.drop();
    };
    device = await rc3Client(wfm, 'cut');
  });
  afterAll(async () => {
    device?.close();
    await wfm?.stop();
  });

  it('answers 5xx problems (503 with Retry-After) for the reports it could not store, and every 2xx one is stored', async () => {
    const results: { id: string; status: number; problem?: { status?: number }; retryAfter?: string }[] = [];
    let stopAt = Date.now() + 4_000;
    let n = 0;
    const worker = async () => {
      while (Date.now() < stopAt) {
        const id = `cut-${n++}-${randomBytes(4).toString('hex')}`;
        try {
          const res = await device.call('POST', `/api/v1/deployments/${id}/status`, {
            body: orphan(id, 1),
            headers: { 'content-type': 'application/json' },
          });
          results.push({
            id,
            status: res.status,
            ...(res.status >= 400
              ? { problem: res.json<{ status?: number }>(), retryAfter: res.headers['retry-after'] }
              : {}),
          });
        } catch {
          results.push({ id, status: 0 });
        }
      }
    };
    const load = Promise.all(Array.from({ length: 20 }, () => worker()));
    await sleep(1_000);
    await proxy.cut();
    await sleep(1_500);
    await proxy.restore();
    // after the database is back, the service stores reports again
    stopAt = Date.now() + 2_500;
    await load;

    const ok = results.filter((r) => r.status === 200 || r.status === 201);
    const failed = results.filter((r) => r.status >= 500);
    expect(ok.length).toBeGreaterThan(0);
    expect(failed.length).toBeGreaterThan(0);
    // no other answers: nothing 4xx, no connection dropped without an answer
    expect(results.filter((r) => r.status !== 200 && r.status < 500)).toEqual([]);
    for (const f of failed) {
      expect(f.problem?.status).toBe(f.status);
      if (f.status === 503) expect(f.retryAfter).toMatch(/^\d+$/);
    }
    const stored = await sql<{ deployment_id: string }>(
      directUrl,
      `SELECT deployment_id FROM deployment_status_report WHERE deployment_id = ANY($1::text[])`,
      [ok.map((r) => r.id)],
    );
    const storedIds = new Set(stored.map((s) => s.deployment_id));
    expect(ok.filter((r) => !storedIds.has(r.id))).toEqual([]); // zero lost
    // the last reports (after the restore) were stored again
    expect(results.slice(-20).some((r) => r.status === 200)).toBe(true);
  }, 30_000);
});

describe('status group commit: crash between commit and answer', () => {
  const adminToken = randomBytes(24).toString('hex');
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let dataDir: string;
  let env: Record<string, string>;
  let caPem: string;
  let svid: { certChainPem: string; keyPem: string };
  let spiffeId: string;
  const running: ServiceProcess[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = await mkdtemp(join(tmpdir(), 'wfm-crash-'));
    env = {
      DATABASE_URL: db.url,
      REDIS_URL: TEST_REDIS_URL,
      WFM_QUEUE_PREFIX: `t_${randomBytes(5).toString('hex')}`,
      WFM_DATA_DIR: dataDir,
      WFM_ADMIN_TOKEN: adminToken,
      WFM_HOST: '127.0.0.1',
      PORT: '0',
      WFM_MIGRATE_ON_START: 'false', // a clone of the migrated template
      WFM_ONBOARDING_MODE: 'auto',
      WFM_RATE_LIMIT_PER_MINUTE: '0',
      WFM_AUTH_FAILURES_PER_MINUTE: '0',
      WFM_STATUS_BATCH_MS: '1000', // the answer cannot come before the test stops passing it on
    };
    const config = loadConfig(env);
    const pki = await ensureDevPki(dataDir, config.identity.trustDomain, config.identity.spiffeId);
    caPem = await readFile(pki.caPath, 'utf8');
    const issuer = await loadIssuer(
      caPem,
      await readFile(pki.caKeyPath, 'utf8'),
      config.identity.trustDomain,
      config.identity.wfmId,
    );
    svid = await issueClientSvid(issuer, 'crashy');
    spiffeId = config.identity.spiffeId;
  });
  afterAll(async () => {
    for (const p of running) if (p.child.exitCode === null && p.child.signalCode === null) await p.stop();
    await deleteRedisKeys(TEST_REDIS_URL, `${env.WFM_QUEUE_PREFIX}:`);
    await db?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const clientFor = (baseUrl: string) =>
    new Rc3Client({ baseUrl, ca: caPem, ...svid, wfmSpiffeId: spiffeId, keepAlive: false });

  it('a resend with the same Idempotency-Key after the service died between commit and answer stores nothing twice', async () => {
    const first = await spawnService(env);
    running.push(first);
    const accept = await request(new URL('/operator/v1/clients/crashy', first.url), {
      method: 'PUT',
      ca: caPem,
      headers: { authorization: `Bearer ${adminToken}` },
    });
    expect([200, 201]).toContain(accept.status);

    // a TCP forwarder between agent and service that stops passing the service's bytes back once
    // the report waits in the batcher (the TLS handshake has passed by then): the answer is lost
    let swallow = false;
    const sockets = new Set<net.Socket>();
    const { port: servicePort } = hostPort(first.url!, 443);
    const blackhole = net.createServer((client) => {
      const upstream = net.connect(servicePort, '127.0.0.1');
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream);
      upstream.on('data', (chunk: Buffer) => {
        if (!swallow) client.write(chunk);
      });
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((r) => blackhole.listen(0, '127.0.0.1', () => r()));
    const proxyPort = (blackhole.address() as net.AddressInfo).port;

    const id = `crash-${randomUUID()}`;
    const key = randomUUID();
    const send = (client: Rc3Client) =>
      client.call('POST', `/api/v1/deployments/${id}/status`, {
        body: orphan(id, 7, 'installed'),
        headers: { 'content-type': 'application/json', 'idempotency-key': key },
      });
    const viaBlackhole = clientFor(`https://127.0.0.1:${proxyPort}`);
    const lost = send(viaBlackhole).then(
      (res) => `answered ${res.status}`,
      (error: Error) => `no answer: ${error.message}`,
    );
    const queued = async () => {
      const text = (await request(new URL('/metrics', first.url), { ca: caPem })).text();
      return Number(/^wfm_status_queued (\d+)$/m.exec(text)?.[1] ?? 0);
    };
    let deadline = Date.now() + 10_000;
    while ((await queued()) === 0 && Date.now() < deadline) await sleep(10);
    swallow = true;
    // the report commits (after its batch's 1-s wait) …
    deadline = Date.now() + 10_000;
    while ((await historyOf(db.url, id)).length === 0 && Date.now() < deadline) await sleep(20);
    expect(await historyOf(db.url, id)).toHaveLength(1);
    // … and the service dies before the agent reads an answer
    await new Promise<void>((resolve) => {
      first.child.once('exit', () => resolve());
      first.child.kill('SIGKILL');
    });
    expect(await lost).toMatch(/^no answer/);
    viaBlackhole.close();
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => blackhole.close(() => r()));

    // the agent sends the report again to the restarted service
    const second = await spawnService(env);
    running.push(second);
    const agent = clientFor(second.url!);
    const resent = await send(agent);
    expect(resent.status).toBe(200);
    agent.close();
    await second.stop();
    expect(await historyOf(db.url, id)).toEqual([
      { state: 'installed', adopted: '7', applied: true, idempotency_key: key },
    ]);
    const current = await sql<{ state: string; adopted: string; reports: number }>(
      db.url,
      `SELECT state, adopted_manifest_version::text AS adopted, reports FROM deployment_status WHERE deployment_id = $1`,
      [id],
    );
    expect(current).toEqual([{ state: 'installed', adopted: '7', reports: 1 }]);
  }, 90_000);
});
