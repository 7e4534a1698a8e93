// What went wrong with a playback, in words (never a bare player code), and what the viewer can do.

import { formatDay, formatTimeOfDay } from './timeLabels';

export type ProblemKind =
  | 'expired'
  | 'not_recorded'
  | 'not_eligible'
  | 'startover_not_allowed'
  | 'not_on_air'
  | 'not_aired_yet'
  | 'no_subscription'
  | 'not_found'
  | 'unavailable'
  | 'session_expired'
  | 'insecure_page';

export interface PlaybackProblem {
  kind: ProblemKind;
  title: string;
  message: string;
  /** Worth trying again (the stream may come back); the player retries these by itself too. */
  retryable: boolean;
}

export interface ApiFailure {
  status: number;
  detail?: unknown;
  expiresAt?: string | null;
}

const words: Record<ProblemKind, { title: string; message: string; retryable: boolean }> = {
  expired: {
    title: 'This programme is no longer available on Catch-Up',
    message: 'Its Catch-Up window has closed.',
    retryable: false,
  },
  not_recorded: {
    title: 'Not available on Catch-Up',
    message: 'This programme was not recorded, so it cannot be played.',
    retryable: false,
  },
  not_eligible: {
    title: 'Not available on Catch-Up',
    message: 'The broadcaster does not offer this programme on Catch-Up.',
    retryable: false,
  },
  startover_not_allowed: {
    title: 'Start Over is not available for this programme',
    message: 'You can watch it live.',
    retryable: false,
  },
  not_on_air: {
    title: 'This programme is no longer on air',
    message: 'It may be available on Catch-Up.',
    retryable: false,
  },
  not_aired_yet: {
    title: 'This programme has not finished airing',
    message: 'It will be on Catch-Up once it ends. You can watch it live now.',
    retryable: false,
  },
  no_subscription: {
    title: 'Your subscription does not include this channel',
    message: 'Check your subscription to watch it.',
    retryable: false,
  },
  not_found: {
    title: 'We could not find that programme',
    message: 'The link may be wrong or out of date.',
    retryable: false,
  },
  unavailable: {
    title: 'The stream is not available right now',
    message: 'We will keep trying. You can also try again yourself.',
    retryable: true,
  },
  session_expired: {
    title: 'Your session has expired',
    message: 'Please sign in again.',
    retryable: false,
  },
  insecure_page: {
    title: 'Protected video needs a secure connection',
    message:
      'Browsers play protected video only on pages opened over HTTPS or from this computer. ' +
      'Open the service over HTTPS, or as localhost on the machine that runs it.',
    retryable: false,
  },
};

export function problem(kind: ProblemKind, message?: string): PlaybackProblem {
  const w = words[kind];
  return { kind, title: w.title, message: message ?? w.message, retryable: w.retryable };
}

/** The API's refusal codes (`detail`) that name a problem of their own. */
const kindOfRefusal = new Map<string, ProblemKind>([
  ['catch_up_window_expired', 'expired'],
  ['not_recorded', 'not_recorded'],
  ['program_not_eligible', 'not_eligible'],
  ['startover_not_allowed', 'startover_not_allowed'],
  ['not_on_air', 'not_on_air'],
  ['catchup_not_available_yet', 'not_aired_yet'],
  ['subscription_required', 'no_subscription'],
  ['channel_not_found', 'not_found'],
  ['schedule_entry_not_found', 'not_found'],
  ['programme_not_found', 'not_found'],
]);

/** The API's answer to a manifest or session request, as a problem the viewer can read. */
export function problemFromApi(failure: ApiFailure, timeZone?: string): PlaybackProblem {
  const detail = typeof failure.detail === 'string' ? failure.detail : '';
  if (failure.status === 401) return problem('session_expired');
  if (detail === 'catch_up_window_expired' && failure.expiresAt) {
    const at = new Date(failure.expiresAt);
    return problem('expired', `It expired on ${formatDay(at, timeZone)} at ${formatTimeOfDay(at, timeZone)}.`);
  }
  const kind = kindOfRefusal.get(detail);
  if (kind) return problem(kind);
  if (failure.status === 404 || failure.status === 422) return problem('not_found');
  return problem('unavailable');
}

/** Shaka reports HTTP failures as error 1001 with [uri, status, body, ...] in `data`. */
export function problemFromPlayerError(
  code: number,
  data: readonly unknown[],
  isApiUrl: (uri: string) => boolean,
  timeZone?: string,
): PlaybackProblem {
  const [uri, status, body] = data;
  if (code === 1001 && typeof uri === 'string' && typeof status === 'number' && isApiUrl(uri)) {
    let parsed: { detail?: unknown; expires_at?: string | null } = {};
    if (typeof body === 'string') {
      try {
        parsed = JSON.parse(body) as typeof parsed;
      } catch {
        parsed = {};
      }
    }
    return problemFromApi({ status, detail: parsed.detail, expiresAt: parsed.expires_at ?? null }, timeZone);
  }
  return problem('unavailable');
}
