import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkDrift } from '../../src/infra/database/drift.js';
import { migrate, MIGRATIONS_DIR, SCHEMA_PATH, SNAPSHOT_PATH } from '../../src/infra/database/migrator.js';
import { ensureDatabase, withClient, withDatabase } from '../../src/infra/database/postgres-admin.js';
import { readMigrations } from '../../src/infra/database/schema-engine.js';
import { dropDatabase, uniqueDatabaseName } from '../support/database.js';
import { TEST_DATABASE_URL } from '../support/env.js';

const created: string[] = [];
afterAll(async () => {
  for (const name of created) await dropDatabase(name);
});

async function inputs() {
  return {
    adminUrl: TEST_DATABASE_URL,
    schemaText: await readFile(SCHEMA_PATH, 'utf8'),
    snapshotText: await readFile(SNAPSHOT_PATH, 'utf8'),
    migrations: await readMigrations(MIGRATIONS_DIR),
  };
}

describe('Prisma migrations', () => {
  it('schema.prisma and prisma/migrations agree (drift check)', async () => {
    expect(await checkDrift(await inputs())).toEqual([]);
  });

  it('the drift check fails for a schema change without a migration', async () => {
    const base = await inputs();
    const schemaText = base.schemaText.replace(/model WfmMeta \{/, 'model WfmMeta {\n  drifted Int?');
    const problems = await checkDrift({ ...base, schemaText });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('schema.prisma has changes that no migration contains');
    expect(problems[0]).toContain('"drifted"');
  });

  it('the drift check fails when a migration does not produce the snapshot', async () => {
    const base = await inputs();
    const list = structuredClone(base.migrations.list);
    list.migrationDirectories.push({
      path: '99999999999999_sneaky',
      migrationFile: {
        path: 'migration.sql',
        content: { tag: 'ok', value: 'ALTER TABLE "wfm_meta" ADD COLUMN "sneaky" TEXT;' },
      },
    });
    const problems = await checkDrift({ ...base, migrations: { ...base.migrations, list } });
    expect(problems.join('\n')).toContain('unexpected after replay: column wfm_meta.sneaky text');
  });

  it('creates the database and migrates it once when two instances start together', async () => {
    const name = uniqueDatabaseName('wfm_mig');
    created.push(name);
    const url = withDatabase(TEST_DATABASE_URL, name);
    const [a, b] = await Promise.all([ensureDatabase(url), ensureDatabase(url)]);
    expect([a, b].filter(Boolean).length).toBeGreaterThanOrEqual(1);
    const results = await Promise.all([migrate(url), migrate(url)]);
    const names = (await readMigrations(MIGRATIONS_DIR)).names;
    expect(results.flat().sort()).toEqual(names);
    const rows = await withClient(url, (c) =>
      c.query('SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL'),
    );
    expect(rows.rows.map((r: { migration_name: string }) => r.migration_name).sort()).toEqual(names);
    expect(await migrate(url)).toEqual([]);
  });

  it('the direct-deployment selector migration turns JSON null into NULL and drops only stray targets', async () => {
    const name = uniqueDatabaseName('wfm_mig');
    created.push(name);
    const url = withDatabase(TEST_DATABASE_URL, name);
    await ensureDatabase(url);
    await migrate(url);
    const sql = await readFile(
      join(MIGRATIONS_DIR, '20261202190000_direct_deployment_selector_null', 'migration.sql'),
      'utf8',
    );
    const [direct, selector, mine, theirs] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    const left = await withClient(url, async (c) => {
      // the rows as the old code wrote them: a direct deployment with a JSON-null selector
      await c.query(
        `INSERT INTO deployment (id, application_id, package_id, parameters, target_client_id, target_device_id, selector, updated_at)
         VALUES ($1, 'app', $3, '{}', $4, 'd1', 'null'::jsonb, now()),
                ($2, 'app', $3, '{}', NULL, NULL, '{"matchLabels":{}}'::jsonb, now())`,
        [direct, selector, randomUUID(), mine],
      );
      const target = (deployment: string, client: string, device: string, placement: string) =>
        c.query(
          `INSERT INTO deployment_target (id, deployment_id, client_id, client_external_id, device_id, placement, updated_at)
           VALUES ($1, $2, $3, 'x', $4, $5, now())`,
          [randomUUID(), deployment, client, device, placement],
        );
      await target(direct, mine, 'd1', 'placed');
      await target(direct, theirs, 'd2', 'removed'); // the stray one
      await target(selector, theirs, 'd2', 'removed');
      await c.query(sql);
      const selectors = await c.query<{ id: string; selector: unknown }>(
        'SELECT id, selector FROM deployment ORDER BY id',
      );
      const targets = await c.query('SELECT deployment_id, device_id FROM deployment_target');
      return { selectors: selectors.rows, targets: targets.rows };
    });
    expect(left.selectors.find((r) => r.id === direct)?.selector).toBeNull();
    expect(left.selectors.find((r) => r.id === selector)?.selector).toEqual({
      matchLabels: {},
    });
    expect(
      left.targets
        .map((r: { deployment_id: string; device_id: string }) => [r.deployment_id, r.device_id])
        .sort(),
    ).toEqual(
      [
        [direct, 'd1'],
        [selector, 'd2'],
      ].sort(),
    );
  });
});
