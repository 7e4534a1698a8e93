import { describe, expect, it } from 'vitest';
import { countdownSeconds, isOfferable, nextProgramme, upNextLine, upNextPhase, type ScheduleItem } from './upNext';

const at = (min: number) => new Date(Date.UTC(2026, 11, 5, 20, min)).toISOString();
const item = (id: string, from: number, to: number, available?: boolean): ScheduleItem => ({
  id,
  title: `Show ${id}`,
  start_time: at(from),
  end_time: at(to),
  catchup: available === undefined ? null : { available },
});

describe('the next programme', () => {
  const [a, b, c, d] = [item('a', 0, 30, true), item('b', 30, 60, true), item('c', 60, 90), item('d', 95, 120)];
  const day = [a, b, c, d];
  it('is the one airing at the end of the current one', () => {
    expect(nextProgramme(day, a)?.id).toBe('b');
    expect(nextProgramme([...day].reverse(), b)?.id).toBe('c');
  });
  it('is the next one after a gap in the schedule, and none after the last', () => {
    expect(nextProgramme(day, c)?.id).toBe('d');
    expect(nextProgramme(day, d)).toBeNull();
    expect(nextProgramme([], a)).toBeNull();
  });
  it('is offered only when catch-up plays it now', () => {
    expect(isOfferable(b)).toBe(true);
    expect(isOfferable(c)).toBe(false); // not aired yet: no catch-up state
    expect(isOfferable(item('x', 0, 1, false))).toBe(false); // locked or expired
    expect(isOfferable(null)).toBe(false);
  });
});

describe('the card', () => {
  const phase = (remainingSeconds: number, ended = false, cancelled = false) =>
    upNextPhase({ remainingSeconds, ended, cancelled });
  it('shows in the last 10 s and goes at the end', () => {
    expect(phase(30)).toBe('hidden');
    expect(phase(10.2)).toBe('hidden');
    expect(phase(10)).toBe('counting');
    expect(phase(0.6)).toBe('counting');
    expect(phase(0.4)).toBe('go');
    expect(phase(-2)).toBe('go');
  });
  it('goes when the playlist ended short of the programme end', () => {
    expect(phase(3, true)).toBe('go');
    expect(phase(600, true)).toBe('hidden'); // still the previous programme's ended video
  });
  it('never shows once cancelled, and takes another lead', () => {
    expect(phase(5, false, true)).toBe('hidden');
    expect(phase(0, true, true)).toBe('hidden');
    expect(upNextPhase({ remainingSeconds: 25, ended: false, cancelled: false, leadSeconds: 30 })).toBe('counting');
    expect(phase(Number.NaN)).toBe('hidden');
  });
  it('counts whole seconds and says so', () => {
    expect(countdownSeconds(7.2)).toBe(8);
    expect(countdownSeconds(8)).toBe(8);
    expect(countdownSeconds(0.01)).toBe(1);
    expect(countdownSeconds(-1)).toBe(0);
    expect(countdownSeconds(Number.NaN)).toBe(0);
    expect(upNextLine('Quiz Circuit', 8)).toBe('Up next: Quiz Circuit in 8 s');
  });
});
