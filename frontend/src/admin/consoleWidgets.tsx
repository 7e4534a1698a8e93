// The console's shared widgets: the operators-only page, failures with a retry, the page header,
// switches, dialogs, skeletons and the "updated at" line.

import { useEffect, useId, useRef, type ReactNode } from 'react';
import { Link } from 'react-router';
import { QueryError } from '../components/QueryError';
import { PATHS } from '../routes';
import { describeAdminError, isOperatorsOnly } from './errors';
import { formatClockTime } from './format';

export function OperatorsOnly() {
  return (
    <section className="empty-state" aria-labelledby="operators-only-title">
      <h1 id="operators-only-title">This page is for operators</h1>
      <p>
        You are signed in with a viewer account. The operations console (encoders, archive, keys and TSTV rules) needs
        an operator account.
      </p>
      <Link className="button primary" to={PATHS.home}>
        Go to Home
      </Link>
    </section>
  );
}

/** A query that failed: the operators-only page for a viewer's token, else the reason and a retry. */
export function QueryProblem({ error, what, onRetry }: { error: unknown; what: string; onRetry: () => unknown }) {
  if (isOperatorsOnly(error)) return <OperatorsOnly />;
  return (
    <QueryError
      error={error}
      onRetry={onRetry}
      describe={describeAdminError}
      heading={`${what} could not be loaded.`}
      className="admin-problem"
    />
  );
}

function PageHeader({
  id,
  title,
  children,
  lead,
}: {
  id: string;
  title: string;
  lead: ReactNode;
  children?: ReactNode;
}) {
  return (
    <header className="admin-page-head">
      <div>
        <h1 id={id}>{title}</h1>
        <p className="admin-lead">{lead}</p>
      </div>
      {children && <div className="admin-page-actions">{children}</div>}
    </header>
  );
}

/** What the "updated at" line reads of a polled query. */
export interface Refreshing {
  dataUpdatedAt: number;
  data: unknown;
  error: unknown;
  isFetching: boolean;
}

/** A console page: a section named by its heading, the lead, the "updated at" line of a polled
 * page, and a notice of when changes apply. */
export function ConsolePage(props: {
  name: string;
  title: string;
  lead: ReactNode;
  refreshing?: Refreshing;
  notice?: ReactNode;
  children: ReactNode;
}) {
  const { name, title, lead, refreshing, notice, children } = props;
  return (
    <section aria-labelledby={`${name}-title`} className="admin-page">
      <PageHeader id={`${name}-title`} title={title} lead={lead}>
        {refreshing && (
          <UpdatedAt
            at={refreshing.dataUpdatedAt}
            error={refreshing.data ? refreshing.error : null}
            fetching={refreshing.isFetching}
          />
        )}
      </PageHeader>
      {notice && <p className="notice admin-notice">{notice}</p>}
      {children}
    </section>
  );
}

/** "Updated 14:02:05", or why the last refresh failed while older data stays on screen. */
function UpdatedAt({ at, error, fetching }: { at: number; error: unknown; fetching: boolean }) {
  if (error) {
    return (
      <p className="admin-updated stale" role="status">
        Not refreshed: {describeAdminError(error)} Retrying…
      </p>
    );
  }
  return (
    <p className="admin-updated" aria-live="off">
      <span className={`admin-pulse${fetching ? ' on' : ''}`} aria-hidden="true" />
      {at > 0 ? `Updated ${formatClockTime(new Date(at))}` : 'Loading…'}
    </p>
  );
}

/** An on/off switch: a native checkbox (Space toggles it) drawn as a switch. */
export function Switch({
  checked,
  onChange,
  label,
  hint,
  disabled = false,
  accessibleName,
}: {
  checked: boolean;
  onChange: (on: boolean) => void;
  label: string;
  hint?: string;
  disabled?: boolean;
  /** The name (the visible label by default; the hint is its description). When the label is not
   *  unique on the page ("Catch-up"): the full name, starting with the label. */
  accessibleName?: string;
}) {
  const hintId = useId();
  return (
    <label className={`admin-switch${disabled ? ' disabled' : ''}`}>
      <input
        type="checkbox"
        role="switch"
        checked={checked}
        disabled={disabled}
        aria-label={accessibleName ?? label}
        aria-describedby={hint ? hintId : undefined}
        onChange={(e) => {
          onChange(e.currentTarget.checked);
        }}
      />
      <span className="admin-switch-track" aria-hidden="true">
        <span className="admin-switch-thumb" />
      </span>
      <span className="admin-switch-text">
        <span className="admin-switch-label">{label}</span>
        {hint && (
          <span id={hintId} className="admin-switch-hint">
            {hint}
          </span>
        )}
      </span>
    </label>
  );
}

/** A modal dialog (the browser's own: focus stays inside, Escape closes it). */
export function Dialog({
  title,
  onClose,
  children,
  wide = false,
}: {
  title: string;
  onClose: () => void;
  children: ReactNode;
  wide?: boolean;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open && typeof dialog.showModal === 'function') dialog.showModal();
  }, []);
  return (
    <dialog
      ref={ref}
      className={`admin-dialog dialog-panel${wide ? ' wide' : ''}`}
      aria-labelledby={titleId}
      onClose={onClose}
      onClick={(e) => {
        // A click on the backdrop (the dialog element itself, outside its content) closes it.
        if (e.target === e.currentTarget) onClose();
      }}
    >
      <div className="admin-dialog-body">
        <h2 id={titleId}>{title}</h2>
        {children}
      </div>
    </dialog>
  );
}

/** "Are you sure?" with the consequences in words; the confirm button says what it does. */
export function ConfirmDialog({
  title,
  children,
  confirmLabel,
  onConfirm,
  onCancel,
}: {
  title: string;
  children: ReactNode;
  confirmLabel: string;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  return (
    <Dialog title={title} onClose={onCancel}>
      <div className="admin-dialog-text">{children}</div>
      <div className="admin-dialog-actions">
        <button type="button" className="button ghost" onClick={onCancel} autoFocus>
          Cancel
        </button>
        <button type="button" className="button primary" onClick={onConfirm}>
          {confirmLabel}
        </button>
      </div>
    </Dialog>
  );
}

/** Skeleton cards while the first answer is on its way. */
export function SkeletonCards({ count, label, tall = false }: { count: number; label: string; tall?: boolean }) {
  return (
    <ul className="admin-grid" aria-busy="true" aria-label={label}>
      {Array.from({ length: count }, (_, i) => (
        <li key={i} className={`admin-card admin-skeleton${tall ? ' tall' : ''}`} />
      ))}
    </ul>
  );
}
