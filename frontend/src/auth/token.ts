// What the app reads of the access token's claims (the token is kept by api/tokenStore.ts). The
// token itself is never logged.

export interface Claims {
  userId: string;
  role: 'viewer' | 'admin';
  profileId: string | null;
  subscriptionActive: boolean;
  expiresAtMs: number;
}

function decodePart(part: string): unknown {
  const base64 = part.replace(/-/g, '+').replace(/_/g, '/');
  const padded = base64 + '='.repeat((4 - (base64.length % 4)) % 4);
  const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

/** The claims of a JWT, or null when it is not one we can read (the server still checks it). */
export function readClaims(token: string): Claims | null {
  const part = token.split('.')[1];
  if (!part) return null;
  try {
    const c = decodePart(part) as Record<string, unknown>;
    if (typeof c.sub !== 'string' || typeof c.exp !== 'number') return null;
    return {
      userId: c.sub,
      role: c.role === 'admin' ? 'admin' : 'viewer',
      profileId: typeof c.profile_id === 'string' ? c.profile_id : null,
      subscriptionActive: c.sub_active === true,
      expiresAtMs: c.exp * 1000,
    };
  } catch {
    return null;
  }
}

export function isExpired(claims: Claims, nowMs: number): boolean {
  return claims.expiresAtMs <= nowMs;
}
