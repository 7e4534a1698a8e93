// Catch-Up: by channel (newest first, more on scroll) and by date (today and the 6 days before,
// with genre and channel filters). Every view is in the address, filters included; a filter the
// address gets wrong falls back to the nearest valid view with a note.

import { useEffect, useRef, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { useChannels, type EpgChannel } from '../api/queries';
import {
  useCatchupByChannel,
  useCatchupByDate,
  useGuide,
  useRecentlyAired,
  viewerZone,
  type CatchupProgram,
  type GuideEntry,
} from '../api/viewerQueries';
import { catchupCard } from '../components/catchupCard';
import { ProgrammeCard } from '../components/ProgrammeCard';
import { useNow } from '../components/useNow';
import { QueryError } from '../components/QueryError';
import { catchupPath } from '../routes';
import { openingChannel } from '../rules/catchupChannel';
import { clampDate, dayTabs, localDate } from '../rules/localDays';
import { spanOf } from '../rules/programmeProgress';
import { programmeState } from '../rules/programmeState';

const DAYS_BACK = 6;
const LOCKED_SHOWN = 24;

export function CatchupPage() {
  const [params, setParams] = useSearchParams();
  const channels = useChannels();
  const list = channels.data?.channels.filter((c) => c.tstv_enabled && c.catchup_enabled) ?? [];
  const rawView = params.get('view');
  const view = rawView === 'date' ? 'date' : 'channel';
  const viewNote =
    rawView !== null && rawView !== 'date' && rawView !== 'channel' ? 'That view does not exist: showing Catch-Up by channel.' : null;

  return (
    <section className="catchup" aria-labelledby="catchup-title">
      <div className="page-head">
        <h1 id="catchup-title">Catch-Up</h1>
        <div className="view-switch" role="tablist" aria-label="Catch-Up views">
          <Link role="tab" aria-selected={view === 'channel'} className={`day-tab${view === 'channel' ? ' active' : ''}`} to={catchupPath('channel')}>
            By channel
          </Link>
          <Link role="tab" aria-selected={view === 'date'} className={`day-tab${view === 'date' ? ' active' : ''}`} to={catchupPath('date')}>
            By date
          </Link>
        </div>
      </div>
      {channels.isError && <QueryError error={channels.error} onRetry={channels.refetch} />}
      {channels.data &&
        (view === 'channel' ? (
          <ByChannel channels={list} params={params} setParams={setParams} note={viewNote} />
        ) : (
          <ByDate channels={list} params={params} setParams={setParams} note={viewNote} />
        ))}
    </section>
  );
}

interface ViewProps {
  channels: EpgChannel[];
  params: URLSearchParams;
  setParams: ReturnType<typeof useSearchParams>[1];
  note: string | null;
}

function Notes({ notes }: { notes: (string | null | false | undefined)[] }) {
  const shown = notes.filter(Boolean);
  if (shown.length === 0) return null;
  return (
    <p className="notice" role="status">
      {shown.join(' ')}
    </p>
  );
}

function ChannelOptions({ channels }: { channels: EpgChannel[] }) {
  return channels.map((c) => (
    <option key={c.id} value={c.id}>
      {c.number} {c.name}
    </option>
  ));
}

function ByChannel({ channels, params, setParams, note }: ViewProps) {
  const asked = params.get('channel');
  // With no channel asked for, open on the first that has aired something (on a first start
  // only some channels may have yet), by what recently aired across channels.
  const recent = useRecentlyAired();
  const withContent = new Set(recent.data?.programs.map((p) => p.channel.id));
  const channel = openingChannel(channels, asked, withContent);
  const notes = [note, asked !== null && channel?.id !== asked && 'That channel has no Catch-Up: showing another channel.'];
  const pages = useCatchupByChannel(channel?.id ?? '');
  const total = pages.data?.pages[0]?.total;
  return (
    <>
      <Notes notes={notes} />
      <div className="filters">
        <label htmlFor="catchup-channel">Channel</label>
        <select
          id="catchup-channel"
          value={channel?.id ?? ''}
          onChange={(e) => setParams({ view: 'channel', channel: e.target.value })}
        >
          <ChannelOptions channels={channels} />
        </select>
        {total !== undefined && <span className="count">{total} programmes</span>}
      </div>
      <ProgrammeList pages={pages} channels={channels} empty="Nothing has aired on this channel yet. Programmes appear here as soon as they end." />
    </>
  );
}

function ByDate({ channels, params, setParams, note }: ViewProps) {
  const tz = viewerZone();
  const now = useNow(60_000);
  const today = localDate(now, tz);
  const { date, moved } = clampDate(params.get('date'), today, DAYS_BACK, 0);
  const askedChannel = params.get('channel') ?? '';
  const channel = channels.some((c) => c.id === askedChannel) ? askedChannel : '';
  // The day's guide names the genres and the programmes that aired but cannot be watched.
  const guide = useGuide(date, tz);
  const aired = (guide.data?.channels ?? [])
    .filter((c) => !channel || c.id === channel)
    .flatMap((c) => c.entries.map((e) => ({ e, c })))
    .filter(({ e }) => e.status === 'aired' && e.start_time >= (guide.data?.start ?? ''));
  const genres = [...new Set(aired.map(({ e }) => e.genre).filter((g): g is string => Boolean(g)))].sort();
  const askedGenre = params.get('genre') ?? '';
  const genre = !askedGenre || !guide.data || genres.includes(askedGenre) ? askedGenre : '';
  const notes = [
    note,
    moved && 'Catch-Up covers today and the 6 days before: showing the nearest day.',
    askedChannel && !channel && 'That channel has no Catch-Up: showing all channels.',
    askedGenre && guide.data && !genre && `No programme of that day is "${askedGenre}": showing every genre.`,
  ];
  const pages = useCatchupByDate(date, tz, genre, channel);
  const locked = aired
    .filter(({ e }) => e.catchup && !e.catchup.available && (!genre || e.genre === genre))
    .sort((a, b) => b.e.end_time.localeCompare(a.e.end_time)); // newest first, as the list above

  const set = (patch: Record<string, string>) => {
    const next = { view: 'date', date, genre, channel, ...patch };
    setParams(Object.fromEntries(Object.entries(next).filter(([, v]) => v)));
  };
  const [showAllLocked, setShowAllLocked] = useState(false);
  const lockedShown = showAllLocked ? locked : locked.slice(0, LOCKED_SHOWN);

  return (
    <>
      <Notes notes={notes} />
      <nav className="day-tabs" aria-label="Days">
        {dayTabs(today, DAYS_BACK, 0).map((t) => (
          <button
            type="button"
            key={t.date}
            className={`day-tab${t.date === date ? ' active' : ''}`}
            aria-pressed={t.date === date}
            onClick={() => set({ date: t.date })}
          >
            {t.label}
          </button>
        ))}
      </nav>
      <div className="filters">
        <label htmlFor="catchup-genre">Genre</label>
        <select id="catchup-genre" value={genre} onChange={(e) => set({ genre: e.target.value })}>
          <option value="">All genres</option>
          {genres.map((g) => (
            <option key={g} value={g}>
              {g}
            </option>
          ))}
        </select>
        <label htmlFor="catchup-date-channel">Channel</label>
        <select id="catchup-date-channel" value={channel} onChange={(e) => set({ channel: e.target.value })}>
          <option value="">All channels</option>
          <ChannelOptions channels={channels} />
        </select>
        {pages.data && <span className="count">{pages.data.pages[0]?.total ?? 0} programmes</span>}
      </div>
      <ProgrammeList pages={pages} channels={channels} empty="Nothing to watch from this day with these filters." />
      {locked.length > 0 && (
        <section aria-labelledby="locked-title" className="rail">
          <h2 id="locked-title" className="rail-title">
            Not available on Catch-Up
          </h2>
          <ul className="card-grid">
            {lockedShown.map(({ e, c }) => (
              <LockedCard key={e.id} entry={e} channel={c} now={now} />
            ))}
          </ul>
          {lockedShown.length < locked.length && (
            <button type="button" className="button wide" onClick={() => setShowAllLocked(true)}>
              Show all {locked.length}
            </button>
          )}
        </section>
      )}
    </>
  );
}

function LockedCard({ entry, channel, now }: { entry: GuideEntry; channel: EpgChannel | { id: string; name: string; number: number; logo_url: string | null }; now: Date }) {
  return (
    <ProgrammeCard
      p={{
        entryId: entry.id,
        channelId: channel.id,
        channelName: channel.name,
        channelNumber: channel.number,
        logoUrl: channel.logo_url,
        title: entry.title,
        span: spanOf(entry),
        still: entry.still_url ?? null,
      }}
      state={programmeState(entry, now)}
    />
  );
}

interface Pages {
  data?: { pages: { programs: CatchupProgram[] }[] };
  isPending: boolean;
  isError: boolean;
  error: unknown;
  refetch: () => unknown;
  hasNextPage: boolean;
  isFetchingNextPage: boolean;
  fetchNextPage: () => unknown;
}

/** Programmes with Play/Resume, more loaded as the viewer scrolls (or presses Load more). */
function ProgrammeList({ pages, channels, empty }: { pages: Pages; channels: EpgChannel[]; empty: string }) {
  const now = useNow(60_000);
  const programs = pages.data?.pages.flatMap((p) => p.programs) ?? [];
  const sentinel = useRef<HTMLDivElement>(null);
  const byId = new Map(channels.map((c) => [c.id, c]));
  const { hasNextPage, isFetchingNextPage, fetchNextPage } = pages;
  useEffect(() => {
    const el = sentinel.current;
    if (!el || !hasNextPage) return undefined;
    const observer = new IntersectionObserver((seen) => {
      if (seen.some((s) => s.isIntersecting) && !isFetchingNextPage) void fetchNextPage();
    });
    observer.observe(el);
    return () => {
      observer.disconnect();
    };
  }, [hasNextPage, isFetchingNextPage, fetchNextPage]);

  if (pages.isPending) {
    return (
      <ul className="card-grid" aria-busy="true" aria-label="Loading programmes">
        {Array.from({ length: 6 }, (_, i) => (
          <li key={i} className="programme-card skeleton" />
        ))}
      </ul>
    );
  }
  if (pages.isError) {
    return <QueryError error={pages.error} onRetry={pages.refetch} />;
  }
  if (programs.length === 0) return <p className="empty">{empty}</p>;
  return (
    <>
      <ul className="card-grid">
        {programs.map((p) => (
          <ProgrammeCard key={p.schedule_entry.id} {...catchupCard(p, byId.get(p.channel.id), now)} />
        ))}
      </ul>
      <div ref={sentinel} />
      {hasNextPage && (
        <button type="button" className="button wide" onClick={() => void fetchNextPage()} disabled={isFetchingNextPage}>
          {isFetchingNextPage ? 'Loading…' : 'Load more'}
        </button>
      )}
    </>
  );
}
