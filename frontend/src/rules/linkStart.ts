// A shared link's start time (`?t=` on a catch-up address): read, checked against the programme,
// and written back. Pure; the player applies it (player/usePlaylistLoading.ts).

import { formatClock } from './timeLabels';

/** Seconds from `754`, `12m34s`, `1h2m3s`, `45s` or `12:34` / `1:02:03`; null when it is none of
 * them. */
export function parseStartTime(raw: string): number | null {
  const t = raw.trim().toLowerCase();
  if (/^\d{1,7}$/.test(t)) return Number(t);
  const units = /^(?:(\d{1,4})h)?(?:(\d{1,5})m)?(?:(\d{1,7})s)?$/.exec(t);
  if (units && t !== '') {
    const [, h = '0', m = '0', s = '0'] = units;
    return Number(h) * 3600 + Number(m) * 60 + Number(s);
  }
  const clock = /^(?:(\d{1,4}):)?(\d{1,5}):([0-5]\d)$/.exec(t);
  if (clock) {
    const [, h = '0', m, s] = clock;
    return Number(h) * 3600 + Number(m) * 60 + Number(s);
  }
  return null;
}

export interface LinkStart {
  /** Where to start, in seconds into the programme; null to play as usual (resume or start). */
  seconds: number | null;
  /** Why a link's start time was ignored, for the viewer; null when there was nothing to ignore. */
  note: string | null;
}

/** What a link's `t` does for a programme of `durationSeconds`: a start inside it wins over the
 * saved position; one not understood or past the end is ignored with a note. */
export function startFromLink(raw: string | null, durationSeconds: number): LinkStart {
  if (raw === null || raw.trim() === '') return { seconds: null, note: null };
  const seconds = parseStartTime(raw);
  if (seconds === null) {
    return { seconds: null, note: 'The link’s start time was not understood, so it plays as usual.' };
  }
  if (seconds >= durationSeconds) {
    return { seconds: null, note: `The link starts at ${formatClock(seconds)}, after the programme’s end, so it plays as usual.` };
  }
  return { seconds, note: null };
}

/** The `t` a shared link carries: whole seconds into the programme. */
export function startParam(seconds: number): string {
  return String(Number.isFinite(seconds) && seconds > 0 ? Math.floor(seconds) : 0);
}
