// The TV guide: channels down, time across, one local day at a time (7 back to 7 ahead), a now
// line, and a detail panel for the programme the viewer selects. Opens scrolled to now (once per
// day shown: it never moves under a viewer who scrolls).

import { useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { useGuide, viewerZone, type GuideChannel, type GuideEntry } from '../api/viewerQueries';
import { ChannelLogo } from '../components/ChannelLogo';
import { Icon } from '../components/icons';
import { ProgrammeDetail } from '../components/ProgrammeDetail';
import { useNow } from '../components/useNow';
import { QueryError } from '../components/QueryError';
import { guideDayPath } from '../routes';
import { dayWidth, hourMarks, nowLine, place, PX_PER_MINUTE } from '../rules/guideLayout';
import { clampDate, dayTabs, localDate } from '../rules/localDays';
import { programmeState } from '../rules/programmeState';
import { formatTimeOfDay } from '../rules/timeLabels';

const DAYS_BACK = 7;
const DAYS_AHEAD = 7;
const CHANNEL_COLUMN = 200;

export function GuidePage() {
  const tz = viewerZone();
  const now = useNow(30_000);
  const today = localDate(now, tz);
  const [params] = useSearchParams();
  const { date, moved } = clampDate(params.get('date'), today, DAYS_BACK, DAYS_AHEAD);
  const guide = useGuide(date, tz);
  const [selected, setSelected] = useState<{ entry: GuideEntry; channel: GuideChannel } | null>(null);
  const scroller = useRef<HTMLDivElement>(null);
  const scrolledFor = useRef<string | null>(null);

  const data = guide.data;
  const dayStart = useMemo(() => (data ? new Date(data.start) : null), [data]);
  const dayEnd = useMemo(() => (data ? new Date(data.end) : null), [data]);
  const width = dayStart && dayEnd ? dayWidth(dayStart, dayEnd) : 0;
  const marks = useMemo(() => (dayStart && dayEnd ? hourMarks(dayStart, dayEnd, tz) : []), [dayStart, dayEnd, tz]);
  const nowX = dayStart && dayEnd ? nowLine(now, dayStart, dayEnd) : null;

  // Scroll to now (or the evening of another day) once per day shown.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el || !dayStart || !dayEnd || scrolledFor.current === date) return;
    scrolledFor.current = date;
    const target = nowLine(new Date(), dayStart, dayEnd) ?? (date < today ? width - 6 * 60 * PX_PER_MINUTE : 0);
    el.scrollLeft = Math.max(0, target - 90 * PX_PER_MINUTE);
  }, [date, today, dayStart, dayEnd, width]);

  const tabs = dayTabs(today, DAYS_BACK, DAYS_AHEAD);
  return (
    <section className="guide" aria-labelledby="guide-title">
      <div className="page-head">
        <h1 id="guide-title">TV guide</h1>
        {moved && (
          <p className="notice" role="status">
            That day is outside the guide: showing the nearest day instead.
          </p>
        )}
      </div>
      <nav className="day-tabs" aria-label="Days">
        {tabs.map((t) => (
          <Link
            key={t.date}
            to={guideDayPath(t.date)}
            className={`day-tab${t.date === date ? ' active' : ''}`}
            aria-current={t.date === date ? 'page' : undefined}
          >
            {t.label}
          </Link>
        ))}
      </nav>
      {guide.isPending && <div className="guide-skeleton" aria-busy="true" aria-label="Loading the guide" />}
      {guide.isError && <QueryError error={guide.error} onRetry={guide.refetch} />}
      {data && dayStart && dayEnd && (
        <div className="guide-scroller" ref={scroller} onKeyDown={moveFocus}>
          <div className="guide-grid" style={{ width: width + CHANNEL_COLUMN }} role="grid" aria-label={`Programmes, ${date}`}>
            <div className="guide-ruler" role="row" style={{ paddingLeft: CHANNEL_COLUMN }}>
              <span className="guide-corner" role="columnheader">
                Channel
              </span>
              {marks.map((m) => (
                <span key={m.left} className="guide-hour" style={{ left: CHANNEL_COLUMN + m.left }} role="columnheader">
                  {m.label}
                </span>
              ))}
            </div>
            {data.channels.map((channel, row) => (
              <div className="guide-row" role="row" key={channel.id}>
                <div className="guide-channel" role="rowheader">
                  <ChannelLogo url={channel.logo_url} number={channel.number} name={channel.name} />
                  <span>
                    <span className="channel-number">{channel.number}</span> {channel.name}
                  </span>
                </div>
                <div className="guide-track" style={{ width }}>
                  {channel.entries.length === 0 && <span className="guide-empty">No listings yet</span>}
                  {channel.entries.map((entry, col) => {
                    const box = place(new Date(entry.start_time), new Date(entry.end_time), dayStart, dayEnd);
                    const state = programmeState(entry, now, tz);
                    return (
                      <button
                        type="button"
                        key={entry.id}
                        role="gridcell"
                        className={`guide-cell ${state.kind}`}
                        style={{ left: box.left, width: Math.max(2, box.width - 2) }}
                        data-row={row}
                        data-col={col}
                        data-start={entry.start_time}
                        onClick={() => setSelected({ entry, channel })}
                      >
                        <span className="guide-cell-title">{entry.title}</span>
                        <span className="guide-cell-meta">
                          {state.kind === 'locked' && <Icon name="lock" />}
                          {formatTimeOfDay(new Date(entry.start_time))} {cellHint(state)}
                        </span>
                        <span className="sr-only">
                          , {channel.name}: {cellWords(state)}
                        </span>
                      </button>
                    );
                  })}
                </div>
              </div>
            ))}
            {nowX !== null && (
              <div className="guide-now" style={{ left: CHANNEL_COLUMN + nowX }} aria-hidden="true">
                <span>Now</span>
              </div>
            )}
          </div>
        </div>
      )}
      {selected && (
        <ProgrammeDetail
          entry={selected.entry}
          channel={selected.channel}
          now={now}
          onClose={() => setSelected(null)}
        />
      )}
    </section>
  );
}

type State = ReturnType<typeof programmeState>;

function cellHint(state: State): string {
  switch (state.kind) {
    case 'on_air':
      return '· On now';
    case 'available':
      return state.expiry.soon ? `· ${state.expiry.text}` : '';
    case 'locked':
      return '';
    case 'upcoming':
      return '';
  }
}

function cellWords(state: State): string {
  switch (state.kind) {
    case 'on_air':
      return state.startOver ? 'on now, Watch live or Start Over' : 'on now, Watch live';
    case 'available':
      return `${state.resumeAt ? 'Resume' : 'Play'}, ${state.expiry.text}`;
    case 'locked':
      return state.reason;
    case 'upcoming':
      return 'upcoming';
  }
}

/** Arrow keys move between programmes: along a channel, or to the programme at the same time
 * on the channel above or below. */
function moveFocus(e: KeyboardEvent<HTMLDivElement>) {
  const cell = e.target instanceof HTMLElement ? e.target.closest<HTMLElement>('.guide-cell') : null;
  if (!cell) return;
  const row = Number(cell.dataset.row);
  const col = Number(cell.dataset.col);
  const grid = e.currentTarget;
  let next: HTMLElement | null = null;
  if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
    next = grid.querySelector(`.guide-cell[data-row="${row}"][data-col="${col + (e.key === 'ArrowRight' ? 1 : -1)}"]`);
  } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
    const at = Date.parse(cell.dataset.start ?? '');
    const cells = Array.from(
      grid.querySelectorAll<HTMLElement>(`.guide-cell[data-row="${row + (e.key === 'ArrowDown' ? 1 : -1)}"]`),
    );
    next = cells.filter((c) => Date.parse(c.dataset.start ?? '') <= at).pop() ?? cells[0] ?? null;
  } else {
    return;
  }
  e.preventDefault();
  if (next) {
    next.focus();
    next.scrollIntoView({ block: 'nearest', inline: 'nearest' });
  }
}
