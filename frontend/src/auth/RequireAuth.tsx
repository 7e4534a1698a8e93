import type { ReactNode } from 'react';
import { Navigate, useLocation } from 'react-router';
import { useAuth } from './AuthProvider';
import { signInPath } from './returnTo';

/** Pages for signed-in viewers only: anyone else goes to /signin and comes back afterwards. */
export function RequireAuth({ children }: { children: ReactNode }) {
  const { token, expired } = useAuth();
  const location = useLocation();
  if (!token) return <Navigate to={signInPath(`${location.pathname}${location.search}`, expired)} replace />;
  return children;
}
