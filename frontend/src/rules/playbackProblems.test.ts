import { describe, expect, it } from 'vitest';
import { problemFromApi, problemFromPlayerError } from './playbackProblems';

describe('problems in words', () => {
  it('says when an expired programme expired', () => {
    const p = problemFromApi(
      { status: 403, detail: 'catch_up_window_expired', expiresAt: '2026-11-30T21:30:00Z' },
      'Europe/London',
    );
    expect(p.title).toBe('This programme is no longer available on Catch-Up');
    expect(p.message).toBe('It expired on Mon 30 Nov at 21:30.');
    expect(p.retryable).toBe(false);
  });
  it('names the other refusals', () => {
    expect(problemFromApi({ status: 403, detail: 'program_not_eligible' }).title).toBe('Not available on Catch-Up');
    expect(problemFromApi({ status: 404, detail: 'not_recorded' }).kind).toBe('not_recorded');
    expect(problemFromApi({ status: 403, detail: 'subscription_required' }).title).toBe(
      'Your subscription does not include this channel',
    );
    expect(problemFromApi({ status: 404, detail: 'schedule_entry_not_found' }).kind).toBe('not_found');
    expect(problemFromApi({ status: 422, detail: [{ loc: ['path'] }] }).kind).toBe('not_found');
    expect(problemFromApi({ status: 401, detail: 'invalid_token' }).kind).toBe('session_expired');
    expect(problemFromApi({ status: 503 }).retryable).toBe(true);
  });
  it('reads the API answer out of a player HTTP error, and anything else as a retryable outage', () => {
    const api = (u: string) => u.startsWith('http://tv/api/');
    const body = JSON.stringify({ detail: 'subscription_required' });
    expect(problemFromPlayerError(1001, ['http://tv/api/v1/x', 403, body], api).kind).toBe('no_subscription');
    expect(problemFromPlayerError(1001, ['http://cdn/hls/seg.m4s', 404, ''], api).kind).toBe('unavailable');
    expect(problemFromPlayerError(1002, ['http://tv/api/v1/x'], api).kind).toBe('unavailable');
    expect(problemFromPlayerError(1001, ['http://tv/api/v1/x', 500, 'not json'], api).kind).toBe('unavailable');
  });
});
