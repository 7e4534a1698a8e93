// What a /watch/... address asks for, checked: a tampered address is "not found", never a crash.

export type Mode = 'live' | 'startover' | 'catchup';

export interface WatchTarget {
  mode: Mode;
  channelId: string;
  entryId: string | null;
  /** Playing the viewer's recording of the programme (catch-up mode, `?recording=`). */
  recordingId?: string | null;
}

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

export function manifestPath(target: WatchTarget): string {
  if (target.recordingId) return `/api/v1/recordings/${target.recordingId}/manifest`;
  const base = `/api/v1/tstv/${target.mode}/${target.channelId}/manifest`;
  return target.entryId ? `${base}?schedule_entry_id=${target.entryId}` : base;
}

export const BADGES: Record<Mode, string> = { live: 'LIVE', startover: 'START OVER', catchup: 'CATCH-UP' };
