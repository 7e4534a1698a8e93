import { describe, expect, it } from 'vitest';
import { startOverExit, type StartOverState } from './startOverHandoff';

const t = (min: number) => new Date(Date.UTC(2026, 0, 1, 20, 0) + min * 60_000);

const base: StartOverState = {
  nowMs: t(30).getTime(),
  loadedForMs: 5000,
  programmeEnd: t(60),
  playhead: t(10),
  edge: t(30),
  playing: true,
  liveWindowMs: 2 * 3600_000,
};

describe('where a start-over goes next', () => {
  it('stays while behind the edge and on air', () => {
    expect(startOverExit(base)).toBeNull();
  });
  it('waits for its own playlist to settle', () => {
    expect(startOverExit({ ...base, loadedForMs: 500, playhead: new Date(base.edge.getTime() - 5000) })).toBeNull();
  });
  it('becomes live near the edge while playing, not while paused', () => {
    const near = new Date(base.edge.getTime() - 10_000);
    expect(startOverExit({ ...base, playhead: near })).toEqual({ to: 'live', at: near });
    expect(startOverExit({ ...base, playhead: near, playing: false })).toBeNull();
  });
  it('carries on in live, or in catch-up beyond the live window, once the programme has ended', () => {
    const ended = { ...base, nowMs: t(61).getTime(), edge: t(61) };
    expect(startOverExit(ended)).toEqual({ to: 'live', at: base.playhead });
    expect(startOverExit({ ...ended, liveWindowMs: 30 * 60_000 })).toEqual({ to: 'catchup', at: base.playhead });
    // A paused viewer still leaves the closed programme.
    expect(startOverExit({ ...ended, playing: false })?.to).toBe('live');
  });
});
