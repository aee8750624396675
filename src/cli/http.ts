import { readFile } from 'node:fs/promises';
import { Agent, fetch } from 'undici';
import type { Context } from './config.js';

/** Exit codes a script can rely on. */
export const EXIT = { ok: 0, service: 1, usage: 2, notFound: 3, connection: 4 } as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export interface Api {
  get(path: string, query?: Record<string, string | undefined>): Promise<unknown>;
  post(path: string): Promise<unknown>;
}

/** A JSON client of the operator API: bearer token in a header, the context's CA trusted. */
export async function connect(context: Context): Promise<Api> {
  const ca = context.ca ? await readFile(context.ca, 'utf8') : undefined;
  const dispatcher = new Agent({ connect: ca ? { ca } : {} });
  const call = async (method: string, path: string, query: Record<string, string | undefined> = {}) => {
    const url = new URL(path, context.url);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, v);
    let res;
    try {
      res = await fetch(url, {
        method,
        dispatcher,
        headers: { authorization: `Bearer ${context.token}`, accept: 'application/json' },
      });
    } catch (error) {
      const cause = (error as { cause?: { message?: string } }).cause?.message;
      throw new CliError(`cannot reach ${context.url}: ${cause ?? String(error)}`, EXIT.connection);
    }
    const text = await res.text();
    if (!res.ok) {
      let detail = text;
      try {
        const problem = JSON.parse(text) as { detail?: string; title?: string };
        detail = problem.detail ?? problem.title ?? text;
      } catch {
        // not problem+json: print the body as it came
      }
      throw new CliError(`${res.status}: ${detail}`, res.status === 404 ? EXIT.notFound : EXIT.service);
    }
    return text === '' ? undefined : (JSON.parse(text) as unknown);
  };
  return { get: (path, query) => call('GET', path, query), post: (path) => call('POST', path) };
}
