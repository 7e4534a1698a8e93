import { Link } from 'react-router';
import { ApiError } from '../api/client';
import { useRecord, useRecordSeries, useRecordings, useSeriesRecordings } from '../api/recordingQueries';
import { recordRefusal, statusWord } from '../rules/recordings';
import { PATHS } from '../routes';

interface Props {
  entryId: string;
  title: string;
  seriesId?: string | null;
  seriesTitle?: string | null;
  small?: boolean;
}

function refusalOf(e: unknown): string {
  if (e instanceof ApiError) {
    const num = (k: string) => (typeof e.fields[k] === 'number' ? (e.fields[k]) : undefined);
    return recordRefusal({ status: e.status, detail: e.detail, usedHours: num('used_hours'), allowedHours: num('allowed_hours') });
  }
  return recordRefusal({ status: 0, detail: undefined });
}

/** *Record* (and *Record series* for an episode): once made, the recording's state with a way to
 * the Recordings page; a refusal in words (the quota with its figures). */
export function RecordButton({ entryId, title, seriesId, seriesTitle, small }: Props) {
  const recordings = useRecordings();
  const series = useSeriesRecordings();
  const record = useRecord();
  const recordSeries = useRecordSeries();
  const size = small ? ' small' : '';
  const existing = recordings.data?.recordings.find((r) => r.schedule_entry_id === entryId);
  const seriesOn = seriesId ? series.data?.series.some((s) => s.series_id === seriesId) : false;
  const error = record.error ?? recordSeries.error;
  return (
    <span className="record-actions">
      {existing ? (
        <Link className={`record-state${size}`} to={PATHS.recordings} aria-label={`${title}: ${statusWord(existing.status)}, see Recordings`}>
          <span className="record-dot" aria-hidden="true" /> {statusWord(existing.status)}
        </Link>
      ) : (
        <button
          type="button"
          className={`button${size}`}
          disabled={record.isPending || recordings.isPending}
          aria-label={`Record ${title}`}
          onClick={() => record.mutate(entryId)}
        >
          <span className="record-dot" aria-hidden="true" /> Record
        </button>
      )}
      {seriesId &&
        (seriesOn ? (
          <Link className={`record-state${size}`} to={PATHS.recordings} aria-label={`Recording the series ${seriesTitle ?? title}, see Recordings`}>
            Series recording on
          </Link>
        ) : (
          <button
            type="button"
            className={`button${size}`}
            disabled={recordSeries.isPending || series.isPending}
            aria-label={`Record series ${seriesTitle ?? title}`}
            onClick={() => recordSeries.mutate(seriesId)}
          >
            Record series
          </button>
        ))}
      {error && (
        <span className="record-error" role="alert">
          {refusalOf(error)}
        </span>
      )}
    </span>
  );
}
