import { readFile, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import * as wasm from '@prisma/schema-engine-wasm/schema_engine_bg';
import pg from 'pg';

/**
 * Prisma's own schema engine, as WebAssembly, driven through the `pg` driver adapter. The Prisma
 * CLI's native engine cannot be downloaded on our machines (docs/decisions.md), so migrations are
 * applied and created through this module. Folders keep Prisma's standard layout, so
 * `prisma migrate deploy` works on the same files where the native engine is available.
 */

type Engine = Awaited<ReturnType<typeof wasm.SchemaEngine.new>>;
type MigrationList = Parameters<Engine['applyMigrations']>[0]['migrationsList'];

const FILTERS = { externalTables: [], externalEnums: [] };
let initialised: Promise<void> | undefined;

function initWasm(): Promise<void> {
  initialised ??= (async () => {
    const entry = createRequire(import.meta.url).resolve('@prisma/schema-engine-wasm');
    const module = new WebAssembly.Module(await readFile(join(dirname(entry), 'schema_engine_bg.wasm')));
    const instance = new WebAssembly.Instance(module, {
      './schema_engine_bg.js': wasm as unknown as WebAssembly.ModuleImports,
    });
    const exports = instance.exports as unknown as { __wbindgen_start: () => void };
    wasm.__wbg_set_wasm(instance.exports);
    exports.__wbindgen_start();
  })();
  return initialised;
}

export interface MigrationsFolder {
  baseDir: string;
  list: MigrationList;
  names: string[];
}

/** Reads prisma/migrations in Prisma's layout: `<name>/migration.sql` plus `migration_lock.toml`. */
export async function readMigrations(baseDir: string): Promise<MigrationsFolder> {
  const entries = await readdir(baseDir, { withFileTypes: true }).catch(() => []);
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  const migrationDirectories = await Promise.all(
    names.map(async (name) => ({
      path: name,
      migrationFile: {
        path: 'migration.sql',
        content: { tag: 'ok' as const, value: await readFile(join(baseDir, name, 'migration.sql'), 'utf8') },
      },
    })),
  );
  const lock = await readFile(join(baseDir, 'migration_lock.toml'), 'utf8').catch(() => null);
  return {
    baseDir,
    names,
    list: {
      baseDir,
      lockfile: { path: 'migration_lock.toml', content: lock },
      shadowDbInitScript: '',
      migrationDirectories,
    },
  };
}

export class SchemaEngine {
  private constructor(
    private readonly engine: Engine,
    private readonly pool: pg.Pool,
  ) {}

  static async open(databaseUrl: string, schemaPath: string, schemaText: string): Promise<SchemaEngine> {
    await initWasm();
    // Our own pool, so that close() really ends the engine's connections.
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
    pool.on('error', () => undefined);
    const adapter = bindMigrationAwareSqlAdapterFactory(new PrismaPg(pool));
    try {
      const engine = await wasm.SchemaEngine.new(
        { datamodels: [[schemaPath, schemaText]] },
        () => undefined,
        adapter,
      );
      return new SchemaEngine(engine, pool);
    } catch (error) {
      await pool.end();
      throw error;
    }
  }

  /** Applies every migration not yet recorded in `_prisma_migrations`; returns the names applied. */
  async applyMigrations(folder: MigrationsFolder): Promise<string[]> {
    const result = await this.engine.applyMigrations({ migrationsList: folder.list, filters: FILTERS });
    return result.appliedMigrationNames;
  }

  /** SQL that takes a database from the `from` data model to the `to` data model (empty = no schema). */
  async diffDatamodels(from: string | null, to: string): Promise<{ sql: string; changed: boolean }> {
    const result = await this.engine.diff({
      from:
        from === null
          ? { tag: 'empty' }
          : { tag: 'schemaDatamodel', files: [{ path: 'from.prisma', content: from }] },
      to: { tag: 'schemaDatamodel', files: [{ path: 'to.prisma', content: to }] },
      script: true,
      exitCode: true,
      filters: FILTERS,
    });
    return { sql: result.stdout ?? '', changed: result.exitCode === 2 };
  }

  async close(): Promise<void> {
    this.engine.free();
    await this.pool.end();
  }
}
