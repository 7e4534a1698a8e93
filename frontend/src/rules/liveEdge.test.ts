import { describe, expect, it } from 'vitest';
import { LIVE_SWITCH_SECONDS, capSeek, isAtLiveEdge, shouldSwitchToLive } from './liveEdge';

describe('capSeek', () => {
  const range = { start: 100, end: 400 };
  it('never seeks past the live edge nor before the start', () => {
    expect(capSeek(450, range)).toBe(400);
    expect(capSeek(50, range)).toBe(100);
    expect(capSeek(250, range)).toBe(250);
    expect(capSeek(Number.NaN, range)).toBe(100);
  });
});

describe('the live-edge switch', () => {
  it('switches start-over to live within 30 s of the edge while playing', () => {
    expect(LIVE_SWITCH_SECONDS).toBe(30);
    expect(shouldSwitchToLive(29.9, true)).toBe(true);
    expect(shouldSwitchToLive(30, true)).toBe(false);
    expect(shouldSwitchToLive(300, true)).toBe(false);
  });
  it('leaves a paused viewer where they paused', () => {
    expect(shouldSwitchToLive(5, false)).toBe(false);
  });
  it('counts a few seconds behind as live', () => {
    expect(isAtLiveEdge(2)).toBe(true);
    expect(isAtLiveEdge(20)).toBe(false);
  });
});
