// The TSTV rules form of one channel (docs/PRODUCT.md, J5): what the operator typed, checked the way the API
// checks it, and the partial update to send. Pure, tested next to it.

import { formatWindow } from './format';

/** The viewer windows the API takes (`cutv_window_hours`). */
export const VIEWER_WINDOWS = [2, 6, 12, 24, 48, 72, 168] as const;
export type ViewerWindow = (typeof VIEWER_WINDOWS)[number];
/** The longest retention the API takes (31 days). */
export const MAX_RETENTION_HOURS = 24 * 31;

/** A channel's rules as the API gives them. */
export interface Rules {
  tstv_enabled: boolean;
  startover_enabled: boolean;
  catchup_enabled: boolean;
  cutv_window_hours: number;
  catchup_window_hours: number;
}

/** The form: switches, the viewer window, and retention as typed. */
export interface RulesDraft {
  tstv: boolean;
  startover: boolean;
  catchup: boolean;
  viewerWindow: number;
  retention: string;
}

/** The partial update the API takes (only the fields that changed). */
export interface RulesChanges {
  tstv_enabled?: boolean;
  startover_enabled?: boolean;
  catchup_enabled?: boolean;
  cutv_window_hours?: ViewerWindow;
  catchup_window_hours?: number;
}

export type RulesField = 'viewerWindow' | 'retention';

export interface CheckedRules {
  /** Why a field cannot be saved, in words. */
  errors: Partial<Record<RulesField, string>>;
  changes: RulesChanges;
  /** Something differs from what is saved. */
  dirty: boolean;
  /** Nothing refused: Save may send `changes`. */
  valid: boolean;
}

export function isViewerWindow(hours: number): hours is ViewerWindow {
  return (VIEWER_WINDOWS as readonly number[]).includes(hours);
}

export function draftOf(rules: Rules): RulesDraft {
  return {
    tstv: rules.tstv_enabled,
    startover: rules.startover_enabled,
    catchup: rules.catchup_enabled,
    viewerWindow: rules.cutv_window_hours,
    retention: String(rules.catchup_window_hours),
  };
}

const WINDOW_LIST = `${VIEWER_WINDOWS.slice(0, -1).join(', ')} or ${String(VIEWER_WINDOWS.at(-1))} hours`;

/** Why this retention (as typed) cannot be saved with this viewer window, or null. */
export function retentionProblem(typed: string, viewerWindow: number): string | null {
  const text = typed.trim();
  if (text === '') return 'Enter the retention in hours.';
  if (!/^\d+$/.test(text)) return 'Retention is a whole number of hours.';
  const hours = Number(text);
  if (hours < 1) return 'Retention must be at least 1 hour.';
  if (hours > MAX_RETENTION_HOURS) return `Retention can be at most ${MAX_RETENTION_HOURS} hours (31 days).`;
  if (hours < viewerWindow) {
    return (
      `Retention must be at least the viewer window (${viewerWindow} h): ` +
      'programmes still offered to viewers would be deleted.'
    );
  }
  return null;
}

/** Check the form against what is saved: the reasons it cannot be saved, and what Save sends. */
export function checkRules(saved: Rules, draft: RulesDraft): CheckedRules {
  const errors: CheckedRules['errors'] = {};
  const changes: RulesChanges = {};
  if (draft.tstv !== saved.tstv_enabled) changes.tstv_enabled = draft.tstv;
  if (draft.startover !== saved.startover_enabled) changes.startover_enabled = draft.startover;
  if (draft.catchup !== saved.catchup_enabled) changes.catchup_enabled = draft.catchup;

  const viewerWindow = draft.viewerWindow;
  if (!isViewerWindow(viewerWindow)) {
    errors.viewerWindow = `The viewer window is one of ${WINDOW_LIST}.`;
  } else if (viewerWindow !== saved.cutv_window_hours) {
    changes.cutv_window_hours = viewerWindow;
  }

  const problem = retentionProblem(draft.retention, isViewerWindow(viewerWindow) ? viewerWindow : 0);
  if (problem) errors.retention = problem;
  const retention = Number(draft.retention.trim());
  if (!problem && retention !== saved.catchup_window_hours) {
    changes.catchup_window_hours = retention;
  }

  const valid = Object.keys(errors).length === 0;
  // Something typed that cannot be saved counts as a change (the form says why); "0168" for 168 does not.
  const dirty = Object.keys(changes).length > 0 || !valid;
  return { errors, changes, dirty, valid };
}

/** The form field a 422's `loc` names (`["body", "catchup_window_hours"]`), or null. */
export function fieldOfLoc(loc: readonly (string | number)[]): RulesField | null {
  const name = loc.at(-1);
  if (name === 'cutv_window_hours') return 'viewerWindow';
  if (name === 'catchup_window_hours') return 'retention';
  return null;
}

const LABELS: Record<string, string> = {
  tstv_enabled: 'TSTV',
  startover_enabled: 'Start-over',
  catchup_enabled: 'Catch-up',
  startover_eligible: 'Start-over',
  catchup_eligible: 'Catch-up',
  cutv_window_hours: 'Viewer window',
  catchup_window_hours: 'Retention',
};

/** A 422 entry of the API in words: "Retention must be at least the viewer window (48 h)." */
export function refusalInWords(loc: readonly (string | number)[], msg: string): string {
  const name = String(loc.at(-1) ?? '');
  const atLeast = /must be >= cutv_window_hours \((\d+)\)/.exec(msg);
  if (name === 'catchup_window_hours' && atLeast) {
    return `Retention must be at least the viewer window (${atLeast[1] ?? '?'} h).`;
  }
  const label = LABELS[name] ?? (name || 'The request');
  const text = msg.replace(/^Value error, /, '').replace(/\.$/, '');
  return `${label}: ${text.charAt(0).toLowerCase()}${text.slice(1)}.`;
}

/** The options of the viewer window select. */
export function viewerWindowOptions(): { value: ViewerWindow; label: string }[] {
  return VIEWER_WINDOWS.map((h) => ({ value: h, label: formatWindow(h) }));
}
