import { describe, expect, it } from 'vitest';
import { quotaShare, quotaText, recordRefusal, recordedLength, statusWord } from './recordings';

describe('recording status and length', () => {
  it('names every status in words', () => {
    expect(statusWord('scheduled')).toBe('Scheduled');
    expect(statusWord('recording')).toBe('Recording now');
    expect(statusWord('partial')).toBe('Partly recorded');
    expect(statusWord('failed')).toBe('Not recorded');
  });
  it('says how much was recorded, partial against the whole', () => {
    expect(recordedLength('recorded', 3600, 3600)).toBe('1 h recorded');
    expect(recordedLength('partial', 38 * 60 + 20, 3600)).toBe('38 min of 1 h recorded');
    expect(recordedLength('recording', 45.4, 90)).toBe('45 s recorded');
    expect(recordedLength('recording', 0, 90)).toBe('Starting');
    expect(recordedLength('failed', 0, 3600)).toBe('Nothing was recorded');
    expect(recordedLength('scheduled', 0, 65 * 60)).toBe('1 h 5 min programme');
  });
});

describe('quota', () => {
  it('writes used and allowed hours', () => {
    expect(quotaText(3.5, 20)).toBe('3.5 h of 20 h used');
    expect(quotaText(0, 20)).toBe('0 h of 20 h used');
    expect(quotaText(19.96, 20)).toBe('20 h of 20 h used');
  });
  it('fills the bar within 0..1', () => {
    expect(quotaShare(5, 20)).toBe(0.25);
    expect(quotaShare(25, 20)).toBe(1);
    expect(quotaShare(1, 0)).toBe(1);
  });
});

describe('refusals in words', () => {
  it('gives the quota figures', () => {
    expect(recordRefusal({ status: 409, detail: 'quota_exceeded', usedHours: 19.5, allowedHours: 20 })).toBe(
      'Not enough recording space (19.5 h of 20 h used). Delete a recording to make room.',
    );
  });
  it('says why a programme cannot be recorded', () => {
    expect(recordRefusal({ status: 403, detail: 'program_not_eligible' })).toBe('This programme cannot be recorded.');
    expect(recordRefusal({ status: 409, detail: 'no_longer_available' })).toBe(
      'This programme is no longer available to record.',
    );
    expect(recordRefusal({ status: 404, detail: 'schedule_entry_not_found' })).toBe('We could not find that programme.');
    expect(recordRefusal({ status: 500, detail: undefined })).toBe('The recording could not be made. Please try again.');
  });
});
