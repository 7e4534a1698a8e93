// The console's API calls and their failures in words. Like `unwrap` of the app's client, but the
// error keeps the whole answer: the console shows more of it (a 422's fields, a failed encoder's
// last error) than a viewer page does.

import { ApiError, NetworkError, describeError } from '../api/client';
import { refusalInWords } from './rulesForm';

/** An API refusal with its whole body (`detail`, and `error` or a 422's field list). */
export class AdminApiError extends ApiError {
  constructor(
    status: number,
    detail: unknown,
    readonly body: unknown,
  ) {
    super(status, detail);
    this.name = 'AdminApiError';
  }
}

interface Answer<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

export async function call<T>(request: Promise<Answer<T>>): Promise<T> {
  let answer: Answer<T>;
  try {
    answer = await request;
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new NetworkError();
  }
  const { data, error, response } = answer;
  if (response.ok && data !== undefined) return data;
  const body: unknown = error ?? null;
  const detail = body && typeof body === 'object' && 'detail' in body ? body.detail : undefined;
  throw new AdminApiError(response.status, detail, body);
}

/** The API said the token is a viewer's (or the token itself says so). */
export function isOperatorsOnly(e: unknown): boolean {
  return e instanceof ApiError && e.status === 403 && e.detail === 'admin_required';
}

export interface FieldRefusal {
  loc: (string | number)[];
  msg: string;
}

/** The entries of a 422 (`detail: [{loc, msg, type}]`); empty for any other failure. */
export function fieldRefusals(e: unknown): FieldRefusal[] {
  if (!(e instanceof ApiError) || e.status !== 422 || !Array.isArray(e.detail)) return [];
  return (e.detail as unknown[]).flatMap((d) => {
    if (!d || typeof d !== 'object') return [];
    const { loc, msg } = d as { loc?: unknown; msg?: unknown };
    if (!Array.isArray(loc) || typeof msg !== 'string') return [];
    return [{ loc: loc.filter((p): p is string | number => typeof p === 'string' || typeof p === 'number'), msg }];
  });
}

const CODES: Record<string, string> = {
  already_running: 'Already running.',
  not_running: 'Not running.',
  channel_not_found: 'This channel does not exist (any more).',
  schedule_entry_not_found: 'This programme does not exist (any more).',
  simlive_unavailable: 'The encoder manager is not running on this server.',
  admin_required: 'This page is for operators.',
};

/** Why an operator's request failed, in words. */
export function describeAdminError(e: unknown): string {
  if (e instanceof NetworkError) return describeError(e);
  if (e instanceof ApiError) {
    const code = typeof e.detail === 'string' ? e.detail : null;
    if (code === 'encoder_restart_failed') {
      const body = e instanceof AdminApiError ? e.body : null;
      const why = body && typeof body === 'object' && 'error' in body && typeof body.error === 'string' ? body.error : null;
      return why ? `The encoder did not start: ${why}` : 'The encoder did not start.';
    }
    if (code && code in CODES) return CODES[code] ?? code;
    const fields = fieldRefusals(e);
    if (fields.length > 0) return fields.map((f) => refusalInWords(f.loc, f.msg)).join(' ');
    if (e.status === 401) return 'Your session has expired. Please sign in again.';
    if (e.status === 403) return 'This page is for operators.';
    if (e.status === 404) return 'Not found.';
    if (e.status >= 500) return `The service failed (HTTP ${e.status}). Try again in a moment.`;
    if (code) return `The service refused: ${code.replace(/_/g, ' ')}.`;
  }
  return describeError(e);
}
