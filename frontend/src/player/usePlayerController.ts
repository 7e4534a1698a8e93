// The player wrapper for one visit of the player page: created on the video element once (every
// mode switch loads into the same one), destroyed on leaving. Problems the wrapper reports while
// playing are kept here; a new load clears them.

import { useCallback, useEffect, useState, type RefObject } from 'react';
import { bearer } from '../api/client';
import type { PlaybackProblem } from '../rules/playbackProblems';
import { PlayerController } from './playerController';

const isApiUrl = (url: string) => {
  try {
    const u = new URL(url, window.location.href);
    return u.origin === window.location.origin && u.pathname.startsWith('/api/');
  } catch {
    return false;
  }
};

export interface PlayerControllerState {
  controller: PlayerController | null;
  problem: PlaybackProblem | null;
  clearProblem: () => void;
}

export function usePlayerController(videoRef: RefObject<HTMLVideoElement | null>): PlayerControllerState {
  const [controller, setController] = useState<PlayerController | null>(null);
  const [problem, setProblem] = useState<PlaybackProblem | null>(null);

  useEffect(() => {
    const video = videoRef.current;
    if (!video) return undefined;
    let alive = true;
    let created: PlayerController | null = null;
    void PlayerController.create(video, {
      licenceUrl: `${window.location.origin}/api/v1/drm/license`,
      token: bearer,
      isApiUrl,
      onProblem: (p) => setProblem(p),
    }).then((c) => {
      created = c;
      if (alive) setController(c);
      else void c.destroy();
    });
    return () => {
      alive = false;
      if (created) void created.destroy();
    };
  }, [videoRef]);

  const clearProblem = useCallback(() => setProblem(null), []);
  return { controller, problem, clearProblem };
}
