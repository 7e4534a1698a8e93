import { describe, expect, it } from 'vitest';
import {
  MIN_GAP_PX,
  axisTicks,
  gapKind,
  keyMarks,
  layoutBars,
  placeSpan,
  recordedSecondsIn,
  spanOf,
  viewAxis,
  viewerWindowMark,
  xOf,
  zoomChoices,
  type Axis,
} from './coverageGeometry';

const H = 3_600_000;
const NOW = Date.parse('2026-06-08T12:00:00Z');
const WEEK: Axis = { start: NOW - 168 * H, end: NOW, width: 1000 };

describe('xOf', () => {
  it('maps the window onto the width, clamped', () => {
    expect(xOf(WEEK, WEEK.start)).toBe(0);
    expect(xOf(WEEK, WEEK.end)).toBe(1000);
    expect(xOf(WEEK, NOW - 84 * H)).toBeCloseTo(500);
    expect(xOf(WEEK, WEEK.start - H)).toBe(0);
    expect(xOf(WEEK, WEEK.end + H)).toBe(1000);
  });
  it('never divides by zero', () => {
    expect(xOf({ start: NOW, end: NOW, width: 100 }, NOW)).toBe(0);
    expect(xOf({ ...WEEK, width: 0 }, NOW)).toBe(0);
  });
});

describe('placeSpan', () => {
  it('draws a long range to scale', () => {
    const bar = placeSpan(WEEK, { start: NOW - 84 * H, end: NOW - 42 * H });
    expect(bar?.x).toBeCloseTo(500);
    expect(bar?.width).toBeCloseTo(250);
    expect(bar?.widened).toBe(false);
  });
  it('widens a 2-minute outage from yesterday to the minimum, centred where it happened', () => {
    const start = NOW - 24 * H;
    const bar = placeSpan(WEEK, { start, end: start + 120_000 }, MIN_GAP_PX);
    expect(bar).not.toBeNull();
    expect(bar?.width).toBe(MIN_GAP_PX);
    expect(bar?.widened).toBe(true);
    const middle = xOf(WEEK, start + 60_000);
    expect((bar?.x ?? 0) + MIN_GAP_PX / 2).toBeCloseTo(middle);
    // Yesterday is at 6/7 of the axis.
    expect(bar?.x).toBeGreaterThan(850);
    expect(bar?.x).toBeLessThan(860);
  });
  it('keeps a widened range inside the axis at both ends', () => {
    const atEnd = placeSpan(WEEK, { start: NOW - 6_000, end: NOW }, 3);
    expect(atEnd?.x).toBe(997);
    expect(atEnd?.width).toBe(3);
    const atStart = placeSpan(WEEK, { start: WEEK.start, end: WEEK.start + 6_000 }, 3);
    expect(atStart?.x).toBe(0);
  });
  it('cuts a range to the axis, and leaves out one outside it or empty', () => {
    const cut = placeSpan(WEEK, { start: WEEK.start - 10 * H, end: WEEK.start + 16.8 * H });
    expect(cut?.x).toBe(0);
    expect(cut?.width).toBeCloseTo(100);
    expect(cut?.start).toBe(WEEK.start);
    expect(placeSpan(WEEK, { start: NOW + H, end: NOW + 2 * H })).toBeNull();
    expect(placeSpan(WEEK, { start: NOW - H, end: NOW - H })).toBeNull();
    expect(placeSpan({ ...WEEK, width: 0 }, { start: NOW - H, end: NOW })).toBeNull();
  });
  it('never makes the minimum wider than the axis', () => {
    const tiny: Axis = { start: 0, end: 1000, width: 2 };
    expect(placeSpan(tiny, { start: 10, end: 11 }, 3)?.width).toBe(2);
  });
});

describe('layoutBars', () => {
  it('orders ranges in time and drops those outside the view', () => {
    const bars = layoutBars(
      WEEK,
      [
        { start: NOW - 2 * H, end: NOW - H },
        { start: NOW - 200 * H, end: NOW - 190 * H },
        { start: NOW - 100 * H, end: NOW - 90 * H },
      ],
      2,
    );
    expect(bars.map((b) => b.start)).toEqual([NOW - 100 * H, NOW - 2 * H]);
  });
});

describe('viewerWindowMark', () => {
  it('marks where the viewer window starts inside the retention window', () => {
    const mark = viewerWindowMark(WEEK, NOW - 48 * H);
    expect(mark.kind).toBe('starts');
    if (mark.kind === 'starts') expect(mark.x).toBeCloseTo((120 / 168) * 1000);
  });
  it('says when the whole view is inside it', () => {
    expect(viewerWindowMark(WEEK, WEEK.start)).toEqual({ kind: 'all' });
    expect(viewerWindowMark(viewAxis(WEEK, 1, 1000), NOW - 48 * H)).toEqual({ kind: 'all' });
    expect(viewerWindowMark(WEEK, NOW + 1)).toEqual({ kind: 'none' });
  });
});

describe('keyMarks', () => {
  it('places key changes in the view and leaves out older ones', () => {
    const changes = [
      { at: new Date(NOW - 200 * H).toISOString(), key_id: 'a' },
      { at: new Date(NOW - 84 * H).toISOString(), key_id: 'b' },
    ];
    const marks = keyMarks(WEEK, changes);
    expect(marks).toHaveLength(1);
    expect(marks[0]?.change.key_id).toBe('b');
    expect(marks[0]?.x).toBeCloseTo(500);
  });
});

describe('gapKind', () => {
  const window = { start: WEEK.start, end: WEEK.end };
  it('tells an outage from the start of the archive and from a stopped encoder', () => {
    expect(gapKind({ start: WEEK.start, end: NOW - 100 * H }, window)).toBe('before');
    expect(gapKind({ start: NOW - 24 * H, end: NOW - 24 * H + 120_000 }, window)).toBe('outage');
    expect(gapKind({ start: NOW - 60_000, end: NOW - 400 }, window)).toBe('stopped');
  });
});

describe('views', () => {
  it('offers the whole window and the shorter views', () => {
    expect(zoomChoices(168)).toEqual([168, 24, 6, 1, 0.25]);
    expect(zoomChoices(24)).toEqual([24, 6, 1, 0.25]);
    expect(zoomChoices(2)).toEqual([2, 1, 0.25]);
  });
  it('shows the last hours of the window, never more than the window', () => {
    const hour = viewAxis(WEEK, 1, 800);
    expect(hour).toEqual({ start: NOW - H, end: NOW, width: 800 });
    expect(viewAxis(WEEK, 500, 800).start).toBe(WEEK.start);
  });
  it('counts what is recorded inside the view', () => {
    const recorded = [
      { start: NOW - 3 * H, end: NOW - 0.5 * H },
      { start: NOW - 0.25 * H, end: NOW },
    ];
    expect(recordedSecondsIn(viewAxis(WEEK, 1, 800), recorded)).toBe(0.75 * 3600);
  });
  it('reads API ranges', () => {
    expect(spanOf({ start: '2026-06-08T11:00:00Z', end: '2026-06-08T12:00:00Z' })).toEqual({
      start: NOW - H,
      end: NOW,
    });
  });
});

describe('axisTicks', () => {
  const utc = () => 0;
  it('puts day ticks at midnight on a 7-day view', () => {
    const ticks = axisTicks(WEEK, utc, 90);
    expect(ticks.length).toBe(7);
    expect(ticks.every((t) => t.midnight)).toBe(true);
    expect(new Date(ticks[0]?.t ?? 0).toISOString()).toBe('2026-06-02T00:00:00.000Z');
  });
  it('follows the local zone', () => {
    const london = () => H; // BST
    const ticks = axisTicks(WEEK, london, 90);
    expect(new Date(ticks[0]?.t ?? 0).toISOString()).toBe('2026-06-01T23:00:00.000Z');
  });
  it('uses round steps on short views, no closer than the spacing', () => {
    const hour = viewAxis(WEEK, 1, 800);
    const ticks = axisTicks(hour, utc, 70);
    expect(ticks.length).toBeLessThanOrEqual(800 / 70);
    const step = (ticks[1]?.t ?? 0) - (ticks[0]?.t ?? 0);
    expect(step).toBe(15 * 60_000);
    expect(ticks.map((t) => new Date(t.t).toISOString().slice(11, 16))).toEqual(['11:00', '11:15', '11:30', '11:45', '12:00']);
    expect(ticks.at(-1)?.midnight).toBe(false);
  });
  it('has no ticks without a width', () => {
    expect(axisTicks({ ...WEEK, width: 0 }, utc)).toEqual([]);
  });
});
