import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { expiryPhrase, timeLeft } from './expiry';

describe('expiry phrases', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-12-02T09:00:00Z'));
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  const at = (iso: string) => new Date(iso);

  it('counts days beyond 24 h, not highlighted', () => {
    expect(expiryPhrase(at('2026-12-05T10:00:00Z'), new Date())).toEqual({ text: 'Expires in 3 days', soon: false });
    expect(expiryPhrase(at('2026-12-03T10:00:00Z'), new Date())).toEqual({ text: 'Expires in 1 day', soon: false });
  });
  it('highlights the last 24 h: hours, "today" later the same local day, minutes at the end', () => {
    expect(expiryPhrase(at('2026-12-02T14:00:00Z'), new Date(), 'Europe/London')).toEqual({
      text: 'Expires in 5 h',
      soon: true,
    });
    expect(expiryPhrase(at('2026-12-02T22:30:00Z'), new Date(), 'Europe/London')).toEqual({
      text: 'Expires today',
      soon: true,
    });
    // 22 h on: tomorrow in London, so hours rather than "today".
    expect(expiryPhrase(at('2026-12-03T07:00:00Z'), new Date(), 'Europe/London').text).toBe('Expires in 22 h');
    expect(expiryPhrase(at('2026-12-02T09:40:00Z'), new Date()).text).toBe('Expires in 40 min');
    expect(expiryPhrase(at('2026-12-02T08:59:00Z'), new Date())).toEqual({ text: 'Expired', soon: true });
  });
  it('decides "today" in the viewer\'s zone', () => {
    // 21:30 UTC is still 2 Dec in New York (16:30) and already 3 Dec in Tokyo.
    const expires = at('2026-12-02T21:30:00Z');
    expect(expiryPhrase(expires, new Date(), 'America/New_York').text).toBe('Expires today');
    expect(expiryPhrase(expires, new Date(), 'Asia/Tokyo').text).toBe('Expires in 12 h');
  });
});

describe('time left', () => {
  it('says what is left of a partly watched programme', () => {
    expect(timeLeft(7 * 60, 30 * 60)).toBe('23 min left');
    expect(timeLeft(0, 90 * 60)).toBe('1 h 30 min left');
    expect(timeLeft(0, 120 * 60)).toBe('2 h left');
    expect(timeLeft(1795, 1800)).toBe('Less than a minute left');
    expect(timeLeft(2000, 1800)).toBe('Less than a minute left');
  });
});
