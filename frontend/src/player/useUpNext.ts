// Up next in catch-up (rules/upNext.ts decides): near the programme's end the next programme of
// the channel is offered with a countdown, and at 0 its catch-up opens the way any catch-up link
// does (a new address; the player loads it). A recording plays on its own: nothing follows it.

import { useQuery } from '@tanstack/react-query';
import { useCallback, useEffect, useRef, useState } from 'react';
import { useNavigate } from 'react-router';
import { api, unwrap } from '../api/client';
import { keys } from '../api/queries';
import { watchPath, type WatchTarget } from '../routes';
import type { Span } from '../rules/programmeProgress';
import { countdownSeconds, isOfferable, nextProgramme, upNextPhase } from '../rules/upNext';
import { streamingFormat } from './streamingFormat';
import type { LoadedPlaylist } from './usePlaylistLoading';
import type { PlayState } from './usePlayState';
import { manifestPath } from './watchTarget';

/** The schedule is read this close to the end, so the next programme's catch-up state is fresh. */
const LOOK_AHEAD_SECONDS = 60;

export interface UpNextOptions {
  target: WatchTarget;
  entry: { id: string; end_time: string } | null | undefined;
  entrySpan: Span | null;
  play: PlayState;
  loaded: LoadedPlaylist | null;
}

export interface UpNext {
  /** The card to show, or null. */
  card: { title: string; seconds: number } | null;
  playNow: () => void;
  cancel: () => void;
}

export function useUpNext({ target, entry, entrySpan, play, loaded }: UpNextOptions): UpNext {
  const { mode, channelId, entryId } = target;
  const navigate = useNavigate();
  const [cancelledFor, setCancelledFor] = useState<string | null>(null);
  const wentFor = useRef<string | null>(null);

  // Only the playlist of this address counts: right after a switch the state still describes the
  // previous programme's video (ended, at its end).
  const own = loaded?.manifest === manifestPath(target, streamingFormat());
  const playhead = play.timeline?.playhead ?? null;
  const active = mode === 'catchup' && !target.recordingId && own;
  const remaining = active && entrySpan && playhead ? (entrySpan.end.getTime() - playhead.getTime()) / 1000 : null;
  const day = entry ? new Date(entry.end_time).toISOString().slice(0, 10) : '';
  const schedule = useQuery({
    queryKey: keys.schedule(channelId, day),
    queryFn: () =>
      unwrap(api.GET('/api/v1/epg/schedule', { params: { query: { channel_id: channelId, date: day, tz: 'UTC' } } })),
    enabled: remaining !== null && remaining <= LOOK_AHEAD_SECONDS && day !== '',
    staleTime: 15_000,
  });
  const next = entry && schedule.data ? nextProgramme(schedule.data.entries, entry) : null;
  const offered = isOfferable(next) ? next : null;
  const phase =
    offered && remaining !== null
      ? upNextPhase({ remainingSeconds: remaining, ended: play.ended, cancelled: cancelledFor === entryId })
      : 'hidden';

  const nextId = offered?.id ?? null;
  const playNow = useCallback(() => {
    if (!nextId || !entryId || wentFor.current === entryId) return;
    wentFor.current = entryId;
    void navigate(watchPath('catchup', channelId, nextId));
  }, [navigate, channelId, entryId, nextId]);
  useEffect(() => {
    if (phase === 'go') playNow();
  }, [phase, playNow]);
  const cancel = useCallback(() => setCancelledFor(entryId), [entryId]);

  const card = phase === 'counting' && offered && remaining !== null ? { title: offered.title, seconds: countdownSeconds(remaining) } : null;
  return { card, playNow, cancel };
}
