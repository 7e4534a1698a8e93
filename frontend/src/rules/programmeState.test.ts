import { describe, expect, it } from 'vitest';
import { programmeState, resumePoint, type ProgrammeFacts } from './programmeState';

const aired: ProgrammeFacts = {
  status: 'aired',
  startover_available: false,
  start_time: '2026-12-01T20:00:00Z',
  end_time: '2026-12-01T20:30:00Z',
  catchup: { available: true, reason: null, expires_at: '2026-12-04T20:30:00Z' },
  bookmark_position_seconds: null,
};
const now = new Date('2026-12-02T09:00:00Z');

describe('what a viewer can do with a programme', () => {
  it('plays an aired, available programme, or resumes it with its progress', () => {
    expect(programmeState(aired, now)).toEqual({
      kind: 'available',
      resumeAt: null,
      progress: 0,
      expiry: { text: 'Expires in 2 days', soon: false },
    });
    const partly = programmeState({ ...aired, bookmark_position_seconds: 900 }, now);
    expect(partly).toMatchObject({ kind: 'available', resumeAt: 900, progress: 0.5 });
    const finished = programmeState({ ...aired, bookmark_position_seconds: 1790 }, now);
    expect(finished).toMatchObject({ kind: 'available', resumeAt: null });
  });
  it('locks what is not available, with the reason', () => {
    const locked = (reason: string) =>
      programmeState({ ...aired, catchup: { available: false, reason, expires_at: aired.end_time } }, now);
    expect(locked('program_not_eligible')).toEqual({ kind: 'locked', reason: 'Not available on Catch-Up' });
    expect(locked('catch_up_window_expired')).toEqual({ kind: 'locked', reason: 'No longer available on Catch-Up' });
    expect(locked('not_recorded')).toEqual({ kind: 'locked', reason: 'Not available on Catch-Up: not recorded' });
  });
  it('offers live (and Start Over when allowed) on air, and nothing yet upcoming', () => {
    expect(programmeState({ ...aired, status: 'on_air', startover_available: true, catchup: null }, now)).toEqual({
      kind: 'on_air',
      startOver: true,
    });
    expect(programmeState({ ...aired, status: 'upcoming', catchup: null }, now)).toEqual({ kind: 'upcoming' });
  });
  it('resumes only a real, unfinished position', () => {
    expect(resumePoint(3, 1800)).toBeNull();
    expect(resumePoint(1812, 3600)).toBe(1812);
    expect(resumePoint(3500, 3600)).toBeNull();
    expect(resumePoint(null, 3600)).toBeNull();
  });
});
