import { describe, expect, it } from 'vitest';
import {
  MAX_RETENTION_HOURS,
  VIEWER_WINDOWS,
  checkRules,
  draftOf,
  fieldOfLoc,
  isViewerWindow,
  refusalInWords,
  retentionProblem,
  viewerWindowOptions,
  type Rules,
} from './rulesForm';

const saved: Rules = {
  tstv_enabled: true,
  startover_enabled: true,
  catchup_enabled: true,
  cutv_window_hours: 48,
  catchup_window_hours: 168,
};

describe('viewer windows', () => {
  it('are exactly the values the API takes', () => {
    expect(VIEWER_WINDOWS).toEqual([2, 6, 12, 24, 48, 72, 168]);
    expect(isViewerWindow(48)).toBe(true);
    expect(isViewerWindow(36)).toBe(false);
    expect(viewerWindowOptions().map((o) => o.label)).toEqual([
      '2 hours',
      '6 hours',
      '12 hours',
      '24 hours (1 day)',
      '48 hours (2 days)',
      '72 hours (3 days)',
      '168 hours (7 days)',
    ]);
  });
});

describe('retentionProblem', () => {
  it('takes whole hours from the viewer window up to 31 days', () => {
    expect(retentionProblem('48', 48)).toBeNull();
    expect(retentionProblem(' 744 ', 168)).toBeNull();
  });
  it('refuses with the reason', () => {
    expect(retentionProblem('', 48)).toBe('Enter the retention in hours.');
    expect(retentionProblem('12.5', 2)).toBe('Retention is a whole number of hours.');
    expect(retentionProblem('-3', 2)).toBe('Retention is a whole number of hours.');
    expect(retentionProblem('1e3', 2)).toBe('Retention is a whole number of hours.');
    expect(retentionProblem('0', 2)).toBe('Retention must be at least 1 hour.');
    expect(retentionProblem(String(MAX_RETENTION_HOURS + 1), 2)).toBe(
      'Retention can be at most 744 hours (31 days).',
    );
    expect(retentionProblem('24', 48)).toBe(
      'Retention must be at least the viewer window (48 h): programmes still offered to viewers would be deleted.',
    );
  });
});

describe('checkRules', () => {
  it('has nothing to send when nothing changed', () => {
    const c = checkRules(saved, draftOf(saved));
    expect(c).toEqual({ errors: {}, changes: {}, dirty: false, valid: true });
    expect(checkRules(saved, { ...draftOf(saved), retention: '0168' }).dirty).toBe(false);
  });
  it('sends only what changed', () => {
    const c = checkRules(saved, { ...draftOf(saved), catchup: false, viewerWindow: 24 });
    expect(c.valid).toBe(true);
    expect(c.dirty).toBe(true);
    expect(c.changes).toEqual({ catchup_enabled: false, cutv_window_hours: 24 });
  });
  it('sends the master switch and retention as numbers', () => {
    const c = checkRules(saved, { ...draftOf(saved), tstv: false, retention: '72' });
    expect(c.changes).toEqual({ tstv_enabled: false, catchup_window_hours: 72 });
  });
  it('refuses retention below a window raised above it, rather than sending it', () => {
    const short = { ...saved, catchup_window_hours: 48 };
    const c = checkRules(short, { ...draftOf(short), viewerWindow: 168 });
    expect(c.valid).toBe(false);
    expect(c.dirty).toBe(true);
    expect(c.errors.retention).toMatch(/^Retention must be at least the viewer window \(168 h\)/);
    expect(c.changes).toEqual({ cutv_window_hours: 168 });
  });
  it('refuses a window the API does not take', () => {
    const c = checkRules(saved, { ...draftOf(saved), viewerWindow: 36 });
    expect(c.valid).toBe(false);
    expect(c.errors.viewerWindow).toBe('The viewer window is one of 2, 6, 12, 24, 48, 72 or 168 hours.');
    expect(c.changes).toEqual({});
  });
  it('counts something typed that cannot be saved as a change', () => {
    const c = checkRules(saved, { ...draftOf(saved), retention: 'soon' });
    expect(c.dirty).toBe(true);
    expect(c.valid).toBe(false);
  });
});

describe('the API refusals in words', () => {
  it('maps a 422 loc to the form field', () => {
    expect(fieldOfLoc(['body', 'catchup_window_hours'])).toBe('retention');
    expect(fieldOfLoc(['body', 'cutv_window_hours'])).toBe('viewerWindow');
    expect(fieldOfLoc(['path', 'channel_id'])).toBeNull();
  });
  it("says the retention refusal as the form does", () => {
    expect(
      refusalInWords(['body', 'catchup_window_hours'], 'catchup_window_hours must be >= cutv_window_hours (48)'),
    ).toBe('Retention must be at least the viewer window (48 h).');
  });
  it('names the field of any other refusal', () => {
    expect(refusalInWords(['body', 'cutv_window_hours'], "Input should be 2, 6, 12, 24, 48, 72 or 168")).toBe(
      'Viewer window: input should be 2, 6, 12, 24, 48, 72 or 168.',
    );
    expect(refusalInWords(['body', 'catchup_window_hours'], 'Input should be less than or equal to 744')).toBe(
      'Retention: input should be less than or equal to 744.',
    );
    expect(refusalInWords(['body', 'tstv_enabled'], 'may not be null')).toBe('TSTV: may not be null.');
  });
});
