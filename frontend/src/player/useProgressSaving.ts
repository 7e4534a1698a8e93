// docs/PRODUCT.md, J4: a TSTV session for a start-over or catch-up playback, and its heartbeat with the
// position: every 30 s while playing, and on pause, seek, end, leaving the page, closing or hiding the tab.

import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useMemo, useRef } from 'react';
import { api, unwrap } from '../api/client';
import { HEARTBEAT_SECONDS, ProgressSaver } from '../rules/progressSaver';

export interface SavingTarget {
  sessionType: 'startover' | 'catchup';
  channelKey: string;
  entryId: string;
}

export interface ProgressSaving {
  /** Note the position (seconds into the programme). */
  update: (position: number) => void;
  /** Save now (pause, seek). */
  flush: () => void;
  /** Watched to the end. */
  complete: (position: number) => void;
}

/** Saves while `target` is set; `playing` drives the heartbeat. */
export function useProgressSaving(target: SavingTarget | null, playing: boolean): ProgressSaving {
  const saverRef = useRef<ProgressSaver | null>(null);
  const queryClient = useQueryClient();
  const key = target ? `${target.sessionType}:${target.channelKey}:${target.entryId}` : '';

  useEffect(() => {
    if (!target) return undefined;
    // The session opens as playback starts; a save made before it answers waits for it, and one
    // made after it failed opens it again (the saver retries).
    const open = (keepalive: boolean) =>
      unwrap(
        api.POST('/api/v1/tstv/sessions', {
          body: { channel_id: target.channelKey, schedule_entry_id: target.entryId, session_type: target.sessionType },
          keepalive,
        }),
      ).then((s) => s.id);
    let session: Promise<number> = open(false);
    session.catch(() => undefined);
    const saver = new ProgressSaver(async (position, { completed, leaving }) => {
      let sessionId: number;
      try {
        sessionId = await session;
      } catch (e) {
        session = open(leaving);
        session.catch(() => undefined);
        throw e;
      }
      await unwrap(
        api.PATCH('/api/v1/tstv/sessions/{session_id}', {
          params: { path: { session_id: sessionId } },
          body: completed ? { last_position_s: position, completed: true } : { last_position_s: position },
          keepalive: leaving,
        }),
      );
      // Where the viewer goes next (Home's Continue Watching, a listing) shows the new position.
      void queryClient.invalidateQueries({ queryKey: ['viewing'] });
      void queryClient.invalidateQueries({ queryKey: ['tstv', 'catchup'] });
      void queryClient.invalidateQueries({ queryKey: ['epg', 'guide'] });
    });
    saverRef.current = saver;
    const leave = () => void saver.flush(true);
    const hidden = () => {
      if (document.visibilityState === 'hidden') leave();
    };
    window.addEventListener('pagehide', leave);
    document.addEventListener('visibilitychange', hidden);
    return () => {
      window.removeEventListener('pagehide', leave);
      document.removeEventListener('visibilitychange', hidden);
      saver.dispose();
      if (saverRef.current === saver) saverRef.current = null;
    };
    // The target's identity is its key.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);

  useEffect(() => {
    if (!target || !playing) return undefined;
    const timer = window.setInterval(() => void saverRef.current?.flush(), HEARTBEAT_SECONDS * 1000);
    return () => {
      window.clearInterval(timer);
    };
  }, [key, playing, target]);

  return useMemo<ProgressSaving>(
    () => ({
      update: (p) => saverRef.current?.update(p),
      flush: () => void saverRef.current?.flush(),
      complete: (p) => saverRef.current?.complete(p),
    }),
    [],
  );
}
