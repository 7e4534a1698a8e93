// The stats overlay (toggled with I): which rung plays, Shaka's bandwidth estimate, the buffer
// ahead and dropped frames. Read from the player twice a second while shown.

import { useEffect, useState } from 'react';
import { describeRung, formatBitrate } from '../rules/quality';
import type { PlaybackStats, PlayerController } from './playerController';

const READ_EVERY_MS = 500;

export function PlayerStats({ controller }: { controller: PlayerController }) {
  const [stats, setStats] = useState<PlaybackStats>(() => controller.stats());
  useEffect(() => {
    const timer = window.setInterval(() => setStats(controller.stats()), READ_EVERY_MS);
    return () => {
      window.clearInterval(timer);
    };
  }, [controller]);
  return (
    <dl className="player-stats" aria-label="Playback stats" data-testid="player-stats">
      <dt>Rung</dt>
      <dd data-testid="stats-rung">{describeRung(stats.rung)}</dd>
      <dt>Bandwidth estimate</dt>
      <dd>{formatBitrate(stats.estimatedBandwidth)}</dd>
      <dt>Buffer ahead</dt>
      <dd>{stats.bufferAheadSeconds.toFixed(1)} s</dd>
      <dt>Dropped frames</dt>
      <dd>
        {stats.droppedFrames} of {stats.decodedFrames}
      </dd>
    </dl>
  );
}
