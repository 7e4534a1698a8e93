// Saving how far the viewer got in a start-over or catch-up (useProgressSaving.ts keeps the
// session and its heartbeat): the position as it moves, a save on pause and seek, and a catch-up
// watched to its end.

import { useEffect, useMemo } from 'react';
import type { Mode } from '../routes';
import { durationSeconds, offsetInProgramme, type Span } from '../rules/programmeProgress';
import type { PlayerController } from './playerController';
import type { PlayState } from './usePlayState';
import { useProgressSaving, type SavingTarget } from './useProgressSaving';

export interface PlaybackSavingOptions {
  mode: Mode;
  /** The programme, with its channel's CDN key (null when live or not yet known). */
  entry: { id: string; channel: { cdn_channel_key?: string | null } } | null | undefined;
  entrySpan: Span | null;
  /** Nothing is saved for a playback that cannot start. */
  blocked: boolean;
  controller: PlayerController | null;
  play: PlayState;
}

export function usePlaybackSaving({ mode, entry, entrySpan, blocked, controller, play }: PlaybackSavingOptions): void {
  const savingTarget = useMemo<SavingTarget | null>(() => {
    if (mode === 'live' || !entry?.channel.cdn_channel_key || blocked) return null;
    return { sessionType: mode, channelKey: entry.channel.cdn_channel_key, entryId: entry.id };
  }, [mode, entry, blocked]);
  const saving = useProgressSaving(savingTarget, !play.paused && !play.ended);

  useEffect(() => {
    if (!entrySpan || !play.timeline || mode === 'live') return;
    saving.update(offsetInProgramme(entrySpan, play.timeline.playhead));
  }, [entrySpan, play.timeline, mode, saving]);
  useEffect(() => {
    const video = controller?.video;
    if (!video) return undefined;
    const flush = () => saving.flush();
    video.addEventListener('pause', flush);
    video.addEventListener('seeked', flush);
    return () => {
      video.removeEventListener('pause', flush);
      video.removeEventListener('seeked', flush);
    };
  }, [controller, saving]);
  useEffect(() => {
    if (mode === 'catchup' && play.ended && entrySpan) saving.complete(durationSeconds(entrySpan));
  }, [mode, play.ended, entrySpan, saving]);
}
