import { describe, expect, it } from 'vitest';
import { activeRung, bufferAhead, choiceLabel, describeRung, formatBitrate, rungsOf, type VariantLike } from './quality';

const v = (id: number, height: number | null, bandwidth: number, active = false): VariantLike => ({
  id,
  height,
  width: height ? Math.round((height * 16) / 9) : null,
  bandwidth,
  videoBandwidth: bandwidth - 128_000,
  active,
});

describe('rungsOf', () => {
  it('lists each picture size once, best first', () => {
    const rungs = rungsOf([v(1, 360, 600_000), v(2, 720, 2_700_000), v(3, 540, 1_300_000)]);
    expect(rungs.map((r) => r.label)).toEqual(['720p', '540p', '360p']);
    expect(rungs[0]).toMatchObject({ variantId: 2, width: 1280, height: 720 });
  });

  it('leaves out audio-only variants and keeps the cheaper of two of one height', () => {
    const rungs = rungsOf([v(1, null, 128_000), v(2, 360, 900_000), v(3, 360, 600_000)]);
    expect(rungs).toHaveLength(1);
    expect(rungs[0]?.variantId).toBe(3);
  });

  it('is empty for a stream without pictures', () => {
    expect(rungsOf([])).toEqual([]);
  });
});

describe('activeRung', () => {
  it('is the rung of the active variant', () => {
    expect(activeRung([v(1, 360, 600_000), v(2, 540, 1_300_000, true)])?.label).toBe('540p');
  });
  it('is null before anything plays', () => {
    expect(activeRung([v(1, 360, 600_000)])).toBeNull();
  });
});

describe('labels', () => {
  it('formats bitrates as a viewer reads them', () => {
    expect(formatBitrate(2_534_000)).toBe('2.5 Mb/s');
    expect(formatBitrate(850_400)).toBe('850 kb/s');
    expect(formatBitrate(0)).toBe('—');
    expect(formatBitrate(Number.NaN)).toBe('—');
  });

  it('says what Auto is playing', () => {
    const r = rungsOf([v(1, 540, 1_300_000)])[0] ?? null;
    expect(choiceLabel('auto', r)).toBe('Auto (540p)');
    expect(choiceLabel('auto', null)).toBe('Auto');
    expect(choiceLabel(720, r)).toBe('720p');
    expect(describeRung(r)).toBe('540p · 960×540 · 1.3 Mb/s');
    expect(describeRung(null)).toBe('—');
  });
});

describe('bufferAhead', () => {
  it('measures the range holding the playhead only', () => {
    const ranges = [
      { start: 0, end: 10 },
      { start: 20, end: 42 },
    ];
    expect(bufferAhead(ranges, 25)).toBe(17);
    expect(bufferAhead(ranges, 15)).toBe(0);
    expect(bufferAhead([], 3)).toBe(0);
  });
});
