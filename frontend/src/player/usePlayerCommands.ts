// What the viewer can do to the playback (buttons and keys): stable callbacks over the wrapper.

import { useCallback, type RefObject } from 'react';
import type { PlayerController, Thumbnail } from './playerController';

export interface PlayerCommands {
  togglePlay: () => void;
  toggleMute: () => void;
  toggleFullscreen: () => void;
  seekBy: (seconds: number) => void;
  seekTo: (at: Date) => void;
  thumbnailAt: (at: Date) => Promise<Thumbnail | null>;
}

/** `container` is what goes full screen: the video with its controls. */
export function usePlayerCommands(controller: PlayerController | null, container: RefObject<HTMLElement | null>): PlayerCommands {
  const togglePlay = useCallback(() => controller?.togglePlay(), [controller]);
  const toggleMute = useCallback(() => controller?.toggleMute(), [controller]);
  const toggleFullscreen = useCallback(() => {
    const el = container.current;
    if (!el) return;
    if (document.fullscreenElement) void document.exitFullscreen();
    else void el.requestFullscreen().catch(() => undefined);
  }, [container]);
  const seekBy = useCallback((s: number) => controller?.seekBy(s), [controller]);
  const seekTo = useCallback((at: Date) => controller?.seekTo(at), [controller]);
  const thumbnailAt = useCallback(
    (at: Date) => (controller ? controller.thumbnailAt(at) : Promise.resolve(null)),
    [controller],
  );
  return { togglePlay, toggleMute, toggleFullscreen, seekBy, seekTo, thumbnailAt };
}
