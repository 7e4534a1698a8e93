import { describe, expect, it } from 'vitest';
import { playbackTokenOf, withPlaybackToken } from './playbackToken';

describe('the playback token', () => {
  it('is read from a media playlist URL, absolute or relative', () => {
    const media = 'http://localhost:8000/api/v1/tstv/catchup/c/manifest/video.m3u8?pb=a.b-c_d&schedule_entry_id=e';
    expect(playbackTokenOf(media)).toBe('a.b-c_d');
    expect(playbackTokenOf('manifest/audio.m3u8?schedule_entry_id=e&pb=t')).toBe('t');
  });
  it('is absent from a master URL', () => {
    expect(playbackTokenOf('http://localhost:8000/api/v1/tstv/live/c/manifest')).toBeNull();
    expect(playbackTokenOf('http://localhost:8000/x?pb=')).toBeNull();
  });
  it('is added to the licence URL, replacing an older one', () => {
    const licence = 'http://localhost:8000/api/v1/drm/license';
    expect(withPlaybackToken(licence, 'a.b')).toBe(`${licence}?pb=a.b`);
    expect(withPlaybackToken(`${licence}?pb=old`, 'new')).toBe(`${licence}?pb=new`);
  });
});
