import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { withClient } from './postgres-admin.js';
import { readMigrations, SchemaEngine } from './schema-engine.js';

export const SCHEMA_PATH = resolve('prisma/schema.prisma');
export const MIGRATIONS_DIR = resolve('prisma/migrations');
/** The data model the migrations produce; `npm run db:migration` diffs against it. */
export const SNAPSHOT_PATH = resolve('prisma/migrations/schema-snapshot.prisma');

/** Arbitrary but fixed key: every instance migrating the same database serialises on it. */
const MIGRATION_LOCK_KEY = 4_242_001;

/**
 * Applies pending migrations while holding a Postgres advisory lock, so that two instances
 * starting together do not race; the second one waits and then finds nothing to do.
 */
export async function migrate(
  databaseUrl: string,
  log: (msg: string) => void = () => undefined,
): Promise<string[]> {
  const folder = await readMigrations(MIGRATIONS_DIR);
  return withClient(
    databaseUrl,
    async (lockClient) => {
      await lockClient.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
      try {
        const engine = await SchemaEngine.open(databaseUrl, SCHEMA_PATH, await readFile(SCHEMA_PATH, 'utf8'));
        try {
          const applied = await engine.applyMigrations(folder);
          if (applied.length > 0) log(`applied migrations: ${applied.join(', ')}`);
          return applied;
        } finally {
          await engine.close();
        }
      } finally {
        await lockClient.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
      }
    },
    10_000,
  );
}
