// Moving between modes (Start from Beginning, Jump to Live, the end of a start-over) replaces the
// address, and the next load starts at the instant handed over when that keeps the picture
// continuous.

import { useCallback } from 'react';
import { useNavigate } from 'react-router';
import type { OnAir } from '../api/queries';
import { watchPath, type Mode, type WatchTarget } from '../routes';
import type { PlayerController } from './playerController';

export interface ModeSwitchOptions {
  target: WatchTarget;
  controller: PlayerController | null;
  handOver: (at: Date | null) => void;
  onAir: OnAir | null | undefined;
  now: Date;
}

export interface ModeSwitch {
  switchTo: (next: Mode, nextEntry: string | null, startAt: Date | null) => void;
  jumpToLive: () => void;
  /** The programme on air that can be started over now, if any. */
  startOverEntry: OnAir['schedule_entry'] | null;
  startOver: () => void;
}

export function useModeSwitch({ target, controller, handOver, onAir, now }: ModeSwitchOptions): ModeSwitch {
  const { mode, channelId } = target;
  const navigate = useNavigate();
  const switchTo = useCallback(
    (next: Mode, nextEntry: string | null, startAt: Date | null) => {
      handOver(startAt);
      void navigate(watchPath(next, channelId, nextEntry), { replace: true });
    },
    [navigate, channelId, handOver],
  );
  const jumpToLive = useCallback(() => {
    if (mode === 'live') controller?.goToLive();
    else switchTo('live', null, null);
  }, [mode, controller, switchTo]);
  const onAirEntry = onAir?.schedule_entry;
  const startOverEntry = onAir?.startover_available && onAirEntry && new Date(onAirEntry.end_time) > now ? onAirEntry : null;
  const startOver = useCallback(() => {
    if (startOverEntry) switchTo('startover', startOverEntry.id, null);
  }, [startOverEntry, switchTo]);
  return { switchTo, jumpToLive, startOverEntry, startOver };
}
