import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadIssuer, type SvidIssuer } from '../../src/client/identities.js';
import { loadConfig } from '../../src/config/config.js';
import { ensureDevPki } from '../../src/infra/tls/dev-pki.js';
import type { WfmAccess } from '../../src/simulator/fleet.js';
import { createTestDatabase } from './database.js';
import { TEST_REDIS_URL } from './env.js';
import { type ServiceProcess, spawnService } from './process.js';
import { deleteRedisKeys } from './redis.js';

/** A WFM installation made of separate processes: N API instances and one worker. */
export interface WfmCluster {
  apis: ServiceProcess[];
  worker: ServiceProcess;
  /** Operator and CA access through each API instance (same token, CA and issuer; different URL). */
  access: WfmAccess[];
  databaseUrl: string;
  queuePrefix: string;
  dataDir: string;
  /** The last `lines` lines of every process's output, labelled (for failure messages). */
  logs(lines?: number): string;
  stop(): Promise<void>;
}

/**
 * Prepares what the processes share — a database cloned from the migrated template, a Redis key
 * prefix, a data folder with the development PKI and an admin token — then runs `apis` API processes
 * and one worker process of the compiled service (`dist/src/main.js`) on them. Nothing runs
 * in-process: each instance has its own Nest app, pools, queues and Passport registry.
 */
export async function startCluster(
  options: { apis?: number; env?: Record<string, string> } = {},
): Promise<WfmCluster> {
  const db = await createTestDatabase();
  const dataDir = await mkdtemp(join(tmpdir(), 'wfm-cluster-'));
  const queuePrefix = `t_${randomBytes(5).toString('hex')}`;
  const adminToken = randomBytes(24).toString('hex');
  const shared: Record<string, string> = {
    DATABASE_URL: db.url,
    REDIS_URL: TEST_REDIS_URL,
    WFM_QUEUE_PREFIX: queuePrefix,
    WFM_DATA_DIR: dataDir,
    WFM_ADMIN_TOKEN: adminToken,
    WFM_HOST: '127.0.0.1',
    PORT: '0',
    WFM_LOG_LEVEL: 'log', // spawnService waits for the start-up line, logged at this level
    ...options.env,
  };
  const cleanUp = async () => {
    await deleteRedisKeys(TEST_REDIS_URL, `${queuePrefix}:`);
    await db.drop();
    await rm(dataDir, { recursive: true, force: true });
  };

  // The PKI is created before any process starts, so the instances do not race to create it.
  const config = loadConfig(shared);
  let caPem: string;
  let issuer: SvidIssuer;
  try {
    const pki = await ensureDevPki(dataDir, config.identity.trustDomain, config.identity.spiffeId);
    caPem = await readFile(pki.caPath, 'utf8');
    issuer = await loadIssuer(
      caPem,
      await readFile(pki.caKeyPath, 'utf8'),
      config.identity.trustDomain,
      config.identity.wfmId,
    );
  } catch (error) {
    await cleanUp();
    throw error;
  }

  // The database is a clone of the migrated template, so the processes skip the migration check at
  // start-up (it loads the schema engine and queues on the migration lock: seconds on 2 cores).
  const started = await Promise.allSettled([
    spawnService({ WFM_MIGRATE_ON_START: 'false', ...shared, WFM_ROLES: 'worker' }),
    ...Array.from({ length: options.apis ?? 2 }, () =>
      spawnService({ WFM_MIGRATE_ON_START: 'false', ...shared, WFM_ROLES: 'api' }),
    ),
  ]);
  const running = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.flatMap((s) => (s.status === 'rejected' ? [s.reason as unknown] : []));
  if (failed.length > 0) {
    await Promise.all(running.map((p) => p.stop()));
    await cleanUp();
    throw failed[0] instanceof Error ? failed[0] : new Error(String(failed[0]));
  }
  const [worker, ...apis] = running;
  const names = ['worker', ...apis.map((_, i) => `api-${String.fromCharCode(65 + i)}`)];
  return {
    apis,
    worker,
    access: apis.map((api) => ({
      url: api.url!,
      ca: caPem,
      adminToken,
      issuer,
      wfmSpiffeId: config.identity.spiffeId,
    })),
    databaseUrl: db.url,
    queuePrefix,
    dataDir,
    logs: (lines = 40) =>
      running
        .map(
          (p, i) =>
            `--- ${names[i]} (last ${lines} lines) ---\n${p.output().split('\n').slice(-lines).join('\n')}`,
        )
        .join('\n'),
    stop: async () => {
      await Promise.all(running.map((p) => p.stop()));
      await cleanUp();
    },
  };
}
