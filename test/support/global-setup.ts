import { migrate } from '../../src/infra/database/migrator.js';
import { quoteIdent, withClient, withDatabase } from '../../src/infra/database/postgres-admin.js';
import { TEMPLATE_DB, TEST_DATABASE_URL } from './env.js';

/** Migrates a template database once per run; every test file clones it (CREATE DATABASE … TEMPLATE). */
export default async function setup(): Promise<() => Promise<void>> {
  const admin = withDatabase(TEST_DATABASE_URL, 'postgres');
  await withClient(admin, async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(TEMPLATE_DB)} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${quoteIdent(TEMPLATE_DB)}`);
  });
  await migrate(withDatabase(TEST_DATABASE_URL, TEMPLATE_DB));
  return async () => {
    await withClient(admin, (c) =>
      c.query(`DROP DATABASE IF EXISTS ${quoteIdent(TEMPLATE_DB)} WITH (FORCE)`),
    );
  };
}
