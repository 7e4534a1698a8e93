import { describe, expect, it } from 'vitest';
import { adminPath, catchupAtPath, catchupPath, guideDayPath, parseWatchTarget, watchPath } from './routes';

const ch = '0b7e6a0e-6d7c-4c55-9f3e-111111111111';
const e = '9c1f2a3b-4d5e-4f60-8a7b-222222222222';

describe('watch addresses', () => {
  it('reads the three modes', () => {
    expect(parseWatchTarget('live', ch, undefined)).toEqual({ mode: 'live', channelId: ch, entryId: null });
    expect(parseWatchTarget('startover', ch, e)).toEqual({ mode: 'startover', channelId: ch, entryId: e });
    expect(parseWatchTarget('catchup', ch, e)?.mode).toBe('catchup');
  });
  it('refuses tampered addresses', () => {
    expect(parseWatchTarget('live', 'not-a-uuid', undefined)).toBeNull();
    expect(parseWatchTarget('catchup', ch, 'x')).toBeNull();
    expect(parseWatchTarget('catchup', ch, undefined)).toBeNull();
    expect(parseWatchTarget('live', ch, e)).toBeNull();
    expect(parseWatchTarget('vod', ch, e)).toBeNull();
  });
  it('builds the routes', () => {
    expect(watchPath('live', ch)).toBe(`/watch/live/${ch}`);
    expect(watchPath('catchup', ch, e)).toBe(`/watch/catchup/${ch}/${e}`);
  });
  it('builds a link that opens at a second', () => {
    expect(catchupAtPath(ch, e, '754')).toBe(`/watch/catchup/${ch}/${e}?t=754`);
    const r = '5d2c1b0a-1e2f-4a3b-9c4d-333333333333';
    expect(catchupAtPath(ch, e, '12', r)).toBe(`/watch/catchup/${ch}/${e}?recording=${r}&t=12`);
  });
  it('plays a recording in catch-up mode only', () => {
    const r = '5d2c1b0a-1e2f-4a3b-9c4d-333333333333';
    expect(parseWatchTarget('catchup', ch, e, r)).toEqual({ mode: 'catchup', channelId: ch, entryId: e, recordingId: r });
    expect(parseWatchTarget('startover', ch, e, r)).toBeNull();
    expect(parseWatchTarget('catchup', ch, e, 'nope')).toBeNull();
  });
});

describe('page addresses', () => {
  it('builds the guide, catch-up and console links', () => {
    expect(guideDayPath('2026-12-04')).toBe('/guide?date=2026-12-04');
    expect(catchupPath('date')).toBe('/catchup?view=date');
    expect(catchupPath('channel', ch)).toBe(`/catchup?view=channel&channel=${ch}`);
    expect(adminPath('coverage', 'archive-news')).toBe('/admin/coverage#archive-news');
    expect(adminPath('streaming')).toBe('/admin/streaming');
  });
});
