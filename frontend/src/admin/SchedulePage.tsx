// /admin/schedule: a channel's programmes on one day (7 back to 7 ahead) with their start-over and
// catch-up eligibility switches and a title search. The choice lives in the address
// (?channel=&date=&q=), so a reload or a shared link shows the same programmes.

import { useId, useMemo, useRef, useState } from 'react';
import { useSearchParams } from 'react-router';
import { describeAdminError } from './errors';
import { formatDateTime, formatProgrammeTimes, plural } from './format';
import { useRules, useSchedule, useSetRights, type Rights, type ScheduleEntry } from './queries';
import { matchesTitle, pickDay, scheduleDays } from './scheduleDays';
import { ConsolePage, QueryProblem, SkeletonCards, Switch } from './consoleWidgets';

const SHOW = {
  all: 'All programmes',
  aired: 'Aired',
  coming: 'On air and upcoming',
  off: 'With a right switched off',
} as const;
type Show = keyof typeof SHOW;
const NONE: Record<Show, string> = {
  all: 'No programmes on this day.',
  aired: 'Nothing has aired yet on this day.',
  coming: 'Nothing is on air or upcoming on this day.',
  off: 'No programme on this day has a right switched off.',
};

function isShow(v: string | null): v is Show {
  return v !== null && v in SHOW;
}

function shows(e: ScheduleEntry, show: Show): boolean {
  if (show === 'aired') return e.status === 'aired';
  if (show === 'coming') return e.status !== 'aired';
  if (show === 'off') return !e.catchup_eligible || !e.startover_eligible;
  return true;
}

function browserZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

export function SchedulePage() {
  const [params, setParams] = useSearchParams();
  const rules = useRules();
  const [tz] = useState(browserZone);
  const [days] = useState(() => scheduleDays(new Date(), tz));
  const channelFieldId = useId();
  const dayFieldId = useId();
  const searchId = useId();
  const showId = useId();

  const channels = (rules.data?.channels ?? []).filter((c) => c.cdn_channel_key);
  const wanted = params.get('channel');
  const channel = channels.find((c) => c.channel_id === wanted || c.cdn_channel_key === wanted) ?? channels[0] ?? null;
  const date = pickDay(days, params.get('date'));
  const query = params.get('q') ?? '';
  const wantedShow = params.get('show');
  const show: Show = isShow(wantedShow) ? wantedShow : 'all';
  const schedule = useSchedule(channel?.channel_id ?? null, date, tz);

  const set = (key: string, value: string) => {
    setParams(
      (p) => {
        const next = new URLSearchParams(p);
        if (value) next.set(key, value);
        else next.delete(key);
        return next;
      },
      { replace: true },
    );
  };

  const entries = schedule.data?.entries;
  const shown = useMemo(
    () => (entries ?? []).filter((e) => shows(e, show) && matchesTitle(e, query)),
    [entries, query, show],
  );
  const onAir = shown.find((e) => e.status === 'on_air');
  const switchedOff = (entries ?? []).filter((e) => !e.catchup_eligible || !e.startover_eligible).length;

  return (
    <ConsolePage
      name="schedule"
      title="Programme rights"
      lead={
        'Switch start-over or catch-up off for single programmes. A programme switched off leaves ' +
        "the viewers' listings on their next request."
      }
    >
      {rules.isError && !rules.data && (
        <QueryProblem error={rules.error} what="The channels" onRetry={rules.refetch} />
      )}
      <div className="schedule-filters" role="search" aria-label="Programmes">
        <div className="admin-field">
          <label htmlFor={channelFieldId}>Channel</label>
          <select
            id={channelFieldId}
            value={channel?.channel_id ?? ''}
            disabled={!rules.data}
            onChange={(e) => {
              set('channel', e.currentTarget.value);
            }}
          >
            {!rules.data && <option value="">Loading…</option>}
            {channels.map((c) => (
              <option key={c.channel_id} value={c.channel_id}>
                {c.channel_name}
              </option>
            ))}
          </select>
        </div>
        <div className="admin-field">
          <label htmlFor={dayFieldId}>Day</label>
          <select
            id={dayFieldId}
            value={date}
            onChange={(e) => {
              set('date', e.currentTarget.value);
            }}
          >
            {days.map((d) => (
              <option key={d.date} value={d.date}>
                {d.offset === 0 || Math.abs(d.offset) === 1 ? `${d.label} (${d.date})` : d.label}
              </option>
            ))}
          </select>
        </div>
        <div className="admin-field">
          <label htmlFor={showId}>Show</label>
          <select
            id={showId}
            value={show}
            onChange={(e) => {
              set('show', e.currentTarget.value === 'all' ? '' : e.currentTarget.value);
            }}
          >
            {Object.entries(SHOW).map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </div>
        <div className="admin-field grow">
          <label htmlFor={searchId}>Search titles</label>
          <input
            id={searchId}
            type="search"
            value={query}
            placeholder="Title or series"
            onChange={(e) => {
              set('q', e.currentTarget.value);
            }}
          />
        </div>
      </div>

      {(rules.isPending || (channel && schedule.isPending)) && <SkeletonCards count={6} label="Loading the programmes" />}
      {schedule.isError && !schedule.data && (
        <QueryProblem error={schedule.error} what="The programmes" onRetry={schedule.refetch} />
      )}
      {rules.data && !channel && <p className="empty admin-empty">No TSTV channel yet.</p>}
      {channel && schedule.data && (
        <>
          <p className="admin-summary" aria-live="polite">
            <span>
              {shown.length === (entries?.length ?? 0)
                ? plural(shown.length, 'programme')
                : `${plural(shown.length, 'programme')} shown of ${entries?.length ?? 0}`}
            </span>
            {switchedOff > 0 && <span className="tone-busy">{switchedOff} with a right switched off</span>}
            <span className="muted">Times in {tz}</span>
            {onAir && (
              <button
                type="button"
                className="link-button"
                onClick={() => {
                  document.getElementById(`programme-${onAir.id}`)?.scrollIntoView({ block: 'center' });
                }}
              >
                Go to the programme on air
              </button>
            )}
          </p>
          {shown.length === 0 ? (
            <p className="empty admin-empty">
              {query
                ? `No programme on this day matches “${query}”.`
                : NONE[show]}
            </p>
          ) : (
            <ul className="rights-list" aria-label={`Programmes of ${channel.channel_name}`}>
              {shown.map((e) => (
                <RightsRow key={e.id} entry={e} channelId={channel.channel_id} date={date} tz={tz} />
              ))}
            </ul>
          )}
        </>
      )}
    </ConsolePage>
  );
}

const STATUS_WORDS = { aired: 'Aired', on_air: 'On air', upcoming: 'Upcoming' } as const;

function catchupWords(e: ScheduleEntry): string | null {
  if (!e.catchup) return null;
  if (e.catchup.available) return `On Catch-Up until ${formatDateTime(new Date(e.catchup.expires_at), undefined, false)}`;
  switch (e.catchup.reason) {
    case 'program_not_eligible':
      return e.catchup_eligible
        ? 'Not on Catch-Up: the channel rules do not offer it'
        : 'Not on Catch-Up: switched off for this programme';
    case 'catch_up_window_expired':
      return 'Catch-Up window over';
    case 'not_recorded':
      return 'Not recorded';
    default:
      return 'Not on Catch-Up';
  }
}

function RightsRow({ entry, channelId, date, tz }: { entry: ScheduleEntry; channelId: string; date: string; tz: string }) {
  const save = useSetRights(channelId, date, tz);
  const [error, setError] = useState<string | null>(null);
  const [pendingField, setPendingField] = useState<keyof Rights | null>(null);
  const inFlight = useRef(false);
  const when = formatProgrammeTimes(new Date(entry.start_time), new Date(entry.end_time));

  const change = (field: keyof Rights, on: boolean) => {
    if (inFlight.current) return;
    inFlight.current = true;
    setError(null);
    setPendingField(field);
    save.mutate(
      { entryId: entry.id, rights: { [field]: on } },
      {
        onError: (e) => {
          setError(`Not saved: ${describeAdminError(e)}`);
        },
        onSettled: () => {
          inFlight.current = false;
          setPendingField(null);
        },
      },
    );
  };

  const episode =
    [
      entry.season_number != null ? `S${entry.season_number}` : '',
      entry.episode_number != null ? `E${entry.episode_number}` : '',
    ]
      .filter(Boolean)
      .join(' ') || null;
  const state = catchupWords(entry);
  // While a change is on its way the switch already shows it.
  const sent: Rights = save.isPending ? save.variables.rights : {};
  const startover = sent.startover_eligible ?? entry.startover_eligible;
  const catchup = sent.catchup_eligible ?? entry.catchup_eligible;
  return (
    <li id={`programme-${entry.id}`} className={`admin-card rights-row status-${entry.status}`}>
      <div className="rights-when">
        <span className="rights-time">{when}</span>
        <span className={`rights-status status-${entry.status}`}>{STATUS_WORDS[entry.status]}</span>
      </div>
      <div className="rights-what">
        <span className="rights-title">{entry.title}</span>
        {(entry.series_title ?? episode) && (
          <span className="muted">
            {[entry.series_title, episode].filter(Boolean).join(' · ')}
          </span>
        )}
        {state && <span className={`rights-state${entry.catchup?.available ? ' tone-ok' : ' muted'}`}>{state}</span>}
        {error && (
          <span className="tone-bad" role="alert">
            {error}
          </span>
        )}
      </div>
      <div className="rights-switches">
        <Switch
          label="Start-over"
          accessibleName={`Start-over: ${entry.title}, ${when}`}
          checked={startover}
          disabled={save.isPending}
          hint={pendingField === 'startover_eligible' ? 'Saving…' : undefined}
          onChange={(on) => {
            change('startover_eligible', on);
          }}
        />
        <Switch
          label="Catch-up"
          accessibleName={`Catch-up: ${entry.title}, ${when}`}
          checked={catchup}
          disabled={save.isPending}
          hint={pendingField === 'catchup_eligible' ? 'Saving…' : undefined}
          onChange={(on) => {
            change('catchup_eligible', on);
          }}
        />
      </div>
    </li>
  );
}
