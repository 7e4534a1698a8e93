// A channel's content keys: the active key id and its age (its value only when asked for), the
// rotated keys with their dates, and *Rotate key*.

import { useId, useRef, useState } from 'react';
import { useNow } from '../components/useNow';
import { describeAdminError } from './errors';
import { formatDateTime, formatDuration, plural } from './format';
import { useChannelKeys, useRevealedKey, useRotateKey } from './queries';
import { ConfirmDialog } from './consoleWidgets';
import { QueryError } from '../components/QueryError';

/** A key's age now: the API's (at its answer) or, later, from its creation on this clock. */
function ageOf(ageSeconds: number, createdAt: string, now: Date): number {
  return Math.max(ageSeconds, (now.getTime() - Date.parse(createdAt)) / 1000);
}

/** Rotated keys listed (newest first). */
const SHOWN_ROTATED = 5;

interface Feedback {
  tone: 'ok' | 'bad';
  text: string;
}

export function KeysPanel({ channelKey, channelName }: { channelKey: string; channelName: string }) {
  const titleId = useId();
  const keys = useChannelKeys(channelKey);
  const rotate = useRotateKey(channelKey);
  const [reveal, setReveal] = useState(false);
  const revealed = useRevealedKey(channelKey, reveal);
  const [confirming, setConfirming] = useState(false);
  const [feedback, setFeedback] = useState<Feedback | null>(null);
  const inFlight = useRef(false);
  // The age moves on between refreshes of the key list.
  const now = useNow(5_000);

  const doRotate = () => {
    setConfirming(false);
    if (inFlight.current) return;
    inFlight.current = true;
    setFeedback(null);
    setReveal(false);
    rotate.mutate(undefined, {
      onSuccess: (out) => {
        setFeedback({
          tone: 'ok',
          text: `New key ${out.key_id} is active. ${
            out.encoder_restarted
              ? 'The encoder restarted on it.'
              : 'The encoder is not running: it uses the new key when it starts.'
          }`,
        });
      },
      onError: (e) => {
        setFeedback({ tone: 'bad', text: `The key was not rotated: ${describeAdminError(e)}` });
      },
      onSettled: () => {
        inFlight.current = false;
      },
    });
  };

  const active = keys.data?.active ?? null;
  const value = reveal && revealed.data && revealed.data.key_id === active?.key_id ? revealed.data.key_value_hex : null;
  return (
    <section className="keys-panel" aria-labelledby={titleId}>
      <h3 id={titleId}>Content key</h3>
      {keys.isPending && <p className="muted">Loading the keys…</p>}
      {keys.isError && <QueryError error={keys.error} onRetry={keys.refetch} describe={describeAdminError} />}
      {keys.data && (
        <>
          {active ? (
            <dl className="key-facts">
              <div>
                <dt>Active key ID</dt>
                <dd>
                  <code className="key-id" data-testid="active-key-id">
                    {active.key_id}
                  </code>
                </dd>
              </div>
              <div>
                <dt>Age</dt>
                <dd>
                  {formatDuration(ageOf(active.age_seconds, active.created_at, now))}{' '}
                  <span className="muted">(since {formatDateTime(new Date(active.created_at), undefined, false)})</span>
                </dd>
              </div>
              <div>
                <dt>Key value</dt>
                <dd className="key-value">
                  {value ? (
                    <code className="key-id">{value}</code>
                  ) : (
                    <span className="muted">{reveal && revealed.isFetching ? 'Fetching…' : 'Hidden'}</span>
                  )}
                  <button
                    type="button"
                    className="link-button"
                    aria-pressed={reveal}
                    aria-label={reveal ? `Hide the key value of ${channelName}` : `Reveal the key value of ${channelName}`}
                    onClick={() => {
                      setReveal((r) => !r);
                    }}
                  >
                    {reveal ? 'Hide' : 'Reveal'}
                  </button>
                  {reveal && revealed.isError && <span className="tone-bad"> {describeAdminError(revealed.error)}</span>}
                </dd>
              </div>
            </dl>
          ) : (
            <p className="muted">No key yet: the encoder creates one when it first starts.</p>
          )}
          <div className="keys-actions">
            <button
              type="button"
              className="button"
              disabled={rotate.isPending}
              aria-label={`Rotate key of ${channelName}`}
              onClick={() => {
                setConfirming(true);
              }}
            >
              {rotate.isPending ? 'Rotating…' : 'Rotate key'}
            </button>
          </div>
          <p className={`keys-feedback${feedback ? ` tone-${feedback.tone}` : ''}`} role="status" aria-live="polite">
            {feedback?.text}
          </p>
          {keys.data.rotated.length > 0 ? (
            <div className="rotated-keys">
              <h4>Rotated keys ({keys.data.rotated_total})</h4>
              <ul aria-label={`Rotated keys of ${channelName}`}>
                {keys.data.rotated.slice(0, SHOWN_ROTATED).map((k) => (
                  <li key={k.key_id}>
                    <code className="key-id">{k.key_id}</code>
                    <span className="muted">
                      created {formatDateTime(new Date(k.created_at), undefined, false)}
                      {k.rotated_at && `, rotated ${formatDateTime(new Date(k.rotated_at), undefined, false)}`}
                      {k.expires_at && `, kept until ${formatDateTime(new Date(k.expires_at), undefined, false)}`}
                    </span>
                  </li>
                ))}
              </ul>
              {keys.data.rotated_total > SHOWN_ROTATED && (
                <p className="muted">
                  The {SHOWN_ROTATED} newest are listed; {plural(keys.data.rotated_total - SHOWN_ROTATED, 'older key')}{' '}
                  not shown.
                </p>
              )}
            </div>
          ) : (
            active && <p className="muted">No rotated keys.</p>
          )}
        </>
      )}
      {confirming && (
        <ConfirmDialog
          title={`Rotate the content key of ${channelName}?`}
          confirmLabel="Rotate key"
          onCancel={() => {
            setConfirming(false);
          }}
          onConfirm={doRotate}
        >
          <p>
            New segments are encrypted with a new key and a running encoder restarts on it (viewers see a short
            discontinuity). Programmes recorded under the old key stay playable until retention deletes them.
          </p>
        </ConfirmDialog>
      )}
    </section>
  );
}
