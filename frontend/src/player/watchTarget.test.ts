import { describe, expect, it } from 'vitest';
import { manifestPath } from './watchTarget';

const ch = '0b7e6a0e-6d7c-4c55-9f3e-111111111111';
const e = '9c1f2a3b-4d5e-4f60-8a7b-222222222222';

describe('playlists of a watch target', () => {
  it('builds the manifests', () => {
    expect(manifestPath({ mode: 'startover', channelId: ch, entryId: e })).toBe(
      `/api/v1/tstv/startover/${ch}/manifest?schedule_entry_id=${e}`,
    );
    expect(manifestPath({ mode: 'live', channelId: ch, entryId: null })).toBe(`/api/v1/tstv/live/${ch}/manifest`);
  });
  it('asks for an MPD in DASH', () => {
    expect(manifestPath({ mode: 'catchup', channelId: ch, entryId: e }, 'dash')).toBe(
      `/api/v1/tstv/catchup/${ch}/manifest?format=dash&schedule_entry_id=${e}`,
    );
    expect(manifestPath({ mode: 'live', channelId: ch, entryId: null }, 'dash')).toBe(
      `/api/v1/tstv/live/${ch}/manifest?format=dash`,
    );
  });
  it("plays a recording from the recording's own manifest", () => {
    const r = '5d2c1b0a-1e2f-4a3b-9c4d-333333333333';
    expect(manifestPath({ mode: 'catchup', channelId: ch, entryId: e, recordingId: r })).toBe(
      `/api/v1/recordings/${r}/manifest`,
    );
  });
});
