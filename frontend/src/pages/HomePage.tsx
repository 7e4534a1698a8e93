import { useChannels } from '../api/queries';
import { describeError } from '../api/client';
import { ChannelCard } from '../components/ChannelCard';
import { useNow } from '../components/useNow';

export function HomePage() {
  const channels = useChannels();
  const now = useNow(15_000);
  return (
    <section aria-labelledby="on-now-title" className="rail">
      <h1 id="on-now-title" className="rail-title">
        On now
      </h1>
      {channels.isPending && (
        <ul className="channel-grid" aria-busy="true" aria-label="Loading channels">
          {Array.from({ length: 5 }, (_, i) => (
            <li key={i} className="channel-card skeleton" />
          ))}
        </ul>
      )}
      {channels.isError && (
        <div className="error-box" role="alert">
          <p>{describeError(channels.error)}</p>
          <button type="button" className="button" onClick={() => void channels.refetch()}>
            Try again
          </button>
        </div>
      )}
      {channels.data && channels.data.channels.length === 0 && (
        <p className="empty">No channels are on air yet. They appear here as soon as an operator adds them.</p>
      )}
      {channels.data && channels.data.channels.length > 0 && (
        <ul className="channel-grid">
          {channels.data.channels.map((c) => (
            <ChannelCard key={c.id} channel={c} now={now} />
          ))}
        </ul>
      )}
    </section>
  );
}
