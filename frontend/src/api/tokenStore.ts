// The access token kept in this browser (localStorage: a reload keeps the viewer signed in). It
// lives with the API client, which sends it on every call; signing in and out (auth/) write it.

const KEY = 'tstv.token';

export function loadToken(): string | null {
  try {
    return window.localStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function saveToken(token: string | null): void {
  try {
    if (token) window.localStorage.setItem(KEY, token);
    else window.localStorage.removeItem(KEY);
  } catch {
    // Private mode without storage: the session lasts as long as the page.
  }
}
