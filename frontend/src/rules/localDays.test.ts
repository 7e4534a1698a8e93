import { describe, expect, it } from 'vitest';
import { addDays, clampDate, dayLabel, dayTabs, isDate, localDate } from './localDays';

describe('local days', () => {
  it('finds the calendar date of an instant in a zone', () => {
    const late = new Date('2026-12-02T23:30:00Z');
    expect(localDate(late, 'Europe/London')).toBe('2026-12-02');
    expect(localDate(late, 'Asia/Tokyo')).toBe('2026-12-03');
    expect(localDate(late, 'America/New_York')).toBe('2026-12-02');
  });
  it('moves by calendar days, across a daylight-saving change too', () => {
    expect(addDays('2026-03-28', 1)).toBe('2026-03-29');
    expect(addDays('2026-03-29', 1)).toBe('2026-03-30');
    expect(addDays('2026-10-25', -1)).toBe('2026-10-24');
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
  });
  it('makes the guide\'s tabs: 7 back to 7 ahead, labelled as a viewer says them', () => {
    const tabs = dayTabs('2026-03-29', 7, 7);
    expect(tabs).toHaveLength(15);
    expect(tabs[0]?.date).toBe('2026-03-22');
    expect(tabs[7]).toEqual({ date: '2026-03-29', label: 'Today' });
    expect(tabs[6]?.label).toBe('Yesterday');
    expect(tabs[8]?.label).toBe('Tomorrow');
    expect(tabs[14]?.date).toBe('2026-04-05');
    expect(dayLabel('2026-03-25', '2026-03-29')).toBe('Wed 25 Mar');
  });
  it('falls back to the nearest valid day, saying so', () => {
    expect(clampDate('2026-03-10', '2026-03-29', 7, 7)).toEqual({ date: '2026-03-22', moved: true });
    expect(clampDate('2026-04-30', '2026-03-29', 6, 0)).toEqual({ date: '2026-03-29', moved: true });
    expect(clampDate('garbage', '2026-03-29', 7, 7)).toEqual({ date: '2026-03-29', moved: true });
    expect(clampDate('2026-02-30', '2026-03-29', 7, 7)).toEqual({ date: '2026-03-29', moved: true });
    expect(clampDate(null, '2026-03-29', 7, 7)).toEqual({ date: '2026-03-29', moved: false });
    expect(clampDate('2026-03-27', '2026-03-29', 7, 7)).toEqual({ date: '2026-03-27', moved: false });
    expect(isDate('2026-13-01')).toBe(false);
  });
});
