import { Link } from 'react-router';
import type { EpgChannel } from '../api/queries';
import { airedFraction, minutesLeft, spanOf } from '../rules/programmeProgress';
import { formatTimeRange } from '../rules/timeLabels';
import { watchPath } from '../routes';
import { ChannelLogo } from './ChannelLogo';
import { ProgressBar } from './ProgressBar';

/** A live channel: logo, number, name, the programme on air and how far it has got. */
export function ChannelCard({ channel, now }: { channel: EpgChannel; now: Date }) {
  const programme = channel.now;
  const span = programme ? spanOf(programme) : null;
  return (
    <li className="channel-card">
      <Link to={watchPath('live', channel.id)} className="channel-link">
        <ChannelLogo url={channel.logo_url} number={channel.number} name={channel.name} />
        <div className="channel-body">
          <div className="channel-name">
            <span className="channel-number">{channel.number}</span> {channel.name}
          </div>
          {programme && span ? (
            <>
              <div className="programme-title">{programme.title}</div>
              <div className="programme-meta">
                {formatTimeRange(span.start, span.end)} · {minutesLeft(span, now)}
              </div>
              <ProgressBar value={airedFraction(span, now)} label={`${programme.title} progress`} />
            </>
          ) : (
            <div className="programme-meta">Nothing on air</div>
          )}
        </div>
        <span className="live-pill" aria-hidden="true">
          LIVE
        </span>
        <span className="sr-only">Watch live</span>
      </Link>
    </li>
  );
}
