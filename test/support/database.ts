import { randomBytes } from 'node:crypto';
import { quoteIdent, withClient, withDatabase } from '../../src/infra/database/postgres-admin.js';
import { TEMPLATE_DB, TEST_DATABASE_URL } from './env.js';

const admin = () => withDatabase(TEST_DATABASE_URL, 'postgres');

/** A fresh, migrated database for one test file (a clone of the template). */
export async function createTestDatabase(): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const name = `wfm_t_${randomBytes(6).toString('hex')}`;
  await withClient(admin(), (c) =>
    c.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(TEMPLATE_DB)}`),
  );
  return {
    name,
    url: withDatabase(TEST_DATABASE_URL, name),
    drop: () => dropDatabase(name),
  };
}

export async function dropDatabase(name: string): Promise<void> {
  await withClient(admin(), (c) => c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`));
}

export function uniqueDatabaseName(prefix = 'wfm_t'): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}
