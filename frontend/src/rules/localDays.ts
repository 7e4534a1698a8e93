// Local days in the viewer's time zone: the guide's and the catch-up page's day tabs. Dates are
// YYYY-MM-DD strings of that zone; arithmetic is on calendar dates, so a daylight-saving change
// (a 23- or 25-hour day) never shifts a tab.

/** The viewer's IANA time zone (the browser's). */
export function browserTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/** The calendar date of an instant in a zone, as YYYY-MM-DD. */
export function localDate(at: Date, timeZone?: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

export function isDate(value: string | null | undefined): boolean {
  const m = value ? DATE.exec(value) : null;
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.toISOString().slice(0, 10) === value;
}

/** `date` moved by `days` calendar days. */
export function addDays(date: string, days: number): string {
  const [y, m, d] = date.split('-').map(Number);
  return new Date(Date.UTC(y ?? 1970, (m ?? 1) - 1, (d ?? 1) + days)).toISOString().slice(0, 10);
}

export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}

export interface DayTab {
  date: string;
  label: string;
}

/** Tabs from `back` days before today to `ahead` days after, labelled as a viewer says them. */
export function dayTabs(today: string, back: number, ahead: number): DayTab[] {
  const tabs: DayTab[] = [];
  for (let i = -back; i <= ahead; i++) {
    const date = addDays(today, i);
    tabs.push({ date, label: dayLabel(date, today) });
  }
  return tabs;
}

export function dayLabel(date: string, today: string): string {
  const offset = daysBetween(today, date);
  if (offset === 0) return 'Today';
  if (offset === -1) return 'Yesterday';
  if (offset === 1) return 'Tomorrow';
  const noonUtc = new Date(`${date}T12:00:00Z`);
  return new Intl.DateTimeFormat('en-GB', { weekday: 'short', day: 'numeric', month: 'short', timeZone: 'UTC' }).format(
    noonUtc,
  );
}

/** `date` if it is within the tabs, else the nearest tab's date (and whether it was moved). */
export function clampDate(date: string | null, today: string, back: number, ahead: number): { date: string; moved: boolean } {
  if (date === null) return { date: today, moved: false };
  if (!isDate(date)) return { date: today, moved: true };
  const offset = daysBetween(today, date);
  if (offset < -back) return { date: addDays(today, -back), moved: true };
  if (offset > ahead) return { date: addDays(today, ahead), moved: true };
  return { date, moved: false };
}
