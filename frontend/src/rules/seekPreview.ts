// What the seek bar shows under the pointer (or while dragging): the instant a seek there would
// land on, and its label. Pure.

import { capSeek, isAtLiveEdge, type Range } from './liveEdge';
import { behindLive, formatClock } from './timeLabels';

export interface TrackBox {
  left: number;
  width: number;
}

/** The programme offset (seconds) under a pointer at `clientX`, kept inside what can be played. */
export function offsetAtPointer(clientX: number, box: TrackBox, duration: number, available: Range): number {
  if (box.width <= 0 || duration <= 0) return available.start;
  const fraction = Math.min(1, Math.max(0, (clientX - box.left) / box.width));
  return capSeek(fraction * duration, available);
}

/** The preview's time: "12:34" into a catch-up programme; "-12:34" behind live (or "Live") in
 * live and start-over. */
export function previewLabel(catchup: boolean, offsetSeconds: number, secondsBehindLive: number): string {
  if (catchup) return formatClock(offsetSeconds);
  return isAtLiveEdge(secondsBehindLive) ? 'Live' : behindLive(secondsBehindLive);
}

/** Where the preview box sits (percent of the track), kept inside the bar so it is never cut off. */
export function previewLeft(offset: number, duration: number, boxWidthPx: number, trackWidthPx: number): number {
  if (duration <= 0 || trackWidthPx <= 0) return 0;
  const half = Math.min(50, ((boxWidthPx / 2) * 100) / trackWidthPx);
  return Math.min(100 - half, Math.max(half, (offset / duration) * 100));
}
