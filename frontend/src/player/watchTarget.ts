// What the player makes of a watch target: the playlist it loads and the badge it shows.

import type { Mode, WatchTarget } from '../routes';
import type { StreamingFormat } from './streamingFormat';

/** The manifest of a watch target: an HLS multivariant playlist, or with `dash` an MPD. */
export function manifestPath(target: WatchTarget, format: StreamingFormat = 'hls'): string {
  const params = new URLSearchParams();
  if (format === 'dash') params.set('format', 'dash');
  if (target.entryId && !target.recordingId) params.set('schedule_entry_id', target.entryId);
  const base = target.recordingId
    ? `/api/v1/recordings/${target.recordingId}/manifest`
    : `/api/v1/tstv/${target.mode}/${target.channelId}/manifest`;
  const query = params.toString();
  return query ? `${base}?${query}` : base;
}

export const BADGES: Record<Mode, string> = { live: 'LIVE', startover: 'START OVER', catchup: 'CATCH-UP' };
