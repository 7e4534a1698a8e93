// The clock of the playback: what the player and the video element say, read on their events and
// every TICK_MS (the playhead moves without an event).

import { useEffect, useState } from 'react';
import { activeRung, rungsOf, type Rung } from '../rules/quality';
import type { PlayerController, Timeline } from './playerController';

const TICK_MS = 250;

export interface PlayState {
  timeline: Timeline | null;
  paused: boolean;
  muted: boolean;
  waiting: boolean;
  ended: boolean;
  rungs: Rung[];
  playingRung: Rung | null;
}

const BEFORE_PLAYING: PlayState = {
  timeline: null,
  paused: true,
  muted: false,
  waiting: true,
  ended: false,
  rungs: [],
  playingRung: null,
};

export function usePlayState(controller: PlayerController | null): PlayState {
  const [play, setPlay] = useState<PlayState>(BEFORE_PLAYING);
  useEffect(() => {
    if (!controller) return undefined;
    const video = controller.video;
    const read = () => {
      const variants = controller.variants();
      setPlay({
        timeline: controller.timeline(),
        paused: video.paused,
        muted: video.muted,
        waiting: video.readyState < 3 && !video.paused,
        ended: video.ended,
        rungs: rungsOf(variants),
        playingRung: activeRung(variants),
      });
    };
    const timer = window.setInterval(read, TICK_MS);
    const events = ['play', 'pause', 'seeked', 'volumechange', 'waiting', 'playing', 'ended', 'loadeddata'];
    events.forEach((e) => video.addEventListener(e, read));
    return () => {
      window.clearInterval(timer);
      events.forEach((e) => video.removeEventListener(e, read));
    };
  }, [controller]);
  return play;
}
