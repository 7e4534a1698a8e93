import { Link } from 'react-router';
import { watchPath } from '../routes';
import { durationSeconds, type Span } from '../rules/programmeProgress';
import type { ProgrammeState } from '../rules/programmeState';
import { formatDay, formatTimeOfDay } from '../rules/timeLabels';
import { timeLeft } from '../rules/expiry';
import { Icon } from './icons';
import { RecordButton } from './RecordButton';
import { ProgressBar } from './ProgressBar';
import { Still } from './Still';

export interface CardProgramme {
  entryId: string;
  channelId: string;
  channelName: string;
  channelNumber?: number;
  logoUrl?: string | null;
  title: string;
  span: Span;
  still: string | null;
}

function formatDuration(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const m = Math.round(seconds / 60);
  return m < 60 ? `${m} min` : `${Math.floor(m / 60)} h ${m % 60 ? `${m % 60} min` : ''}`.trim();
}

/** A programme in a rail or a list: its still, what it is, when it aired, how long it stays, and
 * Play / Resume (or the lock and why). */
export function ProgrammeCard({ p, state }: { p: CardProgramme; state: ProgrammeState }) {
  const duration = durationSeconds(p.span);
  const aired = `${formatDay(p.span.start)} · ${formatTimeOfDay(p.span.start)}`;
  const available = state.kind === 'available' ? state : null;
  const play = watchPath('catchup', p.channelId, p.entryId);
  const action = available?.resumeAt ? 'Resume' : 'Play';
  return (
    <li className={`programme-card${state.kind === 'locked' ? ' locked' : ''}${available?.expiry.soon ? ' expiring' : ''}`}>
      <div className="programme-card-still">
        <Still src={p.still} logoUrl={p.logoUrl} channelNumber={p.channelNumber} channelName={p.channelName} />
        {available && available.progress > 0 && (
          <ProgressBar value={available.progress} label={`${p.title}: watched`} />
        )}
        {state.kind === 'locked' && (
          <span className="lock">
            <Icon name="lock" />
          </span>
        )}
      </div>
      <div className="programme-card-body">
        <h3 className="programme-card-title">{p.title}</h3>
        <p className="programme-meta">
          {p.channelName} · {aired} · {formatDuration(duration)}
        </p>
        {available && (
          <p className={`expiry${available.expiry.soon ? ' soon' : ''}`}>
            {available.expiry.text}
            {available.resumeAt ? ` · ${timeLeft(available.resumeAt, duration)}` : ''}
          </p>
        )}
        {state.kind === 'locked' && <p className="locked-reason">{state.reason}</p>}
        {available && (
          <div className="programme-card-actions">
            <Link className="button primary small" to={play} aria-label={`${action} ${p.title}`}>
              {action}
            </Link>
            <RecordButton entryId={p.entryId} title={p.title} small />
          </div>
        )}
      </div>
    </li>
  );
}
