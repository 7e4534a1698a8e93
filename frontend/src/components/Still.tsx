import { useState } from 'react';
import { ChannelLogo } from './ChannelLogo';

interface Props {
  src: string | null | undefined;
  logoUrl?: string | null;
  channelNumber?: number;
  channelName: string;
}

/** A programme's still from its own recording, or the channel's logo when there is none. */
export function Still({ src, logoUrl, channelNumber, channelName }: Props) {
  const [failed, setFailed] = useState(false);
  if (!src || failed) {
    return (
      <span className="still still-fallback">
        <ChannelLogo url={logoUrl ?? null} number={channelNumber ?? 0} name={channelName} />
      </span>
    );
  }
  return <img className="still" src={src} alt="" loading="lazy" width={320} height={180} onError={() => setFailed(true)} />;
}
