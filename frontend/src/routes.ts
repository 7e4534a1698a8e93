// Every address of the web app in one place: the patterns App's route table matches and the
// builders links and redirects use, so a path is written once. A /watch/... address is read back
// here too, checked: a tampered address is "not found", never a crash.

export type Mode = 'live' | 'startover' | 'catchup';

/** What a /watch/... address asks for. */
export interface WatchTarget {
  mode: Mode;
  channelId: string;
  entryId: string | null;
  /** Playing the viewer's recording of the programme (catch-up mode, `?recording=`). */
  recordingId?: string | null;
}

/** The pages without parameters. */
export const PATHS = {
  home: '/',
  signIn: '/signin',
  guide: '/guide',
  catchup: '/catchup',
  recordings: '/recordings',
  account: '/account',
  admin: '/admin',
} as const;

/** The patterns of App's route table (children of the signed-in layout are relative). */
export const ROUTE_PATTERNS = {
  signIn: PATHS.signIn,
  guide: 'guide',
  catchup: 'catchup',
  recordings: 'recordings',
  account: 'account',
  watch: 'watch/:mode/:channelId/:entryId?',
  admin: 'admin/*',
} as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function parseWatchTarget(
  mode: string | undefined,
  channelId: string | undefined,
  entryId: string | undefined,
  recording: string | null = null,
): WatchTarget | null {
  if (!channelId || !UUID.test(channelId)) return null;
  if (recording !== null) {
    if (mode !== 'catchup' || !UUID.test(recording) || !entryId || !UUID.test(entryId)) return null;
    return { mode, channelId, entryId, recordingId: recording };
  }
  if (mode === 'live') return entryId === undefined ? { mode, channelId, entryId: null } : null;
  if (mode === 'startover' || mode === 'catchup') {
    return entryId && UUID.test(entryId) ? { mode, channelId, entryId } : null;
  }
  return null;
}

export function watchPath(mode: Mode, channelId: string, entryId?: string | null): string {
  return mode === 'live' ? `/watch/live/${channelId}` : `/watch/${mode}/${channelId}/${entryId ?? ''}`;
}

/** A catch-up address that opens at a second of the programme (a shared link, `?t=`), of the
 * viewer's recording of it with `recordingId`. */
export function catchupAtPath(channelId: string, entryId: string, t: string, recordingId?: string | null): string {
  const query = new URLSearchParams(recordingId ? { recording: recordingId, t } : { t });
  return `${watchPath('catchup', channelId, entryId)}?${query.toString()}`;
}

/** The guide on one local day (`YYYY-MM-DD`). */
export function guideDayPath(date: string): string {
  return `${PATHS.guide}?date=${date}`;
}

/** Catch-up by channel (optionally one channel's list) or by date. */
export function catchupPath(view: 'channel' | 'date', channelId?: string): string {
  const base = `${PATHS.catchup}?view=${view}`;
  return channelId ? `${base}&channel=${channelId}` : base;
}

/** A section of the operator console, optionally at an anchor on its page. */
export function adminPath(section: string, anchor?: string): string {
  return anchor ? `${PATHS.admin}/${section}#${anchor}` : `${PATHS.admin}/${section}`;
}
