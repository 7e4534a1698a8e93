// The player bar. Shaka's own UI cannot show a programme's span with the live edge inside it, nor
// keep Jump to Live and Start Over as first-class buttons, so these controls are our own on
// Shaka's API (through PlayerController).

import type { Span } from '../rules/programmeProgress';
import type { Timeline } from './playerController';
import { Icon } from '../components/icons';
import { SeekBar } from './SeekBar';
import type { Mode } from './watchTarget';

interface Props {
  mode: Mode;
  span: Span | null;
  timeline: Timeline | null;
  paused: boolean;
  muted: boolean;
  atLiveEdge: boolean;
  canStartOver: boolean;
  onTogglePlay: () => void;
  onSeekBy: (seconds: number) => void;
  onSeek: (at: Date) => void;
  onJumpToLive: () => void;
  onStartOver: () => void;
  onToggleMute: () => void;
  onToggleFullscreen: () => void;
  onChannel: ((step: 1 | -1) => void) | null;
}

export function PlayerControls(p: Props) {
  const showJump = p.mode === 'startover' || (p.mode === 'live' && !p.atLiveEdge);
  return (
    <div className="player-bar">
      {p.span && p.timeline && <SeekBar mode={p.mode} span={p.span} timeline={p.timeline} onSeek={p.onSeek} />}
      <div className="player-buttons">
        <button type="button" className="icon-button" onClick={p.onTogglePlay} aria-label={p.paused ? 'Play' : 'Pause'}>
          <Icon name={p.paused ? 'play' : 'pause'} />
        </button>
        <button type="button" className="icon-button" onClick={() => p.onSeekBy(-10)} aria-label="Back 10 seconds">
          <Icon name="back" />
          <span className="icon-label">10</span>
        </button>
        <button type="button" className="icon-button" onClick={() => p.onSeekBy(10)} aria-label="Forward 10 seconds">
          <span className="icon-label">10</span>
          <Icon name="forward" />
        </button>
        <span className="spacer" />
        {p.canStartOver && (
          <button type="button" className="button" onClick={p.onStartOver}>
            Start Over
          </button>
        )}
        {showJump && (
          <button type="button" className="button live-button" onClick={p.onJumpToLive}>
            Jump to Live
          </button>
        )}
        {p.onChannel && (
          <>
            <button type="button" className="icon-button" onClick={() => p.onChannel?.(-1)} aria-label="Previous channel">
              <Icon name="down" />
            </button>
            <button type="button" className="icon-button" onClick={() => p.onChannel?.(1)} aria-label="Next channel">
              <Icon name="up" />
            </button>
          </>
        )}
        <button type="button" className="icon-button" onClick={p.onToggleMute} aria-label={p.muted ? 'Unmute' : 'Mute'}>
          <Icon name={p.muted ? 'mute' : 'volume'} />
        </button>
        <button type="button" className="icon-button" onClick={p.onToggleFullscreen} aria-label="Full screen">
          <Icon name="fullscreen" />
        </button>
      </div>
    </div>
  );
}
