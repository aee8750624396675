// Who is signed in: the operator token (sessionStorage only, never in a URL), the client made with
// it and the caller as GET /operator/v1/me describes it.
import { createContext, type ReactNode, useCallback, useContext, useMemo, useState } from 'react';
import type { OperatorClient } from '../../src/api-client/index.js';
import { allows, call, clientFor, type Role, type Schemas, storedToken, storeToken } from './api';

export type Me = Schemas['OperatorMeDto'];

interface Session {
  token: string;
  api: OperatorClient;
  me: Me;
}

interface SessionContextValue {
  session: Session | null;
  signIn: (token: string) => Promise<void>;
  signOut: () => void;
}

const SessionContext = createContext<SessionContextValue | null>(null);

export async function identify(token: string): Promise<Session> {
  const api = clientFor(token);
  const me = await call(api.GET('/operator/v1/me'));
  return { token, api, me };
}

export function SessionProvider(props: { initial: Session | null; children: ReactNode }) {
  const [session, setSession] = useState<Session | null>(props.initial);
  const signIn = useCallback(async (token: string) => {
    const next = await identify(token.trim());
    storeToken(next.token);
    setSession(next);
  }, []);
  const signOut = useCallback(() => {
    storeToken(null);
    setSession(null);
  }, []);
  const value = useMemo(() => ({ session, signIn, signOut }), [session, signIn, signOut]);
  return <SessionContext.Provider value={value}>{props.children}</SessionContext.Provider>;
}

function useSessionContext(): SessionContextValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error('useSession outside SessionProvider');
  return value;
}

export function useAuth() {
  return useSessionContext();
}

/** The signed-in session (the pages under the shell render only with one). */
export function useSession(): Session {
  const { session } = useSessionContext();
  if (!session) throw new Error('not signed in');
  return session;
}

/** Whether the signed-in role may take an action that needs `needed`, and why not otherwise. */
export function usePermission(needed: Role): { allowed: boolean; reason: string } {
  const { me } = useSession();
  const allowed = allows(me.role, needed);
  return {
    allowed,
    reason: allowed ? '' : `Needs the ${needed} role (you are signed in as ${me.role})`,
  };
}

export async function restoreSession(): Promise<Session | null> {
  const token = storedToken();
  if (!token) return null;
  try {
    return await identify(token);
  } catch {
    storeToken(null);
    return null;
  }
}
