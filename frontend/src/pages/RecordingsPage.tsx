// /recordings (README, "Recordings API"): the viewer's recordings with status, recorded length and expiry,
// Play, Delete with a confirmation, the series being recorded, and the quota as a bar.

import { useState } from 'react';
import { Link } from 'react-router';
import { useChannels } from '../api/queries';
import {
  useDeleteRecording,
  useDeleteSeriesRecording,
  useRecordings,
  useSeriesRecordings,
  type Recording,
  type SeriesRecording,
} from '../api/recordingQueries';
import { safeReturnPath } from '../auth/returnTo';
import { useNow } from '../components/useNow';
import { QueryError } from '../components/QueryError';
import { PATHS } from '../routes';
import { Still } from '../components/Still';
import { stillUrl } from '../api/viewerQueries';
import { expiryPhrase } from '../rules/expiry';
import { quotaShare, quotaText, recordedLength, statusWord } from '../rules/recordings';
import { formatDay, formatTimeRange } from '../rules/timeLabels';

export function RecordingsPage() {
  const recordings = useRecordings();
  const series = useSeriesRecordings();
  const now = useNow(30_000);
  const channels = useChannels();
  const logos = new Map((channels.data?.channels ?? []).map((c) => [c.id, c.logo_url]));
  const quota = recordings.data?.quota;
  return (
    <div className="recordings-page">
      <div className="page-head">
        <h1>Recordings</h1>
        {quota && (
          <div className="quota">
            <div
              className="quota-bar"
              role="meter"
              aria-label="Recording space"
              aria-valuemin={0}
              aria-valuemax={quota.allowed_hours}
              aria-valuenow={Math.round(quota.used_hours * 10) / 10}
              aria-valuetext={quotaText(quota.used_hours, quota.allowed_hours)}
            >
              <div className="quota-fill" style={{ width: `${quotaShare(quota.used_hours, quota.allowed_hours) * 100}%` }} />
            </div>
            <span className="quota-text">{quotaText(quota.used_hours, quota.allowed_hours)}</span>
          </div>
        )}
      </div>
      {series.data && series.data.series.length > 0 && (
        <section aria-labelledby="series-title" className="series-section">
          <h2 id="series-title" className="rail-title">
            Series being recorded
          </h2>
          <ul className="series-list">
            {series.data.series.map((s) => (
              <SeriesItem key={s.id} s={s} />
            ))}
          </ul>
        </section>
      )}
      {recordings.isPending && <ul className="recording-list" aria-busy="true" aria-label="Loading recordings" />}
      {recordings.isError && <QueryError error={recordings.error} onRetry={recordings.refetch} />}
      {recordings.data && recordings.data.recordings.length === 0 && (
        <p className="empty">
          Nothing recorded yet. Choose <strong>Record</strong> on a programme in the <Link to={PATHS.guide}>Guide</Link> or on
          Catch-Up to keep it after it leaves Catch-Up.
        </p>
      )}
      {recordings.data && recordings.data.recordings.length > 0 && (
        <ul className="recording-list">
          {recordings.data.recordings.map((r) => (
            <RecordingItem key={r.id} r={r} now={now} logoUrl={logos.get(r.channel.id) ?? null} />
          ))}
        </ul>
      )}
      {recordings.data && recordings.data.total > recordings.data.recordings.length && (
        <p className="empty">
          Showing the newest {recordings.data.recordings.length} of {recordings.data.total} recordings.
        </p>
      )}
    </div>
  );
}

function RecordingItem({ r, now, logoUrl }: { r: Recording; now: Date; logoUrl: string | null }) {
  const remove = useDeleteRecording();
  const [confirming, setConfirming] = useState(false);
  const start = new Date(r.start_time);
  const end = new Date(r.end_time);
  const expiry = expiryPhrase(new Date(r.expires_at), now);
  const play = safeReturnPath(r.deep_link);
  return (
    <li className={`recording status-${r.status}`}>
      <div className="recording-still">
        <Still src={r.status === 'scheduled' ? null : stillUrl(r.schedule_entry_id)} logoUrl={logoUrl} channelNumber={r.channel.number} channelName={r.channel.name} />
      </div>
      <div className="recording-body">
        <h3 className="programme-card-title">{r.title}</h3>
        <p className="programme-meta">
          {r.channel.number} {r.channel.name} · {formatDay(start)} · {formatTimeRange(start, end)}
        </p>
        <p className="recording-status">
          <span className={`status-pill ${r.status}`}>{statusWord(r.status)}</span>
          <span>{recordedLength(r.status, r.recorded_seconds, r.duration_seconds)}</span>
          {r.status !== 'scheduled' && r.status !== 'failed' && (
            <span className={`expiry${expiry.soon ? ' soon' : ''}`}>{expiry.text}</span>
          )}
        </p>
      </div>
      <div className="recording-actions">
        {r.playable && play !== '/' && (
          <Link className="button primary small" to={play} aria-label={`Play ${r.title}`}>
            Play
          </Link>
        )}
        {confirming ? (
          <span className="confirm" role="group" aria-label={`Delete ${r.title}?`}>
            <span>Delete this recording?</span>
            <button type="button" className="button small danger" disabled={remove.isPending} onClick={() => remove.mutate(r.id)}>
              Delete recording
            </button>
            <button type="button" className="button small ghost" onClick={() => setConfirming(false)}>
              Keep
            </button>
          </span>
        ) : (
          <button type="button" className="button small" aria-label={`Delete ${r.title}`} onClick={() => setConfirming(true)}>
            Delete
          </button>
        )}
        {remove.isError && (
          <span className="record-error" role="alert">
            The recording could not be deleted. Please try again.
          </span>
        )}
      </div>
    </li>
  );
}

function SeriesItem({ s }: { s: SeriesRecording }) {
  const stop = useDeleteSeriesRecording();
  const name = s.series_title ?? s.series_id;
  return (
    <li className="series-item">
      <div>
        <p className="programme-card-title">{name}</p>
        <p className="programme-meta">
          {s.episodes === 1 ? '1 episode' : `${s.episodes} episodes`} · new episodes are recorded as they are scheduled
          {s.skipped_episodes > 0 &&
            ` · ${s.skipped_episodes === 1 ? '1 episode' : `${s.skipped_episodes} episodes`} skipped: not enough recording space`}
        </p>
      </div>
      <button type="button" className="button small" disabled={stop.isPending} aria-label={`Stop recording series ${name}`} onClick={() => stop.mutate(s.id)}>
        Stop recording series
      </button>
    </li>
  );
}
