// Loading the address's playlist into the player: on a new address, a retry, or the programme
// becoming known. A mode switch hands over the instant to start at (the picture stays continuous);
// a catch-up without one starts where a shared link says (`?t=`) or resumes where the viewer left
// off. An outage is retried by itself.

import { useCallback, useEffect, useRef, useState } from 'react';
import { startFromLink } from '../rules/linkStart';
import type { PlaybackProblem } from '../rules/playbackProblems';
import { durationSeconds, type Span } from '../rules/programmeProgress';
import type { QualityChoice } from '../rules/quality';
import type { WatchTarget } from '../routes';
import type { PlayerController } from './playerController';
import { streamingFormat } from './streamingFormat';
import { resumePosition, type StartNotice } from './useResume';
import { manifestPath } from './watchTarget';

const RETRY_UNAVAILABLE_MS = 5000;

export interface PlaylistLoadingOptions {
  controller: PlayerController | null;
  target: WatchTarget;
  /** Nothing stops the playback and, off live, the programme is known. */
  ready: boolean;
  entrySpan: Span | null;
  /** The wrapper's current problem (a retryable one is retried) and how a new load clears it. */
  problem: PlaybackProblem | null;
  clearProblem: () => void;
  qualityRef: { readonly current: QualityChoice };
  /** A shared link's start time (`?t=`, raw): it wins over the saved position. */
  linkStart: string | null;
  /** Shows (how it started) or hides (null) the "resumed" toast. */
  showResumed: (notice: StartNotice | null) => void;
}

/** Which playlist is loaded and since when: state read from the player belongs to this load only. */
export interface LoadedPlaylist {
  manifest: string;
  at: number;
}

export interface PlaylistLoading {
  loaded: LoadedPlaylist | null;
  retry: () => void;
  /** The wall-clock instant the next load starts at (a mode switch), or null for its default. */
  handOver: (at: Date | null) => void;
}

export function usePlaylistLoading(o: PlaylistLoadingOptions): PlaylistLoading {
  const { controller, target, ready, entrySpan, problem, clearProblem, qualityRef, linkStart, showResumed } = o;
  const { mode, channelId, entryId } = target;
  const recordingId = target.recordingId ?? null;
  const [loaded, setLoaded] = useState<LoadedPlaylist | null>(null);
  const [attempt, setAttempt] = useState(0);
  const handoff = useRef<Date | null>(null);

  useEffect(() => {
    if (!controller || !ready) return undefined;
    const load = new AbortController();
    const stale = () => load.signal.aborted; // a newer load (or leaving) took over
    clearProblem();
    setLoaded(null);
    showResumed(null);
    void (async () => {
      let startAt = handoff.current;
      handoff.current = null;
      if (mode === 'catchup' && startAt === null && entryId && entrySpan) {
        const duration = durationSeconds(entrySpan);
        const link = startFromLink(linkStart, duration);
        const from = link.seconds !== null ? 'link' : 'saved';
        const position = link.seconds ?? (await resumePosition(entryId, duration));
        if (from === 'link' || position > 0) startAt = new Date(entrySpan.start.getTime() + position * 1000);
        const shown = from === 'link' || position > 0 ? position : null;
        if (!stale() && (shown !== null || link.note)) showResumed({ position: shown, from, note: link.note });
      }
      const format = streamingFormat();
      // An HLS start-over playlist says where to start (EXT-X-START); an MPD cannot, and a player
      // starts a dynamic one at its live edge: start at the programme's first frame ourselves (a
      // recording still on air is a dynamic MPD too).
      const growing = mode === 'startover' || recordingId !== null;
      if (growing && format === 'dash' && startAt === null && entrySpan) startAt = entrySpan.start;
      if (stale()) return;
      const manifest = manifestPath(target, format);
      const ok = await controller.load(`${window.location.origin}${manifest}`, startAt, format);
      if (stale() || !ok) return;
      setLoaded({ manifest, at: performance.now() });
      if (qualityRef.current !== 'auto') controller.setQuality(qualityRef.current);
      await controller.play();
    })();
    return () => {
      load.abort();
    };
    // A new address, a retry or the programme becoming known start a new load.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [controller, ready, mode, channelId, entryId, recordingId, attempt]);

  useEffect(() => {
    if (!problem?.retryable) return undefined;
    const timer = window.setTimeout(() => setAttempt((a) => a + 1), RETRY_UNAVAILABLE_MS);
    return () => {
      window.clearTimeout(timer);
    };
  }, [problem]);

  const retry = useCallback(() => setAttempt((a) => a + 1), []);
  const handOver = useCallback((at: Date | null) => {
    handoff.current = at;
  }, []);
  return { loaded, retry, handOver };
}
