// Up next (docs/PRODUCT.md, J3): near the end of a catch-up programme the next programme of the
// same channel is offered with a countdown, and plays by itself at 0 unless the viewer cancels.
// Pure: the hook (player/useUpNext.ts) passes the schedule, the playhead and the clock in.

/** The card shows for the last seconds of a programme (and when its playlist ended earlier). */
export const UP_NEXT_LEAD_SECONDS = 10;
/** Within this of the programme's end counts as the end (a playhead never lands exactly on it). */
const AT_END_SECONDS = 0.5;

/** What the rule reads of a schedule entry (the guide's and the schedule's entries have it). */
export interface ScheduleItem {
  id: string;
  title: string;
  start_time: string;
  end_time: string;
  /** Once aired: whether catch-up plays it now (the API decides: rights, window, archive). */
  catchup?: { available: boolean } | null;
}

/** The programme that follows `current` on its channel: the earliest of the schedule that ends
 * after it (the one airing at its end, or after a gap in the schedule), never itself. */
export function nextProgramme<T extends ScheduleItem>(
  schedule: readonly T[],
  current: Pick<ScheduleItem, 'id' | 'end_time'>,
): T | null {
  const end = Date.parse(current.end_time);
  let best: T | null = null;
  for (const e of schedule) {
    if (e.id === current.id || Date.parse(e.end_time) <= end) continue;
    if (!best || Date.parse(e.start_time) < Date.parse(best.start_time)) best = e;
  }
  return best;
}

/** Only a programme that plays on catch-up now is offered: one not aired yet, locked or expired
 * would count down into a refusal. */
export function isOfferable(next: ScheduleItem | null): next is ScheduleItem {
  return next?.catchup?.available === true;
}

export type UpNextPhase = 'hidden' | 'counting' | 'go';

export interface UpNextInput {
  /** Seconds from the playhead to the programme's end. */
  remainingSeconds: number;
  /** The video reached the end of its playlist (which may stop short of the programme's end). */
  ended: boolean;
  /** The viewer pressed Cancel for this programme. */
  cancelled: boolean;
  leadSeconds?: number;
}

/** Hidden until the last `leadSeconds`; counting down in them; `go` at the end. An ended video far
 * from the programme's end (a playlist still describing the previous programme) is not the end. */
export function upNextPhase({ remainingSeconds, ended, cancelled, leadSeconds = UP_NEXT_LEAD_SECONDS }: UpNextInput): UpNextPhase {
  if (cancelled || !Number.isFinite(remainingSeconds) || remainingSeconds > leadSeconds) return 'hidden';
  return ended || remainingSeconds <= AT_END_SECONDS ? 'go' : 'counting';
}

/** The countdown's whole seconds: 8 for 7.2 s left, never below 0. */
export function countdownSeconds(remainingSeconds: number): number {
  return Number.isFinite(remainingSeconds) && remainingSeconds > 0 ? Math.ceil(remainingSeconds) : 0;
}

/** "Up next: Quiz Circuit in 8 s" */
export function upNextLine(title: string, seconds: number): string {
  return `Up next: ${title} in ${seconds} s`;
}
