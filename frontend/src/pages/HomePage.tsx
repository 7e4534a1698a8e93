import { Link } from 'react-router';
import { describeError } from '../api/client';
import { useChannels } from '../api/queries';
import { stillUrl, useContinueWatching, useRecentlyAired, type ContinueItem } from '../api/viewerQueries';
import { ChannelCard } from '../components/ChannelCard';
import { catchupCard } from '../components/catchupCard';
import { ProgrammeCard } from '../components/ProgrammeCard';
import { Rail } from '../components/Rail';
import { useNow } from '../components/useNow';
import { watchPath } from '../routes';
import { expiryPhrase, timeLeft } from '../rules/expiry';
import { resumePoint } from '../rules/programmeState';
import { ProgressBar } from '../components/ProgressBar';
import { Still } from '../components/Still';

export function HomePage() {
  const channels = useChannels();
  const continueWatching = useContinueWatching();
  const recent = useRecentlyAired();
  const now = useNow(15_000);
  const logos = new Map((channels.data?.channels ?? []).map((c) => [c.id, c]));
  return (
    <div className="home">
      <Rail title="On now" query={channels} items={channels.data?.channels} list="channel-grid" empty="No channels are on air yet. They appear here as soon as an operator adds them.">
        {(c) => <ChannelCard key={c.id} channel={c} now={now} />}
      </Rail>
      <Rail title="Continue Watching" query={continueWatching} items={continueWatching.data?.items} empty="Programmes you start on Catch-Up or Start Over appear here, so you can carry on where you stopped.">
        {(item) => <ContinueCard key={`${item.content_type}:${item.content_id}`} item={item} now={now} logo={logos.get(item.channel?.id ?? '')?.logo_url} />}
      </Rail>
      <Rail title="Recently aired" query={recent} items={recent.data?.programs} empty="Programmes appear here as soon as they finish airing.">
        {(p) => <ProgrammeCard key={p.schedule_entry.id} {...catchupCard(p, logos.get(p.channel.id), now)} />}
      </Rail>
      {(channels.isError || continueWatching.isError || recent.isError) && (
        <p className="sr-only" role="status">
          {describeError(channels.error ?? continueWatching.error ?? recent.error)}
        </p>
      )}
    </div>
  );
}

/** A partly watched programme: progress, time left, channel, and its expiry (highlighted in the
 * last 24 h). Plays as it can now: start-over while on air, catch-up after. */
function ContinueCard({ item, now, logo }: { item: ContinueItem; now: Date; logo: string | null | undefined }) {
  if (!item.channel || !item.start_time || !item.end_time) return null;
  const duration = item.duration_seconds ?? (Date.parse(item.end_time) - Date.parse(item.start_time)) / 1000;
  const expiry = item.expires_at ? expiryPhrase(new Date(item.expires_at), now) : null;
  const mode = item.playback === 'startover' ? 'startover' : 'catchup';
  const title = item.title ?? 'Programme';
  const resume = resumePoint(item.position_seconds, duration);
  return (
    <li className={`programme-card${expiry?.soon ? ' expiring' : ''}`}>
      <Link to={watchPath(mode, item.channel.id, item.content_id)} className="programme-card-still" aria-label={`Resume ${title}`}>
        <Still src={stillUrl(item.content_id)} logoUrl={logo} channelName={item.channel.name} />
        <ProgressBar value={item.progress ?? 0} label={`${title}: watched`} />
      </Link>
      <div className="programme-card-body">
        <h3 className="programme-card-title">{title}</h3>
        <p className="programme-meta">
          {item.channel.name} · {resume !== null ? timeLeft(resume, duration) : 'Watched'}
        </p>
        {expiry && <p className={`expiry${expiry.soon ? ' soon' : ''}`}>{expiry.text}</p>}
      </div>
    </li>
  );
}
