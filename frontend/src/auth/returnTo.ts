// Where to go after signing in: only a path of this app, never another site.

import { PATHS } from '../routes';

export function safeReturnPath(next: string | null | undefined): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/';
  if (next.startsWith(PATHS.signIn)) return PATHS.home;
  return next;
}

export function signInPath(returnTo: string, expired: boolean): string {
  const params = new URLSearchParams();
  const next = safeReturnPath(returnTo);
  if (next !== '/') params.set('next', next);
  if (expired) params.set('expired', '1');
  const query = params.toString();
  return query ? `${PATHS.signIn}?${query}` : PATHS.signIn;
}
