import pg from 'pg';
import { redactUrl } from '../../config/config.js';

/** Small helpers for administrative SQL that runs outside Prisma (database creation, locks). */

export function databaseName(url: string): string {
  const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
  return name || 'postgres';
}

export function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(name)}`;
  return u.toString();
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export async function withClient<T>(
  url: string,
  fn: (client: pg.Client) => Promise<T>,
  timeoutMs = 5000,
): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export class DependencyUnavailableError extends Error {
  constructor(
    readonly dependency: 'PostgreSQL' | 'Redis',
    readonly url: string,
    cause: string,
  ) {
    super(`Cannot reach ${dependency} at ${redactUrl(url)}: ${cause}`);
    this.name = 'DependencyUnavailableError';
  }
}

function describe(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return describe(error.errors[0]);
  if (error instanceof Error) {
    const code = (error as { code?: string }).code;
    return code && !error.message.includes(code) ? `${code} ${error.message}` : error.message;
  }
  return String(error);
}

/** Creates the database named in `url` when it does not exist yet (connecting to `postgres`). */
export async function ensureDatabase(url: string): Promise<boolean> {
  try {
    await withClient(url, () => Promise.resolve());
    return false;
  } catch (error) {
    if ((error as { code?: string }).code !== '3D000') {
      throw new DependencyUnavailableError('PostgreSQL', url, describe(error));
    }
  }
  const name = databaseName(url);
  try {
    await withClient(withDatabase(url, 'postgres'), async (client) => {
      await client.query(`CREATE DATABASE ${quoteIdent(name)}`).catch((error: { code?: string }) => {
        // 42P04 (exists) or 23505 (unique violation): a concurrent start created it first — fine
        if (error.code !== '42P04' && error.code !== '23505') throw error;
      });
    });
  } catch (error) {
    throw new DependencyUnavailableError(
      'PostgreSQL',
      url,
      `could not create database ${name}: ${describe(error)}`,
    );
  }
  return true;
}
