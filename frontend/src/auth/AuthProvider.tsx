// Who is signed in. Keeps the token (a reload stays signed in), signs out when the token expires or
// the API rejects it; RequireAuth then sends the viewer to /signin with a way back to where they were.

import { useQueryClient } from '@tanstack/react-query';
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { useNavigate } from 'react-router';
import { api, connectAuth, unwrap } from '../api/client';
import { PATHS } from '../routes';
import { loadToken, saveToken } from '../api/tokenStore';
import { isExpired, readClaims, type Claims } from './token';

export interface Auth {
  token: string | null;
  claims: Claims | null;
  /** The last session ended because the token expired or was rejected (not by signing out). */
  expired: boolean;
  signIn: (email: string, password: string) => Promise<void>;
  /** Signs out of this token at the API too (a copy of it stops working), then locally. */
  signOut: () => void;
  /** After a password change: the answer's new token replaces the old one (which no longer works). */
  replaceToken: (token: string) => void;
}

interface Session {
  token: string;
  claims: Claims;
}

const AuthContext = createContext<Auth | null>(null);

function validSession(token: string | null): Session | null {
  const claims = token ? readClaims(token) : null;
  return token && claims && !isExpired(claims, Date.now()) ? { token, claims } : null;
}

function initialState(): { session: Session | null; expired: boolean } {
  const stored = loadToken();
  const session = validSession(stored);
  if (stored && !session) saveToken(null);
  return { session, expired: Boolean(stored) && !session };
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [state, setState] = useState(initialState);
  const { session, expired } = state;

  const end = useCallback(
    (wasExpired: boolean) => {
      saveToken(null);
      setState({ session: null, expired: wasExpired });
      queryClient.clear();
    },
    [queryClient],
  );

  const token = session?.token ?? null;
  const signOut = useCallback(() => {
    // Best effort, with the token named here (the store is cleared before the request leaves):
    // signed out in this browser whatever the API answers (it may be unreachable).
    if (token) {
      void api
        .POST('/api/v1/auth/logout', { headers: { Authorization: `Bearer ${token}` } })
        .catch(() => undefined);
    }
    end(false);
    void navigate(PATHS.signIn, { replace: true });
  }, [token, end, navigate]);

  const replaceToken = useCallback((token: string) => {
    const next = validSession(token);
    if (!next) return;
    saveToken(next.token);
    setState({ session: next, expired: false });
  }, []);

  useEffect(() => {
    connectAuth(() => {
      end(true);
    });
  }, [end]);

  // End the session at the token's expiry rather than at the next failed request.
  useEffect(() => {
    if (!session) return undefined;
    const ms = session.claims.expiresAtMs - Date.now();
    const timer = window.setTimeout(
      () => {
        end(true);
      },
      Math.max(0, Math.min(ms, 2 ** 31 - 1)),
    );
    return () => {
      window.clearTimeout(timer);
    };
  }, [session, end]);

  const signIn = useCallback(
    async (email: string, password: string) => {
      const out = await unwrap(api.POST('/api/v1/auth/login', { body: { email, password } }));
      const next = validSession(out.access_token);
      if (!next) throw new Error('The service answered with a token this app cannot read.');
      saveToken(next.token);
      queryClient.clear();
      setState({ session: next, expired: false });
    },
    [queryClient],
  );

  const value = useMemo<Auth>(
    () => ({ token: session?.token ?? null, claims: session?.claims ?? null, expired, signIn, signOut, replaceToken }),
    [session, expired, signIn, signOut, replaceToken],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): Auth {
  const auth = useContext(AuthContext);
  if (!auth) throw new Error('useAuth outside AuthProvider');
  return auth;
}
