import { describe, expect, it } from 'vitest';
import { manifestPath, parseWatchTarget, watchPath } from './watchTarget';

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
  it('builds the routes and manifests', () => {
    expect(watchPath('live', ch)).toBe(`/watch/live/${ch}`);
    expect(watchPath('catchup', ch, e)).toBe(`/watch/catchup/${ch}/${e}`);
    expect(manifestPath({ mode: 'startover', channelId: ch, entryId: e })).toBe(
      `/api/v1/tstv/startover/${ch}/manifest?schedule_entry_id=${e}`,
    );
    expect(manifestPath({ mode: 'live', channelId: ch, entryId: null })).toBe(`/api/v1/tstv/live/${ch}/manifest`);
  });
  it('plays a recording in catch-up mode only', () => {
    const r = '5d2c1b0a-1e2f-4a3b-9c4d-333333333333';
    const target = parseWatchTarget('catchup', ch, e, r);
    expect(target).toEqual({ mode: 'catchup', channelId: ch, entryId: e, recordingId: r });
    expect(target && manifestPath(target)).toBe(`/api/v1/recordings/${r}/manifest`);
    expect(parseWatchTarget('startover', ch, e, r)).toBeNull();
    expect(parseWatchTarget('catchup', ch, e, 'nope')).toBeNull();
  });
});
