// Geometry of the archive coverage timeline: time ranges onto a horizontal axis of a given width in
// pixels. Pure (times in ms since the epoch, sizes in px), so the drawing is tested without a DOM.
//
// A 2-minute outage on a 7-day axis 1,000 px wide is 0.2 px: drawn to scale it would vanish. Every
// range is therefore drawn at least `minWidth` wide (centred on where it really is, kept inside the
// axis), and the console offers shorter views (24 h, 6 h, 1 h) to read a gap at its real size.

export interface Span {
  start: number;
  end: number;
}

export interface Axis extends Span {
  width: number;
}

/** A range as drawn: `x` and `width` in px; `widened` when it was drawn wider than to scale. */
export interface Bar extends Span {
  x: number;
  width: number;
  widened: boolean;
}

/** Narrowest a gap is drawn (px): an outage of seconds stays visible on a 7-day axis. */
export const MIN_GAP_PX = 3;
/** Narrowest a recorded range is drawn (px): a fresh archive of minutes shows too. */
export const MIN_RECORDED_PX = 2;

/** Gaps at the ends of the window closer than this to the edge still count as touching it (ms). */
const EDGE_MS = 1_000;

export function spanOf(range: { start: string; end: string }): Span {
  return { start: Date.parse(range.start), end: Date.parse(range.end) };
}

/** Where instant `t` falls on the axis, clamped to [0, width]. */
export function xOf(axis: Axis, t: number): number {
  const duration = axis.end - axis.start;
  if (!(duration > 0) || !(axis.width > 0)) return 0;
  const x = ((t - axis.start) / duration) * axis.width;
  return Math.min(axis.width, Math.max(0, x));
}

/** One range on the axis, cut to it; null when it lies outside or is empty. */
export function placeSpan(axis: Axis, span: Span, minWidth = 0): Bar | null {
  const start = Math.max(span.start, axis.start);
  const end = Math.min(span.end, axis.end);
  if (!(end > start) || !(axis.width > 0)) return null;
  const left = xOf(axis, start);
  const natural = xOf(axis, end) - left;
  const min = Math.min(minWidth, axis.width);
  if (natural >= min) return { start, end, x: left, width: natural, widened: false };
  // Too narrow to see: widen around its middle, then slide it back inside the axis.
  const middle = left + natural / 2;
  const x = Math.min(axis.width - min, Math.max(0, middle - min / 2));
  return { start, end, x, width: min, widened: true };
}

/** Every range of a list on the axis (those outside it left out), in time order. */
export function layoutBars(axis: Axis, spans: readonly Span[], minWidth = 0): Bar[] {
  return [...spans]
    .sort((a, b) => a.start - b.start)
    .map((s) => placeSpan(axis, s, minWidth))
    .filter((b): b is Bar => b !== null);
}

export type ViewerWindowMark =
  /** The viewer window starts inside the view: mark it at `x`. */
  | { kind: 'starts'; x: number }
  /** The whole view is inside the viewer window. */
  | { kind: 'all' }
  /** The view ends before the viewer window starts (cannot happen with views ending now). */
  | { kind: 'none' };

/** Where the viewer window (from `start` to the end of the view) begins on the axis. */
export function viewerWindowMark(axis: Axis, start: number): ViewerWindowMark {
  if (start <= axis.start) return { kind: 'all' };
  if (start >= axis.end) return { kind: 'none' };
  return { kind: 'starts', x: xOf(axis, start) };
}

/** Key changes inside the view, with their x. */
export function keyMarks<T extends { at: string }>(axis: Axis, changes: readonly T[]): { change: T; x: number }[] {
  return changes
    .map((change) => ({ change, t: Date.parse(change.at) }))
    .filter(({ t }) => t >= axis.start && t <= axis.end)
    .map(({ change, t }) => ({ change, x: xOf(axis, t) }));
}

export type GapKind =
  /** Before anything was recorded in the window (a channel started recently, or retention). */
  | 'before'
  /** The encoder is not recording now (stopped or down): the gap runs to the live edge. */
  | 'stopped'
  /** An outage between two recorded stretches. */
  | 'outage';

export function gapKind(gap: Span, window: Span): GapKind {
  if (gap.start <= window.start + EDGE_MS) return 'before';
  if (gap.end >= window.end - EDGE_MS) return 'stopped';
  return 'outage';
}

/** The views an operator can pick, in hours: the whole retention window first, then the shorter
 *  ones that are shorter than it. */
export function zoomChoices(retentionHours: number): number[] {
  const shorter = [24, 6, 1, 0.25].filter((h) => h < retentionHours);
  return [retentionHours, ...shorter];
}

/** The axis of a view of the last `hours` of `window` (the whole window when it is shorter). */
export function viewAxis(window: Span, hours: number, width: number): Axis {
  const start = Math.max(window.start, window.end - hours * 3_600_000);
  return { start, end: window.end, width: Math.max(0, width) };
}

/** Seconds recorded inside the axis (ranges cut to it). */
export function recordedSecondsIn(axis: Span, recorded: readonly Span[]): number {
  let ms = 0;
  for (const r of recorded) ms += Math.max(0, Math.min(r.end, axis.end) - Math.max(r.start, axis.start));
  return ms / 1000;
}

export interface Tick {
  t: number;
  x: number;
  /** The tick is at a local midnight (label it with the day). */
  midnight: boolean;
}

const STEPS_MS = [1, 5, 15, 30, 60, 180, 360, 720, 1440].map((m) => m * 60_000);

/** Ticks at round local times (every 15 min, 1 h, 6 h, a day...) at least `minSpacing` px apart.
 *  `offsetOf(t)` is the local zone's offset from UTC at `t` in ms (east positive). */
export function axisTicks(axis: Axis, offsetOf: (t: number) => number = localOffset, minSpacing = 90): Tick[] {
  const duration = axis.end - axis.start;
  if (!(duration > 0) || !(axis.width > 0)) return [];
  const most = Math.max(1, Math.floor(axis.width / minSpacing));
  const step = STEPS_MS.find((s) => duration / s <= most) ?? 1440 * 60_000 * Math.ceil(duration / most / 86_400_000);
  const off = offsetOf(axis.start);
  const ticks: Tick[] = [];
  for (let local = Math.ceil((axis.start + off) / step) * step; local - off <= axis.end; local += step) {
    const t = local - off;
    const tickOff = offsetOf(t);
    ticks.push({ t, x: xOf(axis, t), midnight: (t + tickOff) % 86_400_000 === 0 });
  }
  return ticks;
}

export function localOffset(t: number): number {
  return -new Date(t).getTimezoneOffset() * 60_000;
}
