// Words and clocks the viewer reads. Pure: every caller passes the numbers in.

/** 30:12, or 1:05:09 from an hour on. Negative or non-finite input reads as 0:00. */
export function formatClock(seconds: number): string {
  const total = Number.isFinite(seconds) && seconds > 0 ? Math.floor(seconds) : 0;
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** "23 min", "1 h 5 min", "2 h": a duration in whole minutes, as the prompt says it. */
export function formatMinutes(seconds: number): string {
  const minutes = Math.max(0, Math.floor(seconds / 60));
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  if (h === 0) return `${m} min`;
  return m === 0 ? `${h} h` : `${h} h ${m} min`;
}

/** The Start Over prompt's line: "Started 23 min ago" (docs/PRODUCT.md, J1). */
export function startedAgo(elapsedSeconds: number): string {
  return elapsedSeconds < 60 ? 'Started less than a minute ago' : `Started ${formatMinutes(elapsedSeconds)} ago`;
}

/** How far behind live the viewer is, as the seek bar shows it: "-12:34". */
export function behindLive(secondsBehind: number): string {
  return `-${formatClock(secondsBehind)}`;
}

/** "Resuming from 30:12" (docs/PRODUCT.md, J4). */
export function resumingFrom(positionSeconds: number): string {
  return `Resuming from ${formatClock(positionSeconds)}`;
}

/** "Starting at 12:34": a shared link's start, said as the resume is (docs/PRODUCT.md, J4). */
export function startingAt(positionSeconds: number): string {
  return `Starting at ${formatClock(positionSeconds)}`;
}

/** "20:00" in the viewer's time zone (or the one given, for tests). */
export function formatTimeOfDay(date: Date, timeZone?: string): string {
  return new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', timeZone }).format(date);
}

/** "20:00 – 20:30" */
export function formatTimeRange(start: Date, end: Date, timeZone?: string): string {
  return `${formatTimeOfDay(start, timeZone)} – ${formatTimeOfDay(end, timeZone)}`;
}

/** "Tue 1 Dec" */
export function formatDay(date: Date, timeZone?: string): string {
  return new Intl.DateTimeFormat('en-GB', { weekday: 'short', day: 'numeric', month: 'short', timeZone }).format(
    date,
  );
}
