// Holes in the archive (an encoder or the platform was down) inside an HLS media playlist: where
// they are, and a playlist Shaka 4.12 plays across them (docs/MEDIA.md, M27). Pure: text in, text out.
//
// A hole shows in a playlist as a PROGRAM-DATE-TIME later than the previous segment's end. Shaka
// places each segment at its date but takes the playlist's length from the sum of its EXTINFs,
// so the presentation ends a hole's length early and the player stops at the hole. Lengthening the
// EXTINF of the segment before each hole by the hole makes the sum the real span; the segments
// still sit at their dates, the media before the hole ends where it ends, and Shaka's gap jumper
// carries playback over the unbuffered hole. The server's playlists stay exact for other players.

import { formatTimeOfDay } from './timeLabels';

export interface Hole {
  start: Date;
  end: Date;
}

/** A hole shorter than this is a rounding of durations, not a hole (the server's own tolerance). */
export const HOLE_TOLERANCE_SECONDS = 0.5;

const EXTINF = /^#EXTINF:([0-9.]+)(,.*)?$/;
const PDT = '#EXT-X-PROGRAM-DATE-TIME:';

/** The playlist with each segment before a hole lengthened over it, and the holes. A master
 * playlist or an MPD (no EXTINF) comes back as it was, with no holes. Only a finished playlist
 * (ENDLIST: catch-up, a recording, a range) is changed: in a live or growing one Shaka keeps the
 * references it has at each refresh, so a duration changed under it after a failover left the
 * player short of the live edge's seek range, stalled before the new run (a cluster test), and
 * a live window begins after any hole that long (docs/MEDIA.md, M20). Their holes are still named. */
export function bridgeHoles(text: string): { text: string; holes: Hole[] } {
  if (!text.includes('#EXTINF:')) return { text, holes: [] };
  const finished = text.includes('#EXT-X-ENDLIST');
  const lines = text.split('\n');
  const holes: Hole[] = [];
  let expectedMs: number | null = null; // where the next segment starts if nothing is missing
  let lastExtinf: { index: number; seconds: number; rest: string } | null = null;
  let pending: number | null = null; // the EXTINF seconds of the segment whose URI comes next
  lines.forEach((raw, i) => {
    const line = raw.trim();
    const extinf = EXTINF.exec(line);
    if (extinf) {
      pending = Number(extinf[1]);
      lastExtinf = { index: i, seconds: pending, rest: extinf[2] ?? ',' };
    } else if (line.startsWith(PDT)) {
      const at = Date.parse(line.slice(PDT.length));
      if (Number.isNaN(at)) return;
      const missing = expectedMs === null ? 0 : (at - expectedMs) / 1000;
      if (expectedMs !== null && missing > HOLE_TOLERANCE_SECONDS && lastExtinf) {
        holes.push({ start: new Date(expectedMs), end: new Date(at) });
        if (finished) {
          lastExtinf.seconds += missing;
          lines[lastExtinf.index] = `#EXTINF:${lastExtinf.seconds.toFixed(6)}${lastExtinf.rest}`;
        }
      }
      expectedMs = at;
    } else if (line !== '' && !line.startsWith('#') && pending !== null) {
      if (expectedMs !== null) expectedMs += pending * 1000;
      pending = null;
    }
  });
  return { text: lines.join('\n'), holes };
}

/** The holes of several playlists (video, audio, thumbnails: the same holes give or take a frame),
 * one per hole: those that overlap or nearly touch are merged. */
export function mergeHoles(lists: Iterable<Hole[]>): Hole[] {
  const all = [...lists].flat().sort((a, b) => a.start.getTime() - b.start.getTime());
  const out: Hole[] = [];
  for (const h of all) {
    const last = out[out.length - 1];
    if (last && h.start.getTime() <= last.end.getTime() + HOLE_TOLERANCE_SECONDS * 1000) {
      if (h.end > last.end) last.end = h.end;
    } else {
      out.push({ start: h.start, end: h.end });
    }
  }
  return out;
}

/** "Not recorded 15:27 – 15:54"; a hole inside one minute gives its seconds: "15:27:10 – 15:27:40". */
export function holeLabel(hole: Hole, timeZone?: string): string {
  const sameMinute = Math.floor(hole.start.getTime() / 60_000) === Math.floor(hole.end.getTime() / 60_000);
  const clock = sameMinute
    ? (d: Date) => new Intl.DateTimeFormat('en-GB', { timeStyle: 'medium', timeZone }).format(d)
    : (d: Date) => formatTimeOfDay(d, timeZone);
  return `Not recorded ${clock(hole.start)} – ${clock(hole.end)}`;
}

/** The hole an instant falls in, if any. */
export function holeAt(holes: Hole[], at: Date): Hole | null {
  const t = at.getTime();
  return holes.find((h) => h.start.getTime() <= t && t < h.end.getTime()) ?? null;
}
