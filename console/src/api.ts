// The console's API access: the typed client of src/api-client (generated from the committed
// openapi/openapi.json, so a route or DTO change that breaks a page fails `npm run typecheck`), the
// operator token kept in sessionStorage only, and problem+json errors as exceptions.
import { createOperatorClient, type OperatorClient, type Schemas } from '../../src/api-client/index.js';

export type { Schemas };

const TOKEN_KEY = 'wfm.operatorToken';

export function storedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function storeToken(token: string | null): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export function clientFor(token: string): OperatorClient {
  return createOperatorClient({ baseUrl: window.location.origin, token });
}

export interface FieldError {
  field: string;
  message: string;
}

/** An RFC 9457 problem answered by the service (or a network failure described the same way). */
export class ProblemError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly errors: FieldError[] = [],
  ) {
    super(detail || title);
    this.name = 'ProblemError';
  }
}

function problemOf(status: number, body: unknown): ProblemError {
  if (body && typeof body === 'object') {
    const p = body as { title?: unknown; detail?: unknown; errors?: unknown };
    const errors = Array.isArray(p.errors)
      ? (p.errors as FieldError[]).filter((e) => typeof e?.field === 'string')
      : [];
    return new ProblemError(
      status,
      typeof p.title === 'string' ? p.title : `HTTP ${status}`,
      typeof p.detail === 'string' ? p.detail : '',
      errors,
    );
  }
  return new ProblemError(status, `HTTP ${status}`, typeof body === 'string' ? body.slice(0, 300) : '');
}

/** The data of an openapi-fetch answer, or the problem it carried as a ProblemError. */
export async function call<T>(
  request: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  let answer: { data?: T; error?: unknown; response: Response };
  try {
    answer = await request;
  } catch (error) {
    throw new ProblemError(0, 'The service did not answer', error instanceof Error ? error.message : '');
  }
  if (!answer.response.ok) throw problemOf(answer.response.status, answer.error);
  return answer.data as T;
}

export type Role = Schemas['OperatorRole'];
const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** Whether `role` may do what `needed` may (viewer < operator < admin). */
export function allows(role: Role | undefined, needed: Role): boolean {
  return role !== undefined && RANK[role] >= RANK[needed];
}
