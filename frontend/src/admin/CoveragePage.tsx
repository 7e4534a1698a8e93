// /admin/coverage: what each channel's archive holds inside its retention window (recorded ranges,
// gaps, the viewer window, key changes) and its content keys.

import { useEffect, useId, useState } from 'react';
import { useLocation } from 'react-router';
import { gapKind, spanOf, zoomChoices } from './coverageGeometry';
import { CoverageLegend, CoverageTimeline } from './CoverageTimeline';
import {
  diskForecast,
  formatBytes,
  formatClockTime,
  formatDateTime,
  formatHours,
  formatSpan,
  formatWindow,
  plural,
} from './format';
import { KeysPanel } from './KeysPanel';
import {
  useBackfills,
  useCoverage,
  useStartBackfill,
  type BackfillJob,
  type Coverage,
  type DiskBudget,
} from './queries';
import { ConsolePage, QueryProblem, SkeletonCards } from './consoleWidgets';

/** The views: 0 is each channel's whole retention window. */
const VIEWS = [0, 24, 6, 1, 0.25] as const;
const VIEW_WORDS: Record<(typeof VIEWS)[number], string> = {
  0: 'Whole window',
  24: 'Last 24 h',
  6: 'Last 6 h',
  1: 'Last hour',
  0.25: 'Last 15 min',
};
const SHOWN_GAPS = 6;

export function CoveragePage() {
  const coverage = useCoverage();
  const [view, setView] = useState<(typeof VIEWS)[number]>(0);
  const viewName = useId();
  const { hash } = useLocation();
  const loaded = Boolean(coverage.data);

  // A link from the streaming page (#archive-ch1) lands on that channel once it is drawn.
  useEffect(() => {
    if (loaded && hash) document.getElementById(decodeURIComponent(hash.slice(1)))?.scrollIntoView();
  }, [loaded, hash]);

  return (
    <ConsolePage
      name="coverage"
      title="Archive & keys"
      lead="What each channel has recorded inside its retention window, where it has gaps, and its content keys."
      refreshing={coverage}
    >
      <fieldset className="admin-segmented">
        <legend>View</legend>
        {VIEWS.map((v) => (
          <label key={v} className={view === v ? 'checked' : undefined}>
            <input
              type="radio"
              name={viewName}
              value={v}
              checked={view === v}
              onChange={() => {
                setView(v);
              }}
            />
            {VIEW_WORDS[v]}
          </label>
        ))}
      </fieldset>
      {coverage.data && <DiskPanel disk={coverage.data.disk} />}
      <CoverageLegend />

      {coverage.isPending && <SkeletonCards count={3} label="Loading the archive coverage" tall />}
      {coverage.isError && !coverage.data && (
        <QueryProblem error={coverage.error} what="The archive coverage" onRetry={coverage.refetch} />
      )}
      {coverage.data && coverage.data.channels.length === 0 && (
        <p className="empty admin-empty">No TSTV channel has an archive yet.</p>
      )}
      {coverage.data && coverage.data.channels.length > 0 && (
        <ul className="coverage-list">
          {coverage.data.channels.map((c) => (
            <ChannelArchive key={c.channel_key} coverage={c} view={view} />
          ))}
        </ul>
      )}
    </ConsolePage>
  );
}

/** The archive's disk against ARCHIVE_DISK_FLOOR: free space, the forecast, evictions. */
function DiskPanel({ disk }: { disk: DiskBudget }) {
  const titleId = useId();
  const tone = disk.storage_full ? 'tone-bad' : disk.full_in_seconds === 0 ? 'tone-busy' : 'tone-ok';
  return (
    <section className="admin-card disk-card" aria-labelledby={titleId}>
      <h2 id={titleId}>Disk</h2>
      <p>
        <strong data-testid="disk-free">{formatBytes(disk.free_bytes)}</strong> free of {formatBytes(disk.total_bytes)}
        {' · '}floor {formatBytes(disk.floor_bytes)}
        {disk.evicted_bytes > 0 && ` · ${formatBytes(disk.evicted_bytes)} of the oldest catch-up evicted to keep it`}
      </p>
      <p className={tone} data-testid="disk-forecast" role={disk.storage_full ? 'alert' : undefined}>
        {diskForecast(disk)}
      </p>
    </section>
  );
}

function ChannelArchive({ coverage, view }: { coverage: Coverage; view: number }) {
  const titleId = useId();
  const retentionHours = coverage.retention_window.hours;
  // A view no shorter than the window is the whole window.
  const hours = view === 0 || !zoomChoices(retentionHours).includes(view) ? retentionHours : view;
  return (
    <li>
      <article className="admin-card archive-card" id={`archive-${coverage.channel_key}`} aria-labelledby={titleId}>
        <header className="archive-head">
          <div className="encoder-title">
            <h2 id={titleId}>{coverage.channel_name}</h2>
            <code className="channel-key">{coverage.channel_key}</code>
          </div>
          <p className="archive-facts">
            <strong data-testid="recorded-hours">{formatHours(coverage.recorded_hours)}</strong> recorded of{' '}
            {formatWindow(retentionHours)} retention · viewers get the last {formatWindow(coverage.viewer_window.hours)}
            {' · '}
            {coverage.recorded_until
              ? `recorded until ${formatClockTime(new Date(coverage.recorded_until))}`
              : 'nothing recorded'}
            {' · '}
            <span data-testid="catchup-available">
              catch-up available: {formatHours(coverage.catchup_hours_available)}
            </span>
            {coverage.evicted_segments > 0 && (
              <span data-testid="evicted">
                {' · '}
                {formatBytes(coverage.evicted_bytes)} evicted for disk space
                {coverage.evicted_before ? ` (nothing before ${formatDateTime(new Date(coverage.evicted_before))} but recordings)` : ''}
              </span>
            )}
            {coverage.held_by_recordings.length > 0 && (
              <span data-testid="held-by-recordings">
                {' · '}
                recordings hold {formatHours(coverage.held_by_recordings_hours)} ({formatBytes(coverage.held_by_recordings_bytes)}
                {coverage.held_beyond_retention_bytes > 0
                  ? `, ${formatBytes(coverage.held_beyond_retention_bytes)} of it beyond retention`
                  : ''}
                )
              </span>
            )}
          </p>
        </header>
        <CoverageTimeline coverage={coverage} hours={hours} />
        {coverage.merged_gaps > 0 && (
          <p className="muted archive-note">
            {plural(coverage.merged_gaps, 'short gap')} merged into the recorded stretches to keep the answer small.
          </p>
        )}
        <div className="archive-details">
          <GapList coverage={coverage} />
          <BackfillList coverage={coverage} />
          <KeysPanel channelKey={coverage.channel_key} channelName={coverage.channel_name} />
        </div>
      </article>
    </li>
  );
}

const KIND_WORDS = { stopped: 'not recording now', outage: 'encoder down', before: 'not recorded yet' } as const;

function GapList({ coverage }: { coverage: Coverage }) {
  const titleId = useId();
  const [all, setAll] = useState(false);
  const window = spanOf(coverage.retention_window);
  const gaps = coverage.gaps
    .map((g) => ({ ...g, kind: gapKind(spanOf(g), window) }))
    .filter((g) => g.kind !== 'before')
    .reverse(); // newest first
  const first = coverage.recorded[0];
  const shown = all ? gaps : gaps.slice(0, SHOWN_GAPS);
  return (
    <section className="gap-list" aria-labelledby={titleId}>
      <h3 id={titleId}>Gaps ({gaps.length})</h3>
      {first && (
        <p className="muted">
          Oldest recording: {formatDateTime(new Date(first.start))}
          {Date.parse(first.start) > window.start + 1000 ? ' (nothing before it in the window)' : ''}.
        </p>
      )}
      {gaps.length === 0 ? (
        <p className="tone-ok">{first ? 'No gap since recording began.' : 'Nothing recorded in the window.'}</p>
      ) : (
        <ul aria-label={`Gaps of ${coverage.channel_name}`}>
          {shown.map((g) => (
            <li key={g.start} className={`gap-item kind-${g.kind}`}>
              <span className="gap-when">
                {formatDateTime(new Date(g.start))} – {formatClockTime(new Date(g.end))}
              </span>{' '}
              <span className="gap-length">{formatSpan(g.seconds)}</span>{' '}
              <span className="muted">{KIND_WORDS[g.kind]}</span>{' '}
              {g.kind === 'outage' && <FillButton coverage={coverage} gap={g} />}
            </li>
          ))}
        </ul>
      )}
      {gaps.length > SHOWN_GAPS && (
        <button
          type="button"
          className="link-button"
          onClick={() => {
            setAll((a) => !a);
          }}
        >
          {all ? 'Show the newest only' : `Show all ${gaps.length} gaps`}
        </button>
      )}
    </section>
  );
}

/** "Fill from source": backfill a gap from the channel's own source; the job's progress replaces it. */
function FillButton({ coverage, gap }: { coverage: Coverage; gap: { start: string; end: string } }) {
  const start = useStartBackfill();
  const jobs = useBackfills();
  const job = jobs.data
    ?.filter((j) => j.channel_key === coverage.channel_key && j.start === gap.start)
    .at(-1);
  if (job && job.state !== 'done') return <JobState job={job} />;
  return (
    <>
      <button
        type="button"
        className="link-button"
        disabled={start.isPending}
        aria-label={`Fill from source: ${coverage.channel_name} ${formatDateTime(new Date(gap.start))}`}
        onClick={() => {
          start.mutate({ channel_key: coverage.channel_key, start: gap.start, end: gap.end });
        }}
      >
        Fill from source
      </button>
      {start.isError && <span className="tone-bad"> could not start: {String(start.error)}</span>}
    </>
  );
}

function JobState({ job }: { job: BackfillJob }) {
  if (job.state === 'failed') return <span className="tone-bad">fill failed: {job.error}</span>;
  const pct = Math.round(job.progress * 100);
  return (
    <span role="status">
      {job.state === 'queued' ? 'fill queued' : 'filling'}{' '}
      <progress max={100} value={pct} aria-label={`Filling from source, ${pct} %`} /> {pct} %
    </span>
  );
}

/** Backfilled stretches (written after the fact, not live), and backfill jobs of this channel. */
function BackfillList({ coverage }: { coverage: Coverage }) {
  const titleId = useId();
  const jobs = useBackfills();
  const active = (jobs.data ?? []).filter(
    (j) => j.channel_key === coverage.channel_key && (j.state === 'queued' || j.state === 'running'),
  );
  if (coverage.backfilled.length === 0 && active.length === 0) return null;
  return (
    <section className="gap-list" aria-labelledby={titleId}>
      <h3 id={titleId}>Backfilled ({coverage.backfilled.length})</h3>
      {active.map((j) => (
        <p key={j.id}>
          {j.origin === 'first_run' ? 'First-run backfill' : 'Backfill'} {formatDateTime(new Date(j.start))} –{' '}
          {formatClockTime(new Date(j.end))}: <JobState job={j} />
        </p>
      ))}
      <ul aria-label={`Backfilled stretches of ${coverage.channel_name}`}>
        {coverage.backfilled
          .slice()
          .reverse()
          .slice(0, SHOWN_GAPS)
          .map((b) => (
            <li key={b.start} className="gap-item backfilled">
              <span className="gap-when">
                {formatDateTime(new Date(b.start))} – {formatClockTime(new Date(b.end))}
              </span>{' '}
              <span className="gap-length">{formatSpan(b.seconds)}</span> <span className="muted">backfilled</span>
            </li>
          ))}
      </ul>
    </section>
  );
}
