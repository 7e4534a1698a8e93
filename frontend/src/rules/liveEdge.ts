// The live edge: where the viewer may seek, and when start-over becomes live (docs/PRODUCT.md, J1, J2).

/** In start-over, closer than this to the live edge the player switches to live by itself. */
export const LIVE_SWITCH_SECONDS = 30;
/** Within this of the live edge the viewer counts as watching live (no "-0:04" flicker). */
export const AT_LIVE_EDGE_SECONDS = 8;

export interface Range {
  start: number;
  end: number;
}

/** A seek target kept inside what can be played: never before the start, never past live. */
export function capSeek(target: number, range: Range): number {
  if (!Number.isFinite(target)) return range.start;
  return Math.min(Math.max(target, range.start), range.end);
}

/** Whether a start-over playback should now become live. Only while playing: a paused viewer
 * near the edge stays where they paused. */
export function shouldSwitchToLive(secondsBehindLive: number, playing: boolean): boolean {
  return playing && secondsBehindLive < LIVE_SWITCH_SECONDS;
}

export function isAtLiveEdge(secondsBehindLive: number): boolean {
  return secondsBehindLive < AT_LIVE_EDGE_SECONDS;
}
