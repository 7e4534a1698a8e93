// Numbers, sizes, durations and dates as the operator console writes them. Pure: callers pass the
// numbers (and, in tests, the time zone) in.

const counts = new Intl.NumberFormat('en-GB');

/** "2,345" */
export function formatCount(n: number): string {
  return counts.format(Math.round(n));
}

/** "1 segment", "2,345 segments" */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${formatCount(n)} ${Math.round(n) === 1 ? one : many}`;
}

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'] as const;

/** Decimal units as disks are sold: "0 B", "512 B", "12.3 MB", "1.2 GB", "345 GB". */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes <= 0) return '0 B';
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  if (unit === 0) return `${Math.round(value)} B`;
  // One decimal below 100 (1.2 GB, 12.3 MB), none above (345 MB); "1.0" reads as "1".
  let shown = Number(value.toFixed(value < 100 ? 1 : 0));
  if (shown >= 1000 && unit < UNITS.length - 1) {
    shown = 1;
    unit += 1;
  }
  return `${shown.toLocaleString('en-GB')} ${UNITS[unit] ?? 'B'}`;
}

/** "45 s", "12 min", "3 h 05 min", "2 d 4 h": an uptime or an age, to the unit that matters. */
export function formatDuration(seconds: number): string {
  const s = Number.isFinite(seconds) && seconds > 0 ? Math.floor(seconds) : 0;
  if (s < 60) return `${s} s`;
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ${String(minutes % 60).padStart(2, '0')} min`;
  const days = Math.floor(hours / 24);
  return hours % 24 === 0 ? `${days} d` : `${days} d ${hours % 24} h`;
}

/** A gap's length, exact to the second: "6 s", "2 min 3 s", "1 h 2 min", "3 d 4 h". */
export function formatSpan(seconds: number): string {
  const s = Number.isFinite(seconds) && seconds > 0 ? Math.round(seconds) : 0;
  if (s < 60) return `${s} s`;
  if (s < 3600) {
    const rest = s % 60;
    return rest ? `${Math.floor(s / 60)} min ${rest} s` : `${s / 60} min`;
  }
  if (s < 86_400) {
    const m = Math.floor((s % 3600) / 60);
    return m ? `${Math.floor(s / 3600)} h ${m} min` : `${Math.floor(s / 3600)} h`;
  }
  const h = Math.floor((s % 86_400) / 3600);
  return h ? `${Math.floor(s / 86_400)} d ${h} h` : `${Math.floor(s / 86_400)} d`;
}

/** "41.2 h", "0.1 h", "168 h" */
export function formatHours(hours: number): string {
  const h = Number.isFinite(hours) && hours > 0 ? hours : 0;
  return `${Number(h.toFixed(h < 10 ? 2 : 1)).toLocaleString('en-GB')} h`;
}

/** "2 hours", "24 hours (1 day)", "168 hours (7 days)" */
export function formatWindow(hours: number): string {
  const words = `${formatCount(hours)} ${hours === 1 ? 'hour' : 'hours'}`;
  if (hours >= 24 && hours % 24 === 0) {
    const days = hours / 24;
    return `${words} (${days} ${days === 1 ? 'day' : 'days'})`;
  }
  return words;
}

/** The console's 24-hour clock: "14:02", or "14:02:05" with `seconds`. */
function clockFormat(timeZone: string | undefined, seconds: boolean): Intl.DateTimeFormat {
  return new Intl.DateTimeFormat('en-GB', {
    hour: '2-digit',
    minute: '2-digit',
    second: seconds ? '2-digit' : undefined,
    hourCycle: 'h23',
    timeZone,
  });
}

/** "14:02:05" */
export function formatClockTime(date: Date, timeZone?: string): string {
  return clockFormat(timeZone, true).format(date);
}

/** A programme's times: "14:00 – 14:10", to the second when either is not on a whole minute
 *  ("14:02:20 – 14:02:40": short test programmes). */
export function formatProgrammeTimes(start: Date, end: Date, timeZone?: string): string {
  const f = clockFormat(timeZone, start.getUTCSeconds() !== 0 || end.getUTCSeconds() !== 0);
  return `${f.format(start)} – ${f.format(end)}`;
}

/** "Tue 3 Jun, 14:02:05" (seconds by default: the console reads gaps to the second) */
export function formatDateTime(date: Date, timeZone?: string, seconds = true): string {
  const day = new Intl.DateTimeFormat('en-GB', { weekday: 'short', day: 'numeric', month: 'short', timeZone }).format(
    date,
  );
  return `${day}, ${clockFormat(timeZone, seconds).format(date)}`;
}

export interface CleanupTotals {
  channels_processed: number;
  total_segments_deleted: number;
  total_bytes_freed: number;
}

/** What a clean-up did, in words: "Freed 1.2 GB in 2,345 segments across 5 channels." */
export function cleanupSummary(r: CleanupTotals): string {
  const across = plural(r.channels_processed, 'channel');
  if (r.total_segments_deleted === 0 && r.total_bytes_freed === 0) {
    return `Nothing to free: no segment was older than its channel's retention (${across} checked).`;
  }
  return `Freed ${formatBytes(r.total_bytes_freed)} in ${plural(r.total_segments_deleted, 'segment')} across ${across}.`;
}

/** The disk forecast from the coverage API's `disk`: "Full in 3.2 days at today's rate". */
export function diskForecast(disk: {
  full_in_seconds: number | null;
  growth_bytes_per_second: number | null;
  storage_full: boolean;
}): string {
  if (disk.storage_full) return 'Full: only recordings and live windows are left, new recordings are refused';
  const s = disk.full_in_seconds;
  if (s === 0) return 'At the floor: the oldest catch-up is being evicted';
  if (s === null) {
    return disk.growth_bytes_per_second === null ? "Measuring today's rate…" : "Not filling up at today's rate";
  }
  if (s >= 86_400) return `Full in ${(s / 86_400).toFixed(1)} days at today's rate`;
  if (s >= 3600) return `Full in ${(s / 3600).toFixed(1)} hours at today's rate`;
  return `Full in ${String(Math.max(1, Math.round(s / 60)))} min at today's rate`;
}
