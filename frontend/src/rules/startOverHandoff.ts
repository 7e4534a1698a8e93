// Where a start-over goes next. Near the live edge it becomes live. Once the programme has ended on
// air, the viewer (still behind) carries on from the same instant in the live playlist, which
// reaches back the live window, or in the programme's catch-up when they are further back than
// that. Not by letting the start-over playlist close: Shaka 4.12 stalls short of the end when a
// playing EVENT playlist turns VOD (shaka-player#9051).

import { shouldSwitchToLive } from './liveEdge';

/** How long after a load its state is trusted: the first frame is still settling. */
export const SETTLE_MS = 1000;
/** How far short of the live window's far end a viewer still goes to live (the window moves on). */
export const LIVE_WINDOW_MARGIN_MS = 60_000;

export interface StartOverState {
  /** Wall-clock now, in ms. */
  nowMs: number;
  /** How long the start-over's own playlist has been playing, in ms. */
  loadedForMs: number;
  /** When the programme ends on air. */
  programmeEnd: Date | null;
  playhead: Date;
  /** The live edge, or the end of what can be sought. */
  edge: Date;
  playing: boolean;
  liveWindowMs: number;
}

export type StartOverExit = { to: 'live' | 'catchup'; at: Date } | null;

export function startOverExit(s: StartOverState): StartOverExit {
  if (s.loadedForMs < SETTLE_MS) return null;
  if (s.programmeEnd && s.nowMs >= s.programmeEnd.getTime() + 1000) {
    const behindMs = s.nowMs - s.playhead.getTime();
    return { to: behindMs < s.liveWindowMs - LIVE_WINDOW_MARGIN_MS ? 'live' : 'catchup', at: s.playhead };
  }
  const behindSeconds = (s.edge.getTime() - s.playhead.getTime()) / 1000;
  return shouldSwitchToLive(behindSeconds, s.playing) ? { to: 'live', at: s.playhead } : null;
}
