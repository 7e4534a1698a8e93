import { describe, expect, it } from 'vitest';
import { addDays, localDate, matchesTitle, pickDay, scheduleDays } from './scheduleDays';

describe('scheduleDays', () => {
  const now = new Date('2026-06-02T23:30:00Z');
  it('offers 7 days back, today and 7 days ahead in the zone', () => {
    const days = scheduleDays(now, 'UTC');
    expect(days).toHaveLength(15);
    expect(days[0]).toEqual({ date: '2026-05-26', label: 'Tue 26 May', offset: -7 });
    expect(days.find((d) => d.offset === 0)).toEqual({ date: '2026-06-02', label: 'Today', offset: 0 });
    expect(days.map((d) => d.label).slice(6, 9)).toEqual(['Yesterday', 'Today', 'Tomorrow']);
    expect(days.at(-1)?.date).toBe('2026-06-09');
  });
  it('has today of the zone, not of UTC', () => {
    expect(localDate(now, 'Europe/Paris')).toBe('2026-06-03');
    expect(scheduleDays(now, 'Europe/Paris').find((d) => d.offset === 0)?.date).toBe('2026-06-03');
    expect(localDate(now, 'America/New_York')).toBe('2026-06-02');
  });
  it('adds days across months and years', () => {
    expect(addDays('2026-02-27', 2)).toBe('2026-03-01');
    expect(addDays('2026-01-02', -7)).toBe('2025-12-26');
  });
  it('picks the day asked for when offered, else today', () => {
    const days = scheduleDays(now, 'UTC');
    expect(pickDay(days, '2026-05-30')).toBe('2026-05-30');
    expect(pickDay(days, '2026-05-01')).toBe('2026-06-02');
    expect(pickDay(days, null)).toBe('2026-06-02');
    expect(pickDay([], null)).toBe('');
  });
});

describe('matchesTitle', () => {
  const p = { title: 'Northern Lights: Episode 3', series_title: 'Café Nature' };
  it('matches every word in any case or accent, title or series', () => {
    expect(matchesTitle(p, '')).toBe(true);
    expect(matchesTitle(p, '  ')).toBe(true);
    expect(matchesTitle(p, 'northern')).toBe(true);
    expect(matchesTitle(p, 'lights episode')).toBe(true);
    expect(matchesTitle(p, 'cafe')).toBe(true);
    expect(matchesTitle(p, 'CAFÉ nature')).toBe(true);
    expect(matchesTitle(p, 'southern')).toBe(false);
    expect(matchesTitle({ title: 'News' }, 'news')).toBe(true);
  });
});
