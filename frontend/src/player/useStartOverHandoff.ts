// A start-over hands over by itself: to live near the live edge, and to live or the programme's
// catch-up once the programme has ended on air (rules/startOverHandoff.ts decides which).

import { useEffect } from 'react';
import type { Mode, WatchTarget } from '../routes';
import type { Span } from '../rules/programmeProgress';
import { startOverExit } from '../rules/startOverHandoff';
import type { LoadedPlaylist } from './usePlaylistLoading';
import { streamingFormat } from './streamingFormat';
import type { PlayState } from './usePlayState';
import { manifestPath } from './watchTarget';

export interface StartOverHandoffOptions {
  target: WatchTarget;
  play: PlayState;
  loaded: LoadedPlaylist | null;
  entrySpan: Span | null;
  liveWindowMs: number;
  switchTo: (next: Mode, nextEntry: string | null, startAt: Date | null) => void;
}

export function useStartOverHandoff({ target, play, loaded, entrySpan, liveWindowMs, switchTo }: StartOverHandoffOptions) {
  const { mode, entryId } = target;
  useEffect(() => {
    // Only once this start-over's own playlist plays: right after a switch, the state still
    // describes the previous playlist (live, a moment ago near its edge).
    if (mode !== 'startover' || !play.timeline || loaded?.manifest !== manifestPath(target, streamingFormat())) return;
    const exit = startOverExit({
      nowMs: Date.now(),
      loadedForMs: performance.now() - loaded.at,
      programmeEnd: entrySpan?.end ?? null,
      playhead: play.timeline.playhead,
      edge: play.timeline.liveEdge ?? play.timeline.seekEnd,
      playing: !play.paused,
      liveWindowMs,
    });
    if (exit) switchTo(exit.to, exit.to === 'live' ? null : entryId, exit.at);
  }, [mode, play, loaded, target, entrySpan, entryId, liveWindowMs, switchTo]);
}
