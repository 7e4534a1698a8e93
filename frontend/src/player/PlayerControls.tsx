// The player bar. Shaka's own UI cannot show a programme's span with the live edge inside it, nor
// keep Jump to Live and Start Over as first-class buttons, so these controls are our own on
// Shaka's API (through PlayerController).

import type { Span } from '../rules/programmeProgress';
import { choiceLabel, type QualityChoice, type Rung } from '../rules/quality';
import type { Thumbnail, Timeline } from './playerController';
import { Icon } from '../components/icons';
import { SeekBar } from './SeekBar';
import type { Mode } from '../routes';

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
  thumbnailAt: (at: Date) => Promise<Thumbnail | null>;
  rungs: Rung[];
  playingRung: Rung | null;
  quality: QualityChoice;
  onQuality: (choice: QualityChoice) => void;
}

/** Auto (the default: the player adapts to the connection) or one rung of the ladder. */
function QualityMenu({ rungs, playing, quality, onQuality }: Pick<Props, 'rungs' | 'quality' | 'onQuality'> & { playing: Rung | null }) {
  return (
    <select
      className="quality-select"
      aria-label="Quality"
      value={String(quality)}
      onChange={(e) => onQuality(e.target.value === 'auto' ? 'auto' : Number(e.target.value))}
    >
      <option value="auto">{choiceLabel('auto', playing)}</option>
      {rungs.map((r) => (
        <option key={r.height} value={String(r.height)}>
          {r.label}
        </option>
      ))}
    </select>
  );
}

export function PlayerControls(p: Props) {
  const showJump = p.mode === 'startover' || (p.mode === 'live' && !p.atLiveEdge);
  return (
    <div className="player-bar">
      {p.span && p.timeline && (
        <SeekBar mode={p.mode} span={p.span} timeline={p.timeline} onSeek={p.onSeek} thumbnailAt={p.thumbnailAt} />
      )}
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
        {p.rungs.length > 1 && (
          <QualityMenu rungs={p.rungs} playing={p.playingRung} quality={p.quality} onQuality={p.onQuality} />
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
