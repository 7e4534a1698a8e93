// What the Recordings page and the Record buttons say (README, "Recordings API"): status words, recorded
// length, the quota, and refusals in words. Pure, so the phrases are tested on their own.

import { formatMinutes } from './timeLabels';

export type RecordingStatus = 'scheduled' | 'recording' | 'recorded' | 'partial' | 'failed';

const STATUS_WORDS: Record<RecordingStatus, string> = {
  scheduled: 'Scheduled',
  recording: 'Recording now',
  recorded: 'Recorded',
  partial: 'Partly recorded',
  failed: 'Not recorded',
};

export function statusWord(status: RecordingStatus): string {
  return STATUS_WORDS[status];
}

/** "42 min", "1 h 5 min"; under a minute in seconds ("45 s"). */
export function lengthText(seconds: number): string {
  return seconds < 60 ? `${Math.max(0, Math.round(seconds))} s` : formatMinutes(seconds);
}

/** "42 min recorded", "38 min of 1 h recorded" (partial), "Nothing was recorded". */
export function recordedLength(status: RecordingStatus, recordedSeconds: number, durationSeconds: number): string {
  if (status === 'scheduled') return `${lengthText(durationSeconds)} programme`;
  if (recordedSeconds <= 0) return status === 'recording' ? 'Starting' : 'Nothing was recorded';
  if (status === 'partial') return `${lengthText(recordedSeconds)} of ${lengthText(durationSeconds)} recorded`;
  return `${lengthText(recordedSeconds)} recorded`;
}

const hours = (h: number) => `${Number.isInteger(h) ? h : h.toFixed(1)} h`;

/** "3.5 h of 20 h used". */
export function quotaText(usedHours: number, allowedHours: number): string {
  return `${hours(Math.round(usedHours * 10) / 10)} of ${hours(allowedHours)} used`;
}

/** The quota bar's fill, 0..1. */
export function quotaShare(usedHours: number, allowedHours: number): number {
  return allowedHours > 0 ? Math.min(1, Math.max(0, usedHours / allowedHours)) : 1;
}

export interface RefusalInfo {
  status: number;
  detail: unknown;
  usedHours?: number;
  allowedHours?: number;
}

/** Why a recording could not be made, as the viewer reads it. */
export function recordRefusal(r: RefusalInfo): string {
  if (r.detail === 'quota_exceeded') {
    const figures =
      r.usedHours !== undefined && r.allowedHours !== undefined ? ` (${quotaText(r.usedHours, r.allowedHours)})` : '';
    return `Not enough recording space${figures}. Delete a recording to make room.`;
  }
  if (r.detail === 'program_not_eligible' || r.detail === 'channel_tstv_disabled' || r.detail === 'catchup_disabled') {
    return 'This programme cannot be recorded.';
  }
  if (r.detail === 'no_longer_available') return 'This programme is no longer available to record.';
  if (r.detail === 'no_subscription') return 'Your subscription does not include this channel.';
  if (r.status === 404) return 'We could not find that programme.';
  return 'The recording could not be made. Please try again.';
}
