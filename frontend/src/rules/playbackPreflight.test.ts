import { describe, expect, it } from 'vitest';
import { preflightProblem, type PreflightInput } from './playbackPreflight';

const ch = 'ch-1';
const aired = { channel: { id: ch }, on_air: false, catchup: { available: true } };
const base: PreflightInput = { secure: true, mode: 'catchup', channelId: ch, recordingId: null, entry: aired, entryFailure: null };

const kind = (p: ReturnType<typeof preflightProblem>) => (p === null || p === 'not_found' ? p : p.kind);

describe('what stops a playback before it loads', () => {
  it('needs a page that can play protected streams', () => {
    expect(kind(preflightProblem({ ...base, mode: 'live', secure: false }))).toBe('insecure_page');
  });
  it('plays live and an available catch-up', () => {
    expect(preflightProblem({ ...base, mode: 'live', entry: undefined })).toBeNull();
    expect(preflightProblem(base)).toBeNull();
    expect(preflightProblem({ ...base, entry: undefined })).toBeNull(); // still fetching
  });
  it('is not found for a missing programme or another channel', () => {
    expect(preflightProblem({ ...base, entryFailure: 'not_found' })).toBe('not_found');
    expect(kind(preflightProblem({ ...base, entryFailure: 'failed' }))).toBe('unavailable');
    expect(preflightProblem({ ...base, channelId: 'ch-2' })).toBe('not_found');
  });
  it('starts over only what is on air', () => {
    const p = preflightProblem({ ...base, mode: 'startover', entry: { ...aired, catchup: null } });
    expect(p !== null && p !== 'not_found' && p.message).toContain('It has not started yet.');
    expect(preflightProblem({ ...base, mode: 'startover', entry: { ...aired, on_air: true } })).toBeNull();
  });
  it("refuses a catch-up outside its rights, but not the viewer's recording", () => {
    expect(kind(preflightProblem({ ...base, entry: { ...aired, catchup: null } }))).toBe('not_aired_yet');
    const expired = { ...aired, catchup: { available: false, reason: 'catch_up_window_expired' } };
    expect(kind(preflightProblem({ ...base, entry: expired }))).toBe('expired');
    expect(preflightProblem({ ...base, entry: expired, recordingId: 'r-1' })).toBeNull();
  });
});
