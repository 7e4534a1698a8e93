import { describe, expect, it } from 'vitest';
import { dayWidth, hourMarks, nowLine, place } from './guideLayout';

const px = 1; // one pixel a minute keeps the numbers readable

describe('guide layout across daylight-saving changes', () => {
  it('London spring forward: a 23-hour day, 01:00 never shown', () => {
    const start = new Date('2026-03-29T00:00:00Z'); // local midnight (GMT)
    const end = new Date('2026-03-29T23:00:00Z'); // next local midnight (BST)
    expect(dayWidth(start, end, px)).toBe(23 * 60);
    const marks = hourMarks(start, end, 'Europe/London', px);
    expect(marks).toHaveLength(23);
    expect(marks.slice(0, 3).map((m) => m.label)).toEqual(['00:00', '02:00', '03:00']);
    expect(marks[2]?.left).toBe(120);
    // A programme at 03:00-03:30 local (02:00Z) sits two real hours in.
    expect(place(new Date('2026-03-29T02:00:00Z'), new Date('2026-03-29T02:30:00Z'), start, end, px)).toEqual({
      left: 120,
      width: 30,
    });
  });
  it('London fall back: a 25-hour day, 01:00 twice', () => {
    const start = new Date('2026-10-24T23:00:00Z');
    const end = new Date('2026-10-26T00:00:00Z');
    expect(dayWidth(start, end, px)).toBe(25 * 60);
    const labels = hourMarks(start, end, 'Europe/London', px).map((m) => m.label);
    expect(labels).toHaveLength(25);
    expect(labels.slice(0, 4)).toEqual(['00:00', '01:00', '01:00', '02:00']);
  });
  it('New York spring forward', () => {
    const start = new Date('2026-03-08T05:00:00Z');
    const end = new Date('2026-03-09T04:00:00Z');
    const labels = hourMarks(start, end, 'America/New_York', px).map((m) => m.label);
    expect(labels).toHaveLength(23);
    expect(labels.slice(0, 4)).toEqual(['00:00', '01:00', '03:00', '04:00']);
    // The now line at 09:30 local (13:30Z) is 8.5 real hours in.
    expect(nowLine(new Date('2026-03-08T13:30:00Z'), start, end, px)).toBe(8.5 * 60);
    expect(nowLine(new Date('2026-03-09T05:00:00Z'), start, end, px)).toBeNull();
  });
  it('cuts a programme that began the day before at the left edge', () => {
    const start = new Date('2026-12-02T00:00:00Z');
    const end = new Date('2026-12-03T00:00:00Z');
    expect(place(new Date('2026-12-01T23:50:00Z'), new Date('2026-12-02T00:20:00Z'), start, end, px)).toEqual({
      left: 0,
      width: 20,
    });
    expect(place(new Date('2026-12-02T23:50:00Z'), new Date('2026-12-03T00:20:00Z'), start, end, px).width).toBe(10);
  });
});
