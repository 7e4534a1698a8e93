import { describe, expect, it } from 'vitest';
import { airedFraction, durationSeconds, minutesLeft, offsetInProgramme, spanOf } from './programmeProgress';

const span = spanOf({ start_time: '2026-12-01T20:00:00Z', end_time: '2026-12-01T20:30:00Z' });

describe('programme progress', () => {
  it('measures the programme', () => {
    expect(durationSeconds(span)).toBe(1800);
    expect(airedFraction(span, new Date('2026-12-01T20:15:00Z'))).toBe(0.5);
    expect(airedFraction(span, new Date('2026-12-01T19:00:00Z'))).toBe(0);
    expect(airedFraction(span, new Date('2026-12-01T21:00:00Z'))).toBe(1);
  });
  it('places an instant inside the programme', () => {
    expect(offsetInProgramme(span, new Date('2026-12-01T20:10:30Z'))).toBe(630);
    expect(offsetInProgramme(span, new Date('2026-12-01T21:10:30Z'))).toBe(1800);
    expect(offsetInProgramme(span, new Date('2026-12-01T19:10:30Z'))).toBe(0);
  });
  it('says how long is left', () => {
    expect(minutesLeft(span, new Date('2026-12-01T20:17:30Z'))).toBe('13 min left');
    expect(minutesLeft(span, new Date('2026-12-01T20:29:30Z'))).toBe('Ends in less than a minute');
  });
});
