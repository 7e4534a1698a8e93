// The typed API client: openapi-fetch over the generated OpenAPI types, with the viewer's token on
// every call and one place that reacts to a rejected token.

import createClient, { type Middleware } from 'openapi-fetch';
import { loadToken } from './tokenStore';
import type { components, paths } from './schema';

export type Schemas = components['schemas'];

/** An answer other than 2xx, with the API's machine-readable `detail`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: unknown,
    readonly expiresAt: string | null = null,
    /** The whole error body: some refusals carry figures (the recording quota's hours). */
    readonly fields: Record<string, unknown> = {},
  ) {
    super(typeof detail === 'string' ? detail : `HTTP ${status}`);
    this.name = 'ApiError';
  }
}

/** No answer at all (the API cannot be reached). */
export class NetworkError extends Error {
  constructor() {
    super('The service cannot be reached');
    this.name = 'NetworkError';
  }
}

export const API_PREFIX = '/api/v1';

let onRejectedToken: () => void = () => undefined;

/** Wired by the auth provider: what a 401 to a request that carried a token does. (The token
 * itself is read from its store at each request: a page's first requests start before any
 * effect of the provider could hand it over.) */
export function connectAuth(rejected: () => void): void {
  onRejectedToken = rejected;
}

export function bearer(): string | null {
  return loadToken();
}

const auth: Middleware = {
  onRequest({ request }) {
    const token = bearer();
    if (token && !request.headers.has('Authorization')) request.headers.set('Authorization', `Bearer ${token}`);
    return request;
  },
  onResponse({ request, response }) {
    // A 401 to a request that carried a token: the session is over (expired, or the user is gone).
    if (response.status === 401 && request.headers.has('Authorization')) onRejectedToken();
    return response;
  },
};

export const api = createClient<paths>({ baseUrl: '' });
api.use(auth);

interface Answer<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The data of a 2xx answer, or an ApiError / NetworkError for TanStack Query and the pages. */
export async function unwrap<T>(call: Promise<Answer<T>>): Promise<T> {
  let answer: Answer<T>;
  try {
    answer = await call;
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new NetworkError();
  }
  const { data, error, response } = answer;
  if (response.ok && data !== undefined) return data;
  const body = (error ?? {}) as { detail?: unknown; expires_at?: string | null };
  throw new ApiError(response.status, body.detail, body.expires_at ?? null, body);
}

/** A short sentence for an API failure the viewer caused or can act on. */
export function describeError(e: unknown): string {
  if (e instanceof NetworkError) return 'The service cannot be reached. Check your connection and try again.';
  if (e instanceof ApiError) {
    if (e.status === 401) return 'Your session has expired. Please sign in again.';
    if (e.status === 403) return 'You do not have access to this.';
    if (e.status === 404) return 'We could not find that.';
    if (e.status === 429) return 'Too many attempts. Please wait a minute and try again.';
    if (e.status >= 500) return 'Something went wrong on our side. Please try again.';
  }
  return 'Something went wrong. Please try again.';
}
