import { readFile } from 'node:fs/promises';
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
});
