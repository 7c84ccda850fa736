import { createContext, useContext } from 'react';
import type { SessionInfo } from '../api/types';

/** The signed-in user's session (`GET /api/auth/session`), available below the auth gate. */
export const SessionContext = createContext<SessionInfo | null>(null);

export function useSession(): SessionInfo {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside the signed-in app');
  return s;
}

/** Does the signed-in user hold `perm`? */
export function useCan(perm: string): boolean {
  return useSession().permissions.includes(perm as never);
}
