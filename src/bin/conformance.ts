// `npm run conformance -- [--url <wfm-url>] [--ca <file>] [--ca-key <file>] [--trust-domain <td>]
//   [--wfm-id <id>] [--admin-token <token>] [--required <ids>] [scenario files…]`
// Runs the public Margo conformance scenarios against a WFM, as a device would. Without --url it starts
// this service in-process (throw-away database and data folder, onboarding mode "auto"), runs against
// it and stops it again. Exit code 1 when any step fails.
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type RunningService, startService } from '../bootstrap.js';
import { ConfigError, loadConfig } from '../config/config.js';
import {
  type ConformanceOptions,
  type ConformanceReport,
  DEFAULT_SCENARIO_FILES,
  runConformance,
} from '../conformance/index.js';
import {
  databaseName,
  DependencyUnavailableError,
  quoteIdent,
  withClient,
  withDatabase,
} from '../infra/database/postgres-admin.js';
import { createRedis } from '../infra/redis/redis.js';
import { devPkiPaths } from '../infra/tls/dev-pki.js';

const USAGE = `usage: npm run conformance -- [options] [scenario files…]
  --url <url>            the WFM to test (default: start this service in-process and test it)
  --ca <file>            PEM trust anchors for the WFM's certificate (default: not verified)
  --ca-key <file>        key of the --ca certificate: issue rc.3 client SVIDs from it for mtls steps
  --trust-domain <td>    SPIFFE trust domain of the SVIDs (default wfm.local)
  --wfm-id <id>          WFM id in the SVIDs' SPIFFE IDs (default wfm-1)
  --admin-token <token>  operator token to accept the rc.3 clients (default: $WFM_ADMIN_TOKEN)
  --required <ids>       comma list of step ids that must not be NOT-YET (default: the built-in list)
Scenario files default to the five upstream files in reference/margo/ctt/upstream/ (64 steps) and
reference/margo/ctt/{wfm-core,diamond-subset}.json of this repository.`;

/** The repository root: the nearest folder above this file (source or compiled) with a package.json. */
function repositoryRoot(): string {
  let dir = import.meta.dirname;
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

const DEFAULT_SCENARIOS = DEFAULT_SCENARIO_FILES.map((file) =>
  join(repositoryRoot(), 'reference/margo/ctt', file),
);

type Target = Omit<ConformanceOptions, 'scenarioFiles' | 'required' | 'log'>;

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        url: { type: 'string' },
        ca: { type: 'string' },
        'ca-key': { type: 'string' },
        'trust-domain': { type: 'string' },
        'wfm-id': { type: 'string' },
        'admin-token': { type: 'string' },
        required: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values['ca-key'] !== undefined && values.ca === undefined) {
    console.error(`--ca-key needs --ca (the certificate of that key)\n${USAGE}`);
    return 2;
  }
  const scenarioFiles = positionals.length > 0 ? positionals.map((file) => resolve(file)) : DEFAULT_SCENARIOS;
  const missing = scenarioFiles.filter((file) => !existsSync(file));
  if (missing.length > 0) {
    console.error(`no such scenario file: ${missing.join(', ')}`);
    return 2;
  }
  const required = values.required
    ?.split(',')
    .map((id) => id.trim())
    .filter((id) => id !== '');
  const run = async (target: Target): Promise<ConformanceReport> => {
    console.log(`Margo conformance: ${scenarioFiles.length} scenario file(s) against ${target.baseUrl}`);
    return runConformance({ ...target, scenarioFiles, required, log: (line) => console.log(line) });
  };

  if (values.url !== undefined) {
    const ca = values.ca === undefined ? undefined : await readFile(values.ca, 'utf8');
    const caKey = values['ca-key'] === undefined ? undefined : await readFile(values['ca-key'], 'utf8');
    const report = await run({
      baseUrl: values.url,
      ca,
      adminToken: values['admin-token'] ?? process.env.WFM_ADMIN_TOKEN,
      svidIssuer:
        ca !== undefined && caKey !== undefined
          ? {
              caCertPem: ca,
              caKeyPem: caKey,
              trustDomain: values['trust-domain'] ?? 'wfm.local',
              wfmId: values['wfm-id'] ?? 'wfm-1',
            }
          : undefined,
    });
    return report.failed > 0 ? 1 : 0;
  }
  return runInProcess(run);
}

/** Starts this service on a throw-away database and data folder, runs against it, and cleans up. */
async function runInProcess(run: (target: Target) => Promise<ConformanceReport>): Promise<number> {
  const suffix = randomBytes(6).toString('hex');
  const databaseUrl = withDatabase(
    process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/wfm',
    `wfm_conf_${suffix}`,
  );
  const dataDir = await mkdtemp(join(tmpdir(), 'wfm-conformance-'));
  const queuePrefix = `conf_${suffix}`;
  let redisUrl: string | undefined;
  let service: RunningService | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanUp = () =>
    (cleaning ??= (async () => {
      await service
        ?.close()
        .catch((error: unknown) => console.error(`stopping the service: ${String(error)}`));
      await dropDatabase(databaseUrl);
      if (redisUrl !== undefined) await deleteKeys(redisUrl, `${queuePrefix}:*`);
      await rm(dataDir, { recursive: true, force: true });
    })());
  process.once('SIGINT', () => {
    void cleanUp().finally(() => process.exit(130));
  });

  try {
    const config = loadConfig({
      WFM_LOG_LEVEL: 'warn',
      ...process.env,
      PORT: '0',
      WFM_HOST: '127.0.0.1',
      DATABASE_URL: databaseUrl,
      WFM_DATA_DIR: dataDir,
      WFM_ONBOARDING_MODE: 'auto',
      WFM_QUEUE_PREFIX: queuePrefix,
    });
    redisUrl = config.redis.url;
    service = await startService(config);
    if (service.url === undefined) throw new Error('the service started without the api role (WFM_ROLES)');
    const pki = devPkiPaths(dataDir);
    const devCa = service.tls?.devCaPath !== undefined;
    const report = await run({
      baseUrl: service.url,
      ca: devCa ? await readFile(pki.caPath, 'utf8') : service.tls?.trustBundlePem,
      adminToken: service.adminToken,
      svidIssuer: devCa
        ? {
            caCertPem: await readFile(pki.caPath, 'utf8'),
            caKeyPem: await readFile(pki.caKeyPath, 'utf8'),
            trustDomain: config.identity.trustDomain,
            wfmId: config.identity.wfmId,
          }
        : undefined,
    });
    return report.failed > 0 ? 1 : 0;
  } finally {
    await cleanUp();
  }
}

async function dropDatabase(url: string): Promise<void> {
  const name = databaseName(url);
  await withClient(withDatabase(url, 'postgres'), (client) =>
    client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`),
  ).catch((error: unknown) => console.error(`could not drop the database ${name}: ${String(error)}`));
}

/** Removes the throw-away queue prefix's keys (BullMQ leaves its queues behind). */
async function deleteKeys(url: string, pattern: string): Promise<void> {
  const redis = createRedis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } catch (error) {
    console.error(`could not delete the Redis keys ${pattern}: ${String(error)}`);
  } finally {
    redis.disconnect();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ConfigError || error instanceof DependencyUnavailableError) {
      console.error(`conformance: the service cannot start. ${error.message}`);
    } else {
      console.error('conformance:', error);
    }
    process.exit(1);
  },
);
