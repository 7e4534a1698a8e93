// What a viewer can do with a programme right now, the one answer every listing shows (guide
// cells, the detail panel, catch-up lists, rails). The server decides the rights; this only reads
// its decision and turns it into actions and words.

import { expiryPhrase, type Expiry } from './expiry';

export const RESUME_MIN_SECONDS = 5;
export const FINISHED_RATIO = 0.95;

export interface ProgrammeFacts {
  status: 'aired' | 'on_air' | 'upcoming';
  startover_available: boolean;
  start_time: string;
  end_time: string;
  catchup?: { available: boolean; reason: string | null; expires_at: string } | null;
  bookmark_position_seconds?: number | null;
}

export type ProgrammeState =
  | { kind: 'on_air'; startOver: boolean }
  | { kind: 'available'; resumeAt: number | null; progress: number; expiry: Expiry }
  | { kind: 'locked'; reason: string }
  | { kind: 'upcoming' };

const LOCK_WORDS: Record<string, string> = {
  program_not_eligible: 'Not available on Catch-Up',
  catch_up_window_expired: 'No longer available on Catch-Up',
  not_recorded: 'Not available on Catch-Up: not recorded',
};

/** Where a partly watched programme resumes (null: from the start, or it was finished). */
export function resumePoint(position: number | null | undefined, duration: number): number | null {
  if (!position || position < RESUME_MIN_SECONDS || position >= duration * FINISHED_RATIO) return null;
  return position;
}

export function programmeState(p: ProgrammeFacts, now: Date, timeZone?: string): ProgrammeState {
  if (p.status === 'on_air') return { kind: 'on_air', startOver: p.startover_available };
  if (p.status === 'upcoming') return { kind: 'upcoming' };
  const c = p.catchup;
  if (!c?.available) return { kind: 'locked', reason: LOCK_WORDS[c?.reason ?? ''] ?? 'Not available on Catch-Up' };
  const duration = (Date.parse(p.end_time) - Date.parse(p.start_time)) / 1000;
  const position = p.bookmark_position_seconds ?? 0;
  return {
    kind: 'available',
    resumeAt: resumePoint(position, duration),
    progress: duration > 0 ? Math.min(1, position / duration) : 0,
    expiry: expiryPhrase(new Date(c.expires_at), now, timeZone),
  };
}
