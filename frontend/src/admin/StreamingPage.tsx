// /admin/streaming: one card per channel's SimLive encoder (state, pid, uptime, restarts, last error,
// archive size, what is on air) with Start / Stop / Restart and its log; the retention clean-up.

import { useEffect, useId, useRef, useState } from 'react';
import { Link } from 'react-router';
import { adminPath } from '../routes';
import { QueryError } from '../components/QueryError';
import { ACTION_WORDS, countStates, stateLook } from './encoderState';
import { describeAdminError } from './errors';
import {
  cleanupSummary,
  formatBytes,
  formatClockTime,
  formatCount,
  formatDateTime,
  formatDuration,
  formatProgrammeTimes,
  plural,
} from './format';
import {
  useCleanup,
  useEncoderAction,
  useEncoderLog,
  useEncoderStatus,
  type EncoderAction,
  type EncoderStatus,
} from './queries';
import { ConfirmDialog, ConsolePage, Dialog, QueryProblem, SkeletonCards } from './consoleWidgets';

export function StreamingPage() {
  const status = useEncoderStatus();
  const [logOf, setLogOf] = useState<EncoderStatus | null>(null);
  const rows = status.data?.channels ?? [];
  const counts = countStates(rows);
  return (
    <ConsolePage
      name="streaming"
      title="Streaming"
      lead="The SimLive encoder of each channel. This page refreshes every few seconds by itself."
      refreshing={status}
    >
      <CleanupPanel />

      {status.isPending && <SkeletonCards count={5} label="Loading the encoders" tall />}
      {status.isError && !status.data && (
        <QueryProblem error={status.error} what="The encoders" onRetry={status.refetch} />
      )}
      {status.data && rows.length === 0 && (
        <p className="empty admin-empty">No channel has an encoder: add a TSTV channel (with a CDN key) first.</p>
      )}
      {rows.length > 0 && (
        <>
          <p className="admin-summary" aria-label="Encoders by state">
            <span className="tone-ok">{counts.running} running</span>
            {counts.starting > 0 && <span className="tone-busy">{counts.starting} starting</span>}
            <span className="tone-off">{counts.stopped} stopped</span>
            {counts.error > 0 && <span className="tone-bad">{counts.error} in error</span>}
          </p>
          <ul className="admin-grid encoder-grid">
            {rows.map((row) => (
              <EncoderCard key={row.channel_key} row={row} onViewLog={() => setLogOf(row)} />
            ))}
          </ul>
        </>
      )}
      {logOf && (
        <LogDialog
          channelKey={logOf.channel_key}
          channelName={logOf.channel_name}
          onClose={() => {
            setLogOf(null);
          }}
        />
      )}
    </ConsolePage>
  );
}

function StatePill({ state, wanted }: { state: string; wanted: boolean }) {
  const look = stateLook(state, wanted);
  return (
    <span className={`state-pill tone-${look.tone}`} data-testid="encoder-state">
      <span className="state-dot" aria-hidden="true" />
      {look.word}
    </span>
  );
}

function Stat({ label, value, id }: { label: string; value: string; id: string }) {
  return (
    <div className="encoder-stat">
      <dt>{label}</dt>
      <dd data-testid={`encoder-${id}`}>{value}</dd>
    </div>
  );
}

interface Feedback {
  tone: 'ok' | 'bad';
  text: string;
}

function EncoderCard({ row, onViewLog }: { row: EncoderStatus; onViewLog: () => void }) {
  const titleId = useId();
  const action = useEncoderAction(row.channel_key);
  const [feedback, setFeedback] = useState<Feedback | null>(null);
  // A second click before the first request is answered never sends a second request.
  const inFlight = useRef(false);

  const run = (what: EncoderAction) => {
    if (inFlight.current) return;
    inFlight.current = true;
    setFeedback(null);
    action.mutate(what, {
      onSuccess: () => {
        setFeedback({ tone: 'ok', text: ACTION_WORDS[what].done });
      },
      onError: (e) => {
        setFeedback({ tone: 'bad', text: describeAdminError(e) });
      },
      onSettled: () => {
        inFlight.current = false;
      },
    });
  };

  const pending = action.isPending ? action.variables : null;
  const onAir = row.on_air;
  const preparing = row.state === 'starting' && row.source_progress !== null && row.source_progress < 1;
  return (
    <li>
      <article className="admin-card encoder-card" data-state={row.state} aria-labelledby={titleId}>
        <header className="encoder-head">
          <div className="encoder-title">
            <h2 id={titleId}>{row.channel_name}</h2>
            <code className="channel-key">{row.channel_key}</code>
          </div>
          <StatePill state={row.state} wanted={row.wanted} />
        </header>

        <p className="encoder-on-air">
          {onAir ? (
            <>
              <span className="muted">On air</span> <strong>{onAir.title}</strong>{' '}
              <span className="muted">
                {formatProgrammeTimes(new Date(onAir.start_time), new Date(onAir.end_time))}
              </span>
            </>
          ) : (
            <span className="muted">Nothing on air in the guide</span>
          )}
        </p>

        <dl className="encoder-stats">
          <Stat id="pid" label="PID" value={row.pid !== null ? String(row.pid) : '–'} />
          <Stat id="uptime" label="Uptime" value={row.uptime_seconds !== null ? formatDuration(row.uptime_seconds) : '–'} />
          <Stat id="restarts" label="Restarts" value={formatCount(row.restarts)} />
          <Stat id="segments" label="Segments" value={formatCount(row.segment_count)} />
          <Stat id="disk" label="Disk use" value={formatBytes(row.disk_bytes)} />
          <Stat id="written" label="Written" value={formatCount(row.segments_written)} />
        </dl>

        {preparing && (
          <p className="encoder-note">Preparing the source: {Math.round((row.source_progress ?? 0) * 100)} %</p>
        )}
        {row.last_error && (
          <div className="encoder-error">
            <p>
              <strong>Last error</strong>
              {row.last_exit_code !== null && <span className="muted"> · exit code {row.last_exit_code}</span>}
            </p>
            <pre data-testid="encoder-last-error">{row.last_error}</pre>
          </div>
        )}

        <div className="encoder-actions" role="group" aria-label={`Encoder of ${row.channel_name}`}>
          {(['start', 'stop', 'restart'] as const).map((what) => (
            <button
              key={what}
              type="button"
              className={`button${what === 'start' && !row.wanted ? ' primary' : ''}`}
              disabled={action.isPending}
              aria-label={`${ACTION_WORDS[what].label} ${row.channel_name}`}
              onClick={() => {
                run(what);
              }}
            >
              {pending === what ? ACTION_WORDS[what].pending : ACTION_WORDS[what].label}
            </button>
          ))}
          <span className="spacer" />
          <button type="button" className="link-button" onClick={onViewLog} aria-label={`View log of ${row.channel_name}`}>
            View log
          </button>
          <Link
            className="link-button"
            to={adminPath('coverage', `archive-${row.channel_key}`)}
            aria-label={`Archive of ${row.channel_name}`}
          >
            Archive
          </Link>
        </div>
        <p className={`encoder-feedback${feedback ? ` tone-${feedback.tone}` : ''}`} role="status" aria-live="polite">
          {feedback?.text}
        </p>
      </article>
    </li>
  );
}

const LOG_SIZES = [50, 200, 1000] as const;

function LogDialog({ channelKey, channelName, onClose }: { channelKey: string; channelName: string; onClose: () => void }) {
  const [lines, setLines] = useState<number>(200);
  const [follow, setFollow] = useState(true);
  const log = useEncoderLog(channelKey, lines, follow);
  const pre = useRef<HTMLPreElement>(null);
  const linesId = useId();

  useEffect(() => {
    const el = pre.current;
    if (follow && el) el.scrollTop = el.scrollHeight;
  }, [log.data, follow]);

  const data = log.data;
  return (
    <Dialog title={`Encoder log: ${channelName}`} onClose={onClose} wide>
      <div className="log-controls">
        <label htmlFor={linesId}>Lines</label>
        <select
          id={linesId}
          value={lines}
          onChange={(e) => {
            setLines(Number(e.currentTarget.value));
          }}
        >
          {LOG_SIZES.map((n) => (
            <option key={n} value={n}>
              Last {n}
            </option>
          ))}
        </select>
        <label className="log-follow">
          <input
            type="checkbox"
            checked={follow}
            onChange={(e) => {
              setFollow(e.currentTarget.checked);
            }}
          />
          Follow (refresh every 3 s)
        </label>
        <button type="button" className="button" onClick={() => void log.refetch()} disabled={log.isFetching}>
          {log.isFetching ? 'Refreshing…' : 'Refresh'}
        </button>
      </div>
      {log.isPending && <p className="muted">Reading the log…</p>}
      {log.isError && <QueryError error={log.error} onRetry={log.refetch} describe={describeAdminError} />}
      {data && (
        <>
          <p className="log-meta">
            {data.size_bytes === 0
              ? 'The encoder has not written a log yet.'
              : `${plural(data.lines.length, 'line')}${data.truncated ? ' (older lines not shown)' : ''} · ${formatBytes(
                  data.size_bytes,
                )}${data.modified_at ? ` · last written ${formatDateTime(new Date(data.modified_at))}` : ''}`}
          </p>
          <pre ref={pre} className="log-lines" tabIndex={0} aria-label={`Last lines of the encoder log of ${channelName}`}>
            {data.lines.length > 0 ? data.lines.join('\n') : 'No lines.'}
          </pre>
        </>
      )}
      <div className="admin-dialog-actions">
        <button type="button" className="button primary" onClick={onClose}>
          Close
        </button>
      </div>
    </Dialog>
  );
}

function CleanupPanel() {
  const cleanup = useCleanup();
  const [confirming, setConfirming] = useState(false);
  const [doneAt, setDoneAt] = useState<number | null>(null);
  const result = cleanup.data;
  return (
    <div className="admin-card cleanup-panel">
      <div className="cleanup-text">
        <h2>Retention</h2>
        <p className="muted">
          Segments older than their channel&apos;s retention are deleted every hour. Clean up now to free the space at
          once.
        </p>
      </div>
      <button
        type="button"
        className="button"
        disabled={cleanup.isPending}
        onClick={() => {
          setConfirming(true);
        }}
      >
        {cleanup.isPending ? 'Cleaning up…' : 'Clean up now'}
      </button>
      <div className="cleanup-result" role="status" aria-live="polite">
        {result && doneAt !== null && (
          <>
            <p className="tone-ok">
              {cleanupSummary(result)} <span className="muted">({formatClockTime(new Date(doneAt))})</span>
            </p>
            {result.channels.some((c) => c.segments_deleted > 0) && (
              <details>
                <summary>Per channel</summary>
                <ul className="cleanup-channels">
                  {result.channels
                    .filter((c) => c.segments_deleted > 0)
                    .map((c) => (
                      <li key={c.channel_key}>
                        <code>{c.channel_key}</code>: {plural(c.segments_deleted, 'segment')}, {formatBytes(c.bytes_freed)}{' '}
                        older than {formatDateTime(new Date(c.cutoff), undefined, false)}
                      </li>
                    ))}
                </ul>
              </details>
            )}
          </>
        )}
        {cleanup.isError && (
          <p className="tone-bad">The clean-up failed: {describeAdminError(cleanup.error)}</p>
        )}
      </div>
      {confirming && (
        <ConfirmDialog
          title="Clean up the archive now?"
          confirmLabel="Clean up"
          onCancel={() => {
            setConfirming(false);
          }}
          onConfirm={() => {
            setConfirming(false);
            if (cleanup.isPending) return;
            cleanup.mutate(undefined, {
              onSuccess: () => {
                setDoneAt(Date.now());
              },
            });
          }}
        >
          <p>
            Every segment older than its channel&apos;s retention is deleted from disk. Programmes past retention can no
            longer be played. This cannot be undone.
          </p>
        </ConfirmDialog>
      )}
    </div>
  );
}
