import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { quoteIdent, withClient, withDatabase } from './postgres-admin.js';
import { type MigrationsFolder, SchemaEngine } from './schema-engine.js';

/**
 * Drift check between `schema.prisma` and `prisma/migrations` (run by the test suite):
 *  1. the schema has no change that the migrations' snapshot lacks (else a migration is missing);
 *  2. replaying the migrations yields exactly the database the snapshot describes (tables, columns,
 *     types, defaults, indexes, constraints, enums), so no migration was edited or lost.
 * Both need no introspection by the schema engine (which the wasm build cannot do over `pg`).
 */
export interface DriftInput {
  adminUrl: string;
  schemaText: string;
  snapshotText: string;
  migrations: MigrationsFolder;
}

export async function checkDrift(input: DriftInput): Promise<string[]> {
  const problems: string[] = [];
  const suffix = randomBytes(6).toString('hex');
  const replayDb = `wfm_drift_replay_${suffix}`;
  const expectedDb = `wfm_drift_expected_${suffix}`;
  const admin = withDatabase(input.adminUrl, 'postgres');

  await withClient(admin, async (c) => {
    await c.query(`CREATE DATABASE ${quoteIdent(replayDb)}`);
    await c.query(`CREATE DATABASE ${quoteIdent(expectedDb)}`);
  });
  try {
    const replayUrl = withDatabase(input.adminUrl, replayDb);
    const expectedUrl = withDatabase(input.adminUrl, expectedDb);
    const engine = await SchemaEngine.open(replayUrl, 'schema.prisma', input.schemaText);
    try {
      const pending = await engine.diffDatamodels(input.snapshotText, input.schemaText);
      if (pending.changed) {
        problems.push(
          `schema.prisma has changes that no migration contains (run \`npm run db:migration -- <name>\`):\n${pending.sql}`,
        );
      }
      await engine.applyMigrations(input.migrations);
      const fromEmpty = await engine.diffDatamodels(null, input.snapshotText);
      await withClient(expectedUrl, (c) => c.query(fromEmpty.sql));
    } finally {
      await engine.close();
    }
    const replayed = await withClient(replayUrl, fingerprint);
    const expected = await withClient(expectedUrl, fingerprint);
    const missing = expected.filter((line) => !replayed.includes(line));
    const extra = replayed.filter((line) => !expected.includes(line));
    if (missing.length > 0 || extra.length > 0) {
      problems.push(
        'the migrations do not produce the database the schema snapshot describes:\n' +
          missing.map((l) => `  missing after replay: ${l}`).join('\n') +
          (missing.length && extra.length ? '\n' : '') +
          extra.map((l) => `  unexpected after replay: ${l}`).join('\n'),
      );
    }
  } finally {
    await withClient(admin, async (c) => {
      await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(replayDb)} WITH (FORCE)`);
      await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(expectedDb)} WITH (FORCE)`);
    });
  }
  return problems;
}

/** A sorted, order-independent description of the public schema (minus Prisma's bookkeeping). */
export async function fingerprint(client: pg.Client): Promise<string[]> {
  const lines: string[] = [];
  const columns = await client.query<{
    t: string;
    c: string;
    type: string;
    notnull: boolean;
    def: string | null;
  }>(`
    SELECT cl.relname AS t, a.attname AS c, format_type(a.atttypid, a.atttypmod) AS type,
           a.attnotnull AS notnull, pg_get_expr(d.adbin, d.adrelid) AS def
      FROM pg_attribute a
      JOIN pg_class cl ON cl.oid = a.attrelid
      JOIN pg_namespace n ON n.oid = cl.relnamespace
      LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE n.nspname = 'public' AND cl.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
       AND cl.relname <> '_prisma_migrations'`);
  for (const r of columns.rows) {
    lines.push(
      `column ${r.t}.${r.c} ${r.type}${r.notnull ? ' not null' : ''}${r.def ? ` default ${r.def}` : ''}`,
    );
  }
  const indexes = await client.query<{ def: string }>(
    `SELECT indexdef AS def FROM pg_indexes WHERE schemaname = 'public' AND tablename <> '_prisma_migrations'`,
  );
  for (const r of indexes.rows) lines.push(`index ${r.def}`);
  const constraints = await client.query<{ t: string; name: string; def: string }>(`
    SELECT cl.relname AS t, co.conname AS name, pg_get_constraintdef(co.oid) AS def
      FROM pg_constraint co JOIN pg_class cl ON cl.oid = co.conrelid
      JOIN pg_namespace n ON n.oid = cl.relnamespace
     WHERE n.nspname = 'public' AND cl.relname <> '_prisma_migrations'`);
  for (const r of constraints.rows) lines.push(`constraint ${r.t}.${r.name} ${r.def}`);
  const enums = await client.query<{ name: string; labels: string }>(`
    SELECT t.typname AS name, string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) AS labels
      FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
      JOIN pg_namespace n ON n.oid = t.typnamespace
     WHERE n.nspname = 'public' GROUP BY t.typname`);
  for (const r of enums.rows) lines.push(`enum ${r.name} ${r.labels}`);
  return lines.sort();
}
