import { describe, expect, it } from 'vitest';
import { behindLive, formatClock, formatTimeRange, resumingFrom, startedAgo, startingAt } from './timeLabels';

describe('formatClock', () => {
  it('writes minutes and seconds, hours from an hour on', () => {
    expect(formatClock(0)).toBe('0:00');
    expect(formatClock(9.9)).toBe('0:09');
    expect(formatClock(30 * 60 + 12)).toBe('30:12');
    expect(formatClock(3600 + 5 * 60 + 9)).toBe('1:05:09');
  });
  it('reads nonsense as zero', () => {
    expect(formatClock(-5)).toBe('0:00');
    expect(formatClock(Number.NaN)).toBe('0:00');
    expect(formatClock(Number.POSITIVE_INFINITY)).toBe('0:00');
  });
});

describe('labels', () => {
  it('says how long ago the programme started, hours as "1 h 5 min"', () => {
    expect(startedAgo(23 * 60 + 40)).toBe('Started 23 min ago');
    expect(startedAgo(65 * 60)).toBe('Started 1 h 5 min ago');
    expect(startedAgo(120 * 60 + 30)).toBe('Started 2 h ago');
    expect(startedAgo(20)).toBe('Started less than a minute ago');
  });
  it('writes the resume toast and the distance to live', () => {
    expect(resumingFrom(30 * 60 + 12)).toBe('Resuming from 30:12');
    expect(startingAt(12 * 60 + 34)).toBe('Starting at 12:34');
    expect(behindLive(12 * 60 + 34.6)).toBe('-12:34');
  });
  it('writes programme times in the zone asked for', () => {
    const start = new Date('2026-07-01T19:00:00Z');
    const end = new Date('2026-07-01T19:30:00Z');
    expect(formatTimeRange(start, end, 'Europe/London')).toBe('20:00 – 20:30');
    expect(formatTimeRange(start, end, 'America/New_York')).toBe('15:00 – 15:30');
  });
});
