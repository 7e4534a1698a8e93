// The TV guide's geometry: time across (real minutes, so a 23- or 25-hour day is shorter or
// longer), hour marks in local time, where each programme sits and where "now" is.

export const PX_PER_MINUTE = 8; // a 10-minute programme is 80 px: room for its title

export interface Placed {
  left: number;
  width: number;
}

const minutes = (from: Date, to: Date) => (to.getTime() - from.getTime()) / 60_000;

export function dayWidth(dayStart: Date, dayEnd: Date, pxPerMinute = PX_PER_MINUTE): number {
  return minutes(dayStart, dayEnd) * pxPerMinute;
}

/** A programme's box on the day's axis, cut at the day's edges (one that began the day before
 * starts at the left edge). */
export function place(start: Date, end: Date, dayStart: Date, dayEnd: Date, pxPerMinute = PX_PER_MINUTE): Placed {
  const from = Math.max(start.getTime(), dayStart.getTime());
  const to = Math.min(end.getTime(), dayEnd.getTime());
  const left = minutes(dayStart, new Date(from)) * pxPerMinute;
  return { left, width: Math.max(0, ((to - from) / 60_000) * pxPerMinute) };
}

/** x of `now` on the axis, or null when now is not that day. */
export function nowLine(now: Date, dayStart: Date, dayEnd: Date, pxPerMinute = PX_PER_MINUTE): number | null {
  if (now < dayStart || now >= dayEnd) return null;
  return minutes(dayStart, now) * pxPerMinute;
}

export interface HourMark {
  left: number;
  label: string;
}

/** One mark per real hour from the day's start, labelled in the zone's local time (across a
 * change the labels skip or repeat an hour, as clocks do). */
export function hourMarks(dayStart: Date, dayEnd: Date, timeZone?: string, pxPerMinute = PX_PER_MINUTE): HourMark[] {
  const format = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', timeZone });
  const marks: HourMark[] = [];
  for (let t = dayStart.getTime(); t < dayEnd.getTime(); t += 3600_000) {
    marks.push({ left: minutes(dayStart, new Date(t)) * pxPerMinute, label: format.format(new Date(t)) });
  }
  return marks;
}
