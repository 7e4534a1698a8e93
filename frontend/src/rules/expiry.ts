// How long a catch-up programme stays, as every listing says it (docs/PRODUCT.md, J4, J6).

import { localDate } from './localDays';

const HOUR = 3600_000;
const DAY = 24 * HOUR;

export interface Expiry {
  text: string;
  /** Within 24 h: the card is highlighted. */
  soon: boolean;
}

/** "Expires in 3 days", "Expires today", "Expires in 5 h", "Expires in 40 min", "Expired". */
export function expiryPhrase(expiresAt: Date, now: Date, timeZone?: string): Expiry {
  const left = expiresAt.getTime() - now.getTime();
  if (left <= 0) return { text: 'Expired', soon: true };
  if (left < HOUR) return { text: `Expires in ${Math.max(1, Math.floor(left / 60_000))} min`, soon: true };
  if (left < DAY) {
    const hours = Math.floor(left / HOUR);
    // Later today reads best as a time of day once it is more than half a day off.
    const sameDay = localDate(expiresAt, timeZone) === localDate(now, timeZone);
    return { text: sameDay && hours >= 12 ? 'Expires today' : `Expires in ${hours} h`, soon: true };
  }
  const days = Math.floor(left / DAY);
  return { text: days === 1 ? 'Expires in 1 day' : `Expires in ${days} days`, soon: false };
}

/** "23 min left" of a partly watched programme. */
export function timeLeft(positionSeconds: number, durationSeconds: number): string {
  const left = Math.max(0, durationSeconds - positionSeconds);
  if (left < 60) return 'Less than a minute left';
  const minutes = Math.round(left / 60);
  if (minutes < 60) return `${minutes} min left`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m === 0 ? `${h} h left` : `${h} h ${m} min left`;
}
