import { useState } from 'react';

/** The channel's logo, or its number on a tile when it has none (or it does not load). */
export function ChannelLogo({ url, number, name }: { url: string | null; number: number; name: string }) {
  const [failed, setFailed] = useState(false);
  if (!url || failed) {
    return (
      <span className="channel-logo channel-logo-fallback" aria-hidden="true">
        <span>{number}</span>
        <small>{name}</small>
      </span>
    );
  }
  return (
    <img className="channel-logo" src={url} alt="" width={96} height={54} onError={() => setFailed(true)} />
  );
}
