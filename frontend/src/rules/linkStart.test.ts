import { describe, expect, it } from 'vitest';
import { parseStartTime, startFromLink, startParam } from './linkStart';

describe("a link's start time", () => {
  it('reads seconds, units and clocks', () => {
    expect(parseStartTime('754')).toBe(754);
    expect(parseStartTime('0')).toBe(0);
    expect(parseStartTime('12m34s')).toBe(754);
    expect(parseStartTime('12M34S')).toBe(754);
    expect(parseStartTime('1h2m3s')).toBe(3723);
    expect(parseStartTime('45s')).toBe(45);
    expect(parseStartTime('2m')).toBe(120);
    expect(parseStartTime('12:34')).toBe(754);
    expect(parseStartTime('1:02:03')).toBe(3723);
  });
  it('refuses anything else', () => {
    for (const bad of ['', 'abc', '-5', '1.5', '12:75', 'm', 's1', '1e3', '99999999', '12m 34s']) {
      expect(parseStartTime(bad), bad).toBeNull();
    }
  });
  it('starts inside the programme, and otherwise plays as usual with a note', () => {
    expect(startFromLink('754', 1800)).toEqual({ seconds: 754, note: null });
    expect(startFromLink(null, 1800)).toEqual({ seconds: null, note: null });
    expect(startFromLink('', 1800)).toEqual({ seconds: null, note: null });
    const bad = startFromLink('soon', 1800);
    expect(bad.seconds).toBeNull();
    expect(bad.note).toMatch(/not understood/);
    const late = startFromLink('40m', 1800);
    expect(late.seconds).toBeNull();
    expect(late.note).toBe('The link starts at 40:00, after the programme’s end, so it plays as usual.');
  });
  it('is written as whole seconds', () => {
    expect(startParam(754.9)).toBe('754');
    expect(startParam(-3)).toBe('0');
    expect(startParam(Number.NaN)).toBe('0');
  });
});
