import { describe, expect, it } from 'vitest';
import { bridgeHoles, holeAt, holeLabel, mergeHoles } from './archiveHoles';

const playlist = (body: string) =>
  ['#EXTM3U', '#EXT-X-VERSION:7', '#EXT-X-TARGETDURATION:6', '#EXT-X-PLAYLIST-TYPE:VOD', body, '#EXT-X-ENDLIST'].join(
    '\n',
  );

// Two runs 12 s apart: a segment of the first run, a hole, a segment of the second.
const WITH_HOLE = playlist(
  [
    '#EXT-X-MAP:URI="a/init.mp4"',
    '#EXT-X-PROGRAM-DATE-TIME:2026-12-05T03:19:18.000Z',
    '#EXTINF:6.000000,',
    'a/1.m4s',
    '#EXT-X-DISCONTINUITY',
    '#EXT-X-MAP:URI="b/init.mp4"',
    '#EXT-X-PROGRAM-DATE-TIME:2026-12-05T03:19:36.000Z',
    '#EXTINF:6.000000,',
    'b/1.m4s',
  ].join('\n'),
);

describe('bridgeHoles', () => {
  it('finds a hole and lengthens the segment before it over the hole', () => {
    const { text, holes } = bridgeHoles(WITH_HOLE);
    expect(holes).toEqual([
      { start: new Date('2026-12-05T03:19:24.000Z'), end: new Date('2026-12-05T03:19:36.000Z') },
    ]);
    const extinfs = text.split('\n').filter((l) => l.startsWith('#EXTINF:'));
    expect(extinfs).toEqual(['#EXTINF:18.000000,', '#EXTINF:6.000000,']);
    // Everything else is as it was: dates, discontinuities, URIs.
    expect(text.replace('#EXTINF:18.000000,', '#EXTINF:6.000000,')).toBe(WITH_HOLE);
  });

  it('leaves a playlist without holes as it was, a restart that lost nothing included', () => {
    const restart = playlist(
      [
        '#EXT-X-PROGRAM-DATE-TIME:2026-12-05T03:19:18.000Z',
        '#EXTINF:5.994667,',
        'a/1.m4s',
        '#EXTINF:6.005333,',
        'a/2.m4s',
        '#EXT-X-DISCONTINUITY',
        '#EXT-X-PROGRAM-DATE-TIME:2026-12-05T03:19:30.000Z',
        '#EXTINF:6.000000,',
        'b/1.m4s',
      ].join('\n'),
    );
    expect(bridgeHoles(restart)).toEqual({ text: restart, holes: [] });
  });

  it('ignores a date a little late (rounding) or early (an overlap)', () => {
    const late = WITH_HOLE.replace('03:19:36.000Z', '03:19:24.400Z');
    expect(bridgeHoles(late).holes).toEqual([]);
    const early = WITH_HOLE.replace('03:19:36.000Z', '03:19:20.000Z');
    expect(bridgeHoles(early)).toEqual({ text: early, holes: [] });
  });

  it('names the holes of a live or growing playlist but leaves it as it was', () => {
    const live = WITH_HOLE.replace('\n#EXT-X-ENDLIST', '').replace('#EXT-X-PLAYLIST-TYPE:VOD', '#EXT-X-PLAYLIST-TYPE:EVENT');
    const { text, holes } = bridgeHoles(live);
    expect(text).toBe(live);
    expect(holes).toHaveLength(1);
  });

  it('passes a master playlist through', () => {
    const master = '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=500000\nvideo.m3u8\n';
    expect(bridgeHoles(master)).toEqual({ text: master, holes: [] });
  });

  it('keeps the segment title after the duration', () => {
    const titled = WITH_HOLE.replace('#EXTINF:6.000000,\na/1.m4s', '#EXTINF:6.000000,News\na/1.m4s');
    expect(bridgeHoles(titled).text).toContain('#EXTINF:18.000000,News\na/1.m4s');
  });
});

describe('mergeHoles', () => {
  it('merges the same hole seen in video and audio, keeps separate holes apart', () => {
    const at = (s: string) => new Date(`2026-12-05T${s}Z`);
    const video = [
      { start: at('03:19:24'), end: at('03:19:36') },
      { start: at('04:00:00'), end: at('04:10:00') },
    ];
    const audio = [{ start: at('03:19:23.995'), end: at('03:19:36') }];
    expect(mergeHoles([video, audio])).toEqual([
      { start: at('03:19:23.995'), end: at('03:19:36') },
      { start: at('04:00:00'), end: at('04:10:00') },
    ]);
  });
});

describe('holeLabel and holeAt', () => {
  const hole = { start: new Date('2026-12-05T15:27:00Z'), end: new Date('2026-12-05T15:54:00Z') };

  it('says when nothing was recorded, with seconds for a hole inside one minute', () => {
    expect(holeLabel(hole, 'UTC')).toBe('Not recorded 15:27 – 15:54');
    const short = { start: new Date('2026-12-05T03:19:24Z'), end: new Date('2026-12-05T03:19:36Z') };
    expect(holeLabel(short, 'UTC')).toBe('Not recorded 03:19:24 – 03:19:36');
  });

  it('finds the hole an instant falls in', () => {
    expect(holeAt([hole], new Date('2026-12-05T15:30:00Z'))).toBe(hole);
    expect(holeAt([hole], new Date('2026-12-05T15:54:00Z'))).toBeNull();
  });
});
