// A programme that cannot be played in the asked mode is a message before anything loads.

import type { Mode } from '../routes';
import { problem, problemFromApi, type PlaybackProblem } from './playbackProblems';

/** What the programme's API answer says about playing it (the fields this rule reads). */
export interface PreflightEntry {
  channel: { id: string };
  on_air: boolean;
  catchup?: { available: boolean; reason?: string | null; expires_at?: string | null } | null;
}

export interface PreflightInput {
  /** The page may play protected (DRM) streams: a secure context with EME. */
  secure: boolean;
  mode: Mode;
  channelId: string;
  recordingId: string | null;
  /** The programme (null when live), while it is being fetched undefined. */
  entry: PreflightEntry | null | undefined;
  /** Fetching the programme failed: it does not exist (404), or anything else. */
  entryFailure: 'not_found' | 'failed' | null;
}

/** The problem to show instead of playing, 'not_found' for a programme that is not this address's,
 * or null when the playback may load. */
export function preflightProblem(p: PreflightInput): PlaybackProblem | 'not_found' | null {
  if (!p.secure) return problem('insecure_page');
  if (p.mode === 'live') return null;
  if (p.entryFailure) return p.entryFailure === 'not_found' ? 'not_found' : problem('unavailable');
  const { entry } = p;
  if (!entry) return null;
  if (entry.channel.id !== p.channelId) return 'not_found'; // another channel's programme
  if (p.mode === 'startover' && !entry.on_air) {
    return problem('not_on_air', entry.catchup ? undefined : 'It has not started yet.');
  }
  // A recording plays under its own rights (the API says so when it loads), past the window too.
  if (p.mode === 'catchup' && !p.recordingId) {
    if (!entry.catchup) return problem('not_aired_yet');
    if (!entry.catchup.available) {
      const reason = entry.catchup.reason ?? 'program_not_eligible';
      return problemFromApi({ status: 403, detail: reason, expiresAt: entry.catchup.expires_at });
    }
  }
  return null;
}
