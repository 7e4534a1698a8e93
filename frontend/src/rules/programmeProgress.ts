// How far a programme on air has got, for the channel list and the player.

export interface Span {
  start: Date;
  end: Date;
}

export function spanOf(p: { start_time: string; end_time: string }): Span {
  return { start: new Date(p.start_time), end: new Date(p.end_time) };
}

export function durationSeconds(span: Span): number {
  return Math.max(0, (span.end.getTime() - span.start.getTime()) / 1000);
}

/** 0..1 of the programme aired at `now`. */
export function airedFraction(span: Span, now: Date): number {
  const d = durationSeconds(span);
  if (d === 0) return 0;
  return Math.min(1, Math.max(0, (now.getTime() - span.start.getTime()) / 1000 / d));
}

/** Seconds from the programme's start to `at`, within the programme. */
export function offsetInProgramme(span: Span, at: Date): number {
  return Math.min(durationSeconds(span), Math.max(0, (at.getTime() - span.start.getTime()) / 1000));
}

/** "12 min left" */
export function minutesLeft(span: Span, now: Date): string {
  const left = Math.max(0, (span.end.getTime() - now.getTime()) / 1000);
  return left < 60 ? 'Ends in less than a minute' : `${Math.ceil(left / 60)} min left`;
}
