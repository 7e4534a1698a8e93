// The seek bar: the programme's span, what can be played of it, where the viewer is and where live
// is. Seeks are kept between the programme start (or the oldest instant available) and live.

import { useEffect, useRef, useState } from 'react';
import { holeAt, holeLabel } from '../rules/archiveHoles';
import { capSeek, isAtLiveEdge } from '../rules/liveEdge';
import { durationSeconds, offsetInProgramme, type Span } from '../rules/programmeProgress';
import { offsetAtPointer, previewLabel, previewLeft } from '../rules/seekPreview';
import { behindLive, formatClock, formatTimeOfDay } from '../rules/timeLabels';
import type { Thumbnail, Timeline } from './playerController';
import type { Mode } from '../routes';

interface Props {
  mode: Mode;
  span: Span;
  timeline: Timeline;
  onSeek: (at: Date) => void;
  /** The picture at an instant, for the preview (null when the stream has no thumbnails). */
  thumbnailAt?: (at: Date) => Promise<Thumbnail | null>;
}

const PREVIEW_WIDTH_PX = 176;

const KEY_STEPS: Record<string, number | 'start' | 'end'> = {
  ArrowLeft: -10,
  ArrowDown: -10,
  ArrowRight: 10,
  ArrowUp: 10,
  PageDown: -60,
  PageUp: 60,
  Home: 'start',
  End: 'end',
};

const pct = (x: number, total: number) => `${total > 0 ? Math.min(100, Math.max(0, (x / total) * 100)) : 0}%`;

export function positionLabel(mode: Mode, span: Span, timeline: Timeline, at: Date): string {
  if (mode === 'catchup') return `${formatClock(offsetInProgramme(span, at))} / ${formatClock(durationSeconds(span))}`;
  const edge = timeline.liveEdge ?? timeline.seekEnd;
  const behind = (edge.getTime() - at.getTime()) / 1000;
  return isAtLiveEdge(behind) ? 'Live' : behindLive(behind);
}

/** The picture and time a seek under the pointer would land on. */
function SeekPreview({ thumbnail, label, left }: { thumbnail: Thumbnail | null; label: string; left: number }) {
  const k = thumbnail ? PREVIEW_WIDTH_PX / thumbnail.width : 1;
  return (
    <div className="seek-preview" data-testid="seek-preview" aria-hidden="true" style={{ left: `${left}%` }}>
      {thumbnail && (
        <div
          className="seek-preview-picture"
          data-testid="seek-preview-picture"
          data-src={thumbnail.url}
          style={{
            width: PREVIEW_WIDTH_PX,
            height: Math.round(thumbnail.height * k),
            backgroundImage: `url("${thumbnail.url}")`,
            backgroundSize: `${thumbnail.sheetWidth * k}px ${thumbnail.sheetHeight * k}px`,
            backgroundPosition: `${-thumbnail.x * k}px ${-thumbnail.y * k}px`,
          }}
        />
      )}
      <span className="seek-preview-time">{label}</span>
    </div>
  );
}

export function SeekBar({ mode, span, timeline, onSeek, thumbnailAt }: Props) {
  const [dragging, setDragging] = useState<number | null>(null);
  const [hover, setHover] = useState<number | null>(null);
  const [trackWidth, setTrackWidth] = useState(0);
  const [thumbnail, setThumbnail] = useState<Thumbnail | null>(null);
  const trackRef = useRef<HTMLDivElement>(null);
  const duration = durationSeconds(span);
  const startMs = span.start.getTime();
  const offsetOf = (d: Date) => (d.getTime() - startMs) / 1000;
  // What can be played of this programme: from the oldest available instant to live (or its end).
  const available = {
    start: Math.max(0, offsetOf(timeline.seekStart)),
    end: Math.min(duration, offsetOf(timeline.seekEnd)),
  };
  const position = dragging ?? offsetInProgramme(span, timeline.playhead);
  const liveOffset = offsetOf(timeline.liveEdge ?? timeline.seekEnd);
  const showLive = mode !== 'catchup' && liveOffset >= 0 && liveOffset <= duration;
  const at = (offset: number) => new Date(startMs + capSeek(offset, available) * 1000);

  const commit = (offset: number) => {
    setDragging(null);
    onSeek(at(offset));
  };

  // The preview follows the pointer, or the thumb while dragging; its picture is asked per second.
  const previewOffset = dragging ?? hover;
  const previewSecond = previewOffset === null ? null : Math.floor(previewOffset);
  useEffect(() => {
    if (previewSecond === null || !thumbnailAt) return undefined;
    let current = true;
    void thumbnailAt(new Date(startMs + previewSecond * 1000)).then((t) => {
      if (current) setThumbnail(t);
    });
    return () => {
      current = false;
    };
  }, [previewSecond, thumbnailAt, startMs]);
  const onPointerMove = (clientX: number) => {
    const box = trackRef.current?.getBoundingClientRect();
    if (!box) return;
    setTrackWidth(box.width);
    setHover(offsetAtPointer(clientX, box, duration, available));
  };
  const edgeMs = (timeline.liveEdge ?? timeline.seekEnd).getTime();
  // The archive's holes inside this programme, drawn on the track and named under it.
  const holes = timeline.holes.filter((h) => h.end > span.start && h.start < span.end);
  const inHole = (offset: number) => holeAt(holes, new Date(startMs + offset * 1000)) !== null;

  return (
    <div className="seekbar">
      {previewOffset !== null && (
        <SeekPreview
          thumbnail={thumbnail}
          label={
            inHole(previewOffset)
              ? 'Not recorded'
              : previewLabel(mode === 'catchup', previewOffset, (edgeMs - (startMs + previewOffset * 1000)) / 1000)
          }
          left={previewLeft(previewOffset, duration, PREVIEW_WIDTH_PX + 12, trackWidth)}
        />
      )}
      <div className="seek-track" aria-hidden="true" ref={trackRef}>
        <div
          className="seek-available"
          style={{ left: pct(available.start, duration), width: pct(available.end - available.start, duration) }}
        />
        <div className="seek-played" style={{ width: pct(position, duration) }} />
        {holes.map((h) => {
          const from = Math.max(0, offsetOf(h.start));
          return (
            <div
              key={h.start.getTime()}
              className="seek-hole"
              style={{ left: pct(from, duration), width: pct(Math.min(duration, offsetOf(h.end)) - from, duration) }}
            />
          );
        })}
        {showLive && <div className="seek-live" style={{ left: pct(liveOffset, duration) }} title="Live" />}
        <div className="seek-thumb" style={{ left: pct(position, duration) }} />
      </div>
      <input
        className="seek-input"
        type="range"
        aria-label="Seek"
        min={0}
        max={Math.max(1, duration)}
        step={0.1}
        value={Math.round(position * 10) / 10}
        aria-valuetext={positionLabel(mode, span, timeline, at(position))}
        onPointerDown={(e) => setDragging(Number(e.currentTarget.value))}
        onChange={(e) => {
          const value = Number(e.target.value);
          if (dragging === null) commit(value); // keyboard: seek at once
          else setDragging(capSeek(value, available));
        }}
        onPointerUp={(e) => commit(Number(e.currentTarget.value))}
        onPointerCancel={() => setDragging(null)}
        onPointerMove={(e) => onPointerMove(e.clientX)}
        onPointerLeave={() => setHover(null)}
        onKeyDown={(e) => {
          // The slider's own arrow steps are a tenth of a second: move as the player's keys do.
          const step = KEY_STEPS[e.key];
          if (step === undefined) return;
          e.preventDefault();
          commit(step === 'start' ? available.start : step === 'end' ? available.end : position + step);
        }}
      />
      <div className="seek-labels">
        <span>{formatTimeOfDay(span.start)}</span>
        <span className="seek-position" aria-live="off">
          {positionLabel(mode, span, timeline, at(position))}
        </span>
        <span>{formatTimeOfDay(span.end)}</span>
      </div>
      {holes.length > 0 && (
        <ul className="seek-holes" aria-label="Gaps in the recording">
          {holes.map((h) => (
            <li key={h.start.getTime()}>{holeLabel(h)}</li>
          ))}
        </ul>
      )}
    </div>
  );
}
