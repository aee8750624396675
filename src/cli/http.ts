import { readFile } from 'node:fs/promises';
import { Agent, fetch as undiciFetch } from 'undici';
import { createOperatorClient, type OperatorClient } from '../api-client/index.js';
import type { Context } from './config.js';

/** Exit codes a script can rely on. */
export const EXIT = { ok: 0, service: 1, usage: 2, notFound: 3, connection: 4, timeout: 5 } as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export interface Api {
  /** The typed operator client (openapi-fetch), trusting the context's CA. */
  client: OperatorClient;
  context: Context;
}

/** A fetch that trusts the context's CA (an undici Agent) and maps network failures to exit 4. */
export function fetchWithCa(context: Context, ca: string | undefined): (input: Request) => Promise<Response> {
  const dispatcher = new Agent({ connect: ca ? { ca } : {} });
  return async (input: Request) => {
    const body = input.body ? Buffer.from(await input.arrayBuffer()) : undefined;
    try {
      const res = await undiciFetch(input.url, {
        method: input.method,
        headers: [...input.headers],
        body,
        dispatcher,
        signal: input.signal,
      });
      return res as unknown as Response;
    } catch (error) {
      if ((error as Error).name === 'AbortError') throw error;
      const cause = (error as { cause?: { message?: string } }).cause?.message;
      throw new CliError(`cannot reach ${context.url}: ${cause ?? String(error)}`, EXIT.connection);
    }
  };
}

/** The typed client of `context`: bearer token in a header, the context's CA trusted. */
export async function connect(context: Context): Promise<Api> {
  const ca = context.ca ? await readFile(context.ca, 'utf8') : undefined;
  return {
    context,
    client: createOperatorClient({
      baseUrl: context.url,
      token: context.token,
      fetch: fetchWithCa(context, ca),
    }),
  };
}

/** The message of a problem+json body (its `detail`, else `title`), or the body as it came. */
function problemDetail(error: unknown): string {
  if (error && typeof error === 'object') {
    const problem = error as { detail?: unknown; title?: unknown; errors?: unknown };
    const text = problem.detail ?? problem.title;
    const base = typeof text === 'string' ? text : JSON.stringify(error);
    const fields = Array.isArray(problem.errors)
      ? (problem.errors as { field?: string; message?: string }[])
          .map((e) => `${e.field ?? ''} ${e.message ?? ''}`)
          .join('; ')
      : '';
    return fields ? `${base} (${fields})` : base;
  }
  return String(error);
}

/**
 * The data of a typed call, or a CliError with the problem detail: 404 exits 3, other
 * refusals 1.
 */
export async function ok<R extends { data?: unknown; error?: unknown; response: Response }>(
  call: Promise<R>,
): Promise<Exclude<R['data'], undefined>> {
  const { data, error, response } = await call;
  if (!response.ok) {
    throw new CliError(
      `${response.status}: ${problemDetail(error)}`,
      response.status === 404 ? EXIT.notFound : EXIT.service,
    );
  }
  return data as Exclude<R['data'], undefined>;
}
