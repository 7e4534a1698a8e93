// The days the programme-rights page offers (7 back, today, 7 ahead: the guide's days) and the
// title search. Pure: the caller passes the clock and the zone.

export const DAYS_BACK = 7;
export const DAYS_AHEAD = 7;

export interface DayChoice {
  /** YYYY-MM-DD in the zone */
  date: string;
  /** "Today", "Yesterday", "Tomorrow", "Mon 1 Jun" */
  label: string;
  /** Days from today (negative: past) */
  offset: number;
}

/** The local date (YYYY-MM-DD) of an instant in a zone. */
export function localDate(at: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })
    .formatToParts(at)
    .reduce<Record<string, string>>((acc, p) => ({ ...acc, [p.type]: p.value }), {});
  return `${parts.year ?? '0000'}-${parts.month ?? '01'}-${parts.day ?? '01'}`;
}

/** `date` plus `days` (calendar arithmetic, no time zone involved). */
export function addDays(date: string, days: number): string {
  const [y, m, d] = date.split('-').map(Number);
  const t = Date.UTC(y ?? 1970, (m ?? 1) - 1, (d ?? 1) + days);
  return new Date(t).toISOString().slice(0, 10);
}

function dayLabel(date: string, offset: number): string {
  if (offset === 0) return 'Today';
  if (offset === -1) return 'Yesterday';
  if (offset === 1) return 'Tomorrow';
  return new Intl.DateTimeFormat('en-GB', { weekday: 'short', day: 'numeric', month: 'short', timeZone: 'UTC' }).format(
    new Date(`${date}T12:00:00Z`),
  );
}

/** The 15 days of the page, oldest first. */
export function scheduleDays(now: Date, timeZone: string): DayChoice[] {
  const today = localDate(now, timeZone);
  const out: DayChoice[] = [];
  for (let offset = -DAYS_BACK; offset <= DAYS_AHEAD; offset += 1) {
    const date = addDays(today, offset);
    out.push({ date, label: dayLabel(date, offset), offset });
  }
  return out;
}

/** A day the page offers, else today. */
export function pickDay(days: readonly DayChoice[], wanted: string | null): string {
  const found = days.find((d) => d.date === wanted);
  return (found ?? days.find((d) => d.offset === 0) ?? days[0])?.date ?? '';
}

function fold(text: string): string {
  return text.normalize('NFD').replace(/\p{Diacritic}/gu, '').toLowerCase();
}

/** Does a programme match the search? Every word, in its title or series title, any case or accent. */
export function matchesTitle(p: { title: string; series_title?: string | null }, query: string): boolean {
  const words = fold(query).split(/\s+/).filter(Boolean);
  if (words.length === 0) return true;
  const text = fold(`${p.title} ${p.series_title ?? ''}`);
  return words.every((w) => text.includes(w));
}
