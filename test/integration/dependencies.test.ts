import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.js';
import { TEST_DATABASE_URL, TEST_REDIS_URL } from '../support/env.js';
import { type TestService, startTestService } from '../support/service.js';
import { runToExit } from '../support/process.js';
import { hostPort, TcpProxy, viaProxy } from '../support/tcp-proxy.js';

/** Runs the compiled service (`npm start` without the build step) and collects what it prints. */
const runService = (env: Record<string, string>, timeoutMs = 20_000) =>
  runToExit(['dist/src/main.js'], { WFM_DATA_DIR: '/tmp/wfm-cli-test', PORT: '0', ...env }, timeoutMs);

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

async function eventually(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

describe('start-up failures', () => {
  it('stops on bad configuration with a message naming each bad key', async () => {
    const result = await runService({ PORT: 'abc', DATABASE_URL: 'nonsense' });
    expect(result.code).toBe(1);
    expect(result.output).toContain('PORT="abc"');
    expect(result.output).toContain('DATABASE_URL="nonsense"');
    expect(result.output).not.toMatch(/\n\s+at /);
  });

  it('fails within 15 s with one readable line when PostgreSQL is unreachable', async () => {
    const port = await closedPort();
    const result = await runService({
      DATABASE_URL: `postgresql://postgres@127.0.0.1:${port}/wfm`,
      REDIS_URL: TEST_REDIS_URL,
    });
    expect(result.code).toBe(1);
    expect(result.ms).toBeLessThan(15_000);
    expect(result.output).toContain(`Cannot reach PostgreSQL at postgresql://postgres@127.0.0.1:${port}/wfm`);
    expect(result.output).not.toMatch(/\n\s+at /);
  });

  it('fails within 15 s with one readable line when Redis is unreachable', async () => {
    const port = await closedPort();
    const result = await runService({
      DATABASE_URL: TEST_DATABASE_URL,
      REDIS_URL: `redis://127.0.0.1:${port}`,
    });
    expect(result.code).toBe(1);
    expect(result.ms).toBeLessThan(15_000);
    expect(result.output).toContain(`Cannot reach Redis at redis://127.0.0.1:${port}`);
    expect(result.output).not.toMatch(/\n\s+at /);
  });
});

describe('readiness while a dependency is down', () => {
  const pg = hostPort(TEST_DATABASE_URL, 5432);
  const redis = hostPort(TEST_REDIS_URL, 6379);
  const pgProxy = new TcpProxy(pg.host, pg.port);
  const redisProxy = new TcpProxy(redis.host, redis.port);
  let wfm: TestService;
  let dropDb: () => Promise<void>;

  beforeAll(async () => {
    await pgProxy.start();
    await redisProxy.start();
    const db = await createTestDatabase();
    dropDb = () => db.drop();
    wfm = await startTestService({
      DATABASE_URL: viaProxy(db.url, pgProxy.port),
      REDIS_URL: viaProxy(TEST_REDIS_URL, redisProxy.port),
    });
  });
  afterAll(async () => {
    await wfm?.stop();
    await pgProxy.stop();
    await redisProxy.stop();
    await dropDb?.();
  });

  const ready = async () => (await wfm.call('/health/ready')).status === 200;

  it('answers 503 problem+json naming Redis while it is cut, and 200 once it is back', async () => {
    expect(await ready()).toBe(true);
    await redisProxy.cut();
    const down = await wfm.call('/health/ready');
    expect(down.status).toBe(503);
    expect(down.headers['content-type']).toBe('application/problem+json');
    expect(down.headers['retry-after']).toBe('5');
    expect(down.json()).toMatchObject({
      status: 503,
      detail: 'Not ready: redis unavailable',
      retryable: true,
      backoffStrategy: 'exponential',
      error: { redis: { status: 'down' } },
    });
    expect((await wfm.call('/health/live')).status).toBe(200);
    await redisProxy.restore();
    expect(await eventually(ready, 15_000)).toBe(true);
  });

  it('answers 503 problem+json naming PostgreSQL while it is cut, and 200 once it is back', async () => {
    expect(await ready()).toBe(true);
    await pgProxy.cut();
    const down = await wfm.call('/health/ready');
    expect(down.status).toBe(503);
    expect(down.json()).toMatchObject({
      detail: 'Not ready: postgres unavailable',
      error: { postgres: { status: 'down' } },
    });
    await pgProxy.restore();
    expect(await eventually(ready, 15_000)).toBe(true);
  });
});
