import { useEffect, useRef } from 'react';
import { Link } from 'react-router';
import type { GuideChannel, GuideEntry } from '../api/viewerQueries';
import { watchPath } from '../routes';
import { timeLeft } from '../rules/expiry';
import { durationSeconds, spanOf } from '../rules/programmeProgress';
import { programmeState } from '../rules/programmeState';
import { formatDay, formatTimeRange } from '../rules/timeLabels';
import { Icon } from './icons';
import { RecordButton } from './RecordButton';
import { Still } from './Still';

interface Props {
  entry: GuideEntry;
  channel: GuideChannel;
  now: Date;
  onClose: () => void;
}

function episodeLine(e: GuideEntry): string | null {
  const parts = [e.series_title, e.season_number ? `Season ${e.season_number}` : null, e.episode_number ? `Episode ${e.episode_number}` : null];
  const text = parts.filter(Boolean).join(' · ');
  return text || null;
}

/** A programme's detail: what it is, when, and what can be done with it now. */
export function ProgrammeDetail({ entry, channel, now, onClose }: Props) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = dialog.current;
    if (d && !d.open) d.showModal();
  }, []);
  const span = spanOf(entry);
  const state = programmeState(entry, now);
  const episode = episodeLine(entry);
  return (
    <dialog ref={dialog} className="detail dialog-panel" aria-labelledby="detail-title" onClose={onClose} onCancel={onClose}>
      <div className="detail-still">
        <Still src={entry.still_url} logoUrl={channel.logo_url} channelNumber={channel.number} channelName={channel.name} />
      </div>
      <div className="detail-body">
        <p className="detail-channel">
          {channel.number} {channel.name}
        </p>
        <h2 id="detail-title">{entry.title}</h2>
        {episode && <p className="detail-episode">{episode}</p>}
        <p className="programme-meta">
          {formatDay(span.start)} · {formatTimeRange(span.start, span.end)} · {Math.round(durationSeconds(span) / 60)} min
          {entry.genre ? ` · ${entry.genre}` : ''}
        </p>
        {entry.synopsis && <p className="detail-synopsis">{entry.synopsis}</p>}
        <div className="detail-actions">
          {state.kind === 'on_air' && (
            <>
              <Link className="button primary" to={watchPath('live', channel.id)}>
                Watch live
              </Link>
              {state.startOver && (
                <Link className="button" to={watchPath('startover', channel.id, entry.id)}>
                  Start Over
                </Link>
              )}
            </>
          )}
          {state.kind === 'available' && (
            <>
              <Link className="button primary" to={watchPath('catchup', channel.id, entry.id)}>
                {state.resumeAt ? 'Resume' : 'Play'}
              </Link>
              <span className={`expiry${state.expiry.soon ? ' soon' : ''}`}>
                {state.expiry.text}
                {state.resumeAt ? ` · ${timeLeft(state.resumeAt, durationSeconds(span))}` : ''}
              </span>
            </>
          )}
          {state.kind === 'locked' && (
            <p className="locked-reason">
              <Icon name="lock" /> {state.reason}
            </p>
          )}
          {state.kind === 'upcoming' && <p className="programme-meta">Starts at {formatTimeRange(span.start, span.end).split(' – ')[0]}</p>}
          {state.kind !== 'locked' && (
            <RecordButton entryId={entry.id} title={entry.title} seriesId={entry.series_id} seriesTitle={entry.series_title} />
          )}
          <button type="button" className="button ghost" onClick={() => dialog.current?.close()}>
            Close
          </button>
        </div>
      </div>
    </dialog>
  );
}
