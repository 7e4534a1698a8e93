// /admin/rules: each channel's TSTV rules (docs/PRODUCT.md, J5) with an explicit Save per channel.

import { useId, useRef, useState } from 'react';
import { describeAdminError, fieldRefusals } from './errors';
import { formatClockTime } from './format';
import { useRules, useSaveRules, type ChannelRules } from './queries';
import {
  MAX_RETENTION_HOURS,
  checkRules,
  draftOf,
  fieldOfLoc,
  refusalInWords,
  viewerWindowOptions,
  type RulesDraft,
  type RulesField,
} from './rulesForm';
import { ConsolePage, QueryProblem, SkeletonCards, Switch } from './consoleWidgets';

export function RulesPage() {
  const rules = useRules();
  return (
    <ConsolePage
      name="rules"
      title="TSTV rules"
      lead="Start-over and catch-up per channel: what viewers may do, and how long the archive keeps programmes."
      notice={
        <>
          Changes apply to the next viewer request: listings, playlists and licences read these rules every time, and
          nothing restarts. A viewer already watching may finish.
        </>
      }
    >
      {rules.isPending && <SkeletonCards count={5} label="Loading the rules" />}
      {rules.isError && !rules.data && (
        <QueryProblem error={rules.error} what="The rules" onRetry={rules.refetch} />
      )}
      {rules.data && rules.data.channels.length === 0 && <p className="empty admin-empty">No channels yet.</p>}
      {rules.data && rules.data.channels.length > 0 && (
        <ul className="rules-list">
          {rules.data.channels.map((c) => (
            <RulesRow key={c.channel_id} rules={c} />
          ))}
        </ul>
      )}
    </ConsolePage>
  );
}

/** The switches the TSTV master switch turns off with it, in the order shown. */
const UNDER_TSTV = [
  { field: 'startover', label: 'Start-over' },
  { field: 'catchup', label: 'Catch-up' },
] as const;

type Message = { tone: 'ok'; text: string } | { tone: 'bad'; text: string; fields: Partial<Record<RulesField, string>> };

function RulesRow({ rules }: { rules: ChannelRules }) {
  const titleId = useId();
  const windowId = useId();
  const retentionId = useId();
  const save = useSaveRules(rules.channel_id);
  // What the operator changed, over what is saved: a refetch never overwrites what they typed.
  const [edits, setEdits] = useState<Partial<RulesDraft>>({});
  const [message, setMessage] = useState<Message | null>(null);
  const inFlight = useRef(false);

  const draft: RulesDraft = { ...draftOf(rules), ...edits };
  const checked = checkRules(rules, draft);
  const edit = (change: Partial<RulesDraft>) => {
    setEdits((e) => ({ ...e, ...change }));
    setMessage(null);
  };

  const onSave = () => {
    if (inFlight.current || !checked.valid || !checked.dirty) return;
    inFlight.current = true;
    setMessage(null);
    save.mutate(checked.changes, {
      onSuccess: () => {
        setEdits({});
        setMessage({ tone: 'ok', text: `Saved at ${formatClockTime(new Date())}. Viewers get it on their next request.` });
      },
      onError: (e) => {
        const fields: Partial<Record<RulesField, string>> = {};
        for (const f of fieldRefusals(e)) {
          const field = fieldOfLoc(f.loc);
          if (field) fields[field] = refusalInWords(f.loc, f.msg);
        }
        setMessage({ tone: 'bad', text: `Not saved: ${describeAdminError(e)}`, fields });
      },
      onSettled: () => {
        inFlight.current = false;
      },
    });
  };

  const apiFields = message?.tone === 'bad' ? message.fields : {};
  const windowError = checked.errors.viewerWindow ?? apiFields.viewerWindow;
  const retentionError = checked.errors.retention ?? apiFields.retention;
  const retentionHours = Number(draft.retention);
  const off = !draft.tstv;
  return (
    <li>
      <form
        className={`admin-card rules-row${off ? ' tstv-off' : ''}`}
        aria-labelledby={titleId}
        onSubmit={(e) => {
          e.preventDefault();
          onSave();
        }}
        noValidate
      >
        <div className="rules-channel">
          <h2 id={titleId}>{rules.channel_name}</h2>
          {rules.cdn_channel_key ? (
            <code className="channel-key">{rules.cdn_channel_key}</code>
          ) : (
            <span className="muted">no archive (not a TSTV channel)</span>
          )}
        </div>

        <div className="rules-controls">
          <div className="rules-switches">
            <Switch
              label="TSTV"
              hint="Master switch"
              checked={draft.tstv}
              onChange={(on) => {
                edit({ tstv: on });
              }}
            />
            {UNDER_TSTV.map(({ field, label }) => (
              <Switch
                key={field}
                label={label}
                checked={draft[field]}
                disabled={off}
                hint={off ? 'TSTV is off' : undefined}
                onChange={(on) => {
                  edit({ [field]: on });
                }}
              />
            ))}
          </div>

          <div className="rules-fields">
            <div className="admin-field">
              <label htmlFor={windowId}>Viewer window</label>
              <select
                id={windowId}
                value={draft.viewerWindow}
                aria-invalid={windowError ? true : undefined}
                aria-describedby={windowError ? `${windowId}-error` : undefined}
                onChange={(e) => {
                  edit({ viewerWindow: Number(e.currentTarget.value) });
                }}
              >
                {viewerWindowOptions().map((o) => (
                  <option key={o.value} value={o.value}>
                    {o.label}
                  </option>
                ))}
              </select>
              {windowError && (
                <p id={`${windowId}-error`} className="field-error">
                  {windowError}
                </p>
              )}
            </div>
            <div className="admin-field">
              <label htmlFor={retentionId}>Retention (hours)</label>
              <input
                id={retentionId}
                type="number"
                inputMode="numeric"
                min={draft.viewerWindow}
                max={MAX_RETENTION_HOURS}
                step={1}
                value={draft.retention}
                aria-invalid={retentionError ? true : undefined}
                aria-describedby={`${retentionId}-hint${retentionError ? ` ${retentionId}-error` : ''}`}
                onChange={(e) => {
                  edit({ retention: e.currentTarget.value });
                }}
              />
              <p id={`${retentionId}-hint`} className="field-hint">
                {Number.isInteger(retentionHours) && retentionHours >= 24 && retentionHours % 24 === 0
                  ? `${retentionHours / 24} ${retentionHours === 24 ? 'day' : 'days'} on disk, `
                  : ''}
                never below the viewer window
              </p>
              {retentionError && (
                <p id={`${retentionId}-error`} className="field-error" role="alert">
                  {retentionError}
                </p>
              )}
            </div>
          </div>
        </div>

        <div className="rules-actions">
          <button type="submit" className="button primary" disabled={save.isPending || !checked.dirty || !checked.valid}>
            {save.isPending ? 'Saving…' : 'Save'}
          </button>
          {checked.dirty && (
            <button
              type="button"
              className="button ghost"
              disabled={save.isPending}
              onClick={() => {
                setEdits({});
                setMessage(null);
              }}
            >
              Reset
            </button>
          )}
        </div>
        <p className={`rules-message${message ? ` tone-${message.tone}` : ''}`} role="status" aria-live="polite">
          {message?.text ?? (checked.dirty && checked.valid ? 'Unsaved changes.' : '')}
        </p>
      </form>
    </li>
  );
}
