// One channel's archive over its retention window (or the last hours of it): recorded ranges,
// gaps, where the viewer window starts and where the key changed. Geometry in coverageGeometry.ts.

import { useState } from 'react';
import {
  MIN_GAP_PX,
  MIN_RECORDED_PX,
  axisTicks,
  gapKind,
  keyMarks,
  layoutBars,
  placeSpan,
  spanOf,
  viewAxis,
  viewerWindowMark,
  type Bar,
  type GapKind,
} from './coverageGeometry';
import { formatClockTime, formatDateTime, formatSpan, formatWindow, plural } from './format';
import type { Coverage } from './queries';
import { useElementWidth } from './useElementWidth';

const GAP_WORDS: Record<GapKind, string> = {
  before: 'not recorded yet',
  stopped: 'encoder not recording',
  outage: 'encoder down',
};

function tickLabel(t: number, midnight: boolean, stepIsDays: boolean): string {
  const at = new Date(t);
  if (midnight || stepIsDays) {
    return new Intl.DateTimeFormat('en-GB', { weekday: 'short', day: 'numeric' }).format(at);
  }
  return new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(at);
}

function barTitle(prefix: string, bar: Bar): string {
  return `${prefix} ${formatDateTime(new Date(bar.start))} – ${formatClockTime(new Date(bar.end))} (${formatSpan(
    (bar.end - bar.start) / 1000,
  )})`;
}

export function CoverageTimeline({ coverage, hours }: { coverage: Coverage; hours: number }) {
  const [plot, setPlot] = useState<HTMLDivElement | null>(null);
  const width = useElementWidth(plot);
  const window = spanOf(coverage.retention_window);
  const axis = viewAxis(window, hours, width);
  const recorded = layoutBars(axis, coverage.recorded.map(spanOf), MIN_RECORDED_PX);
  const gaps = coverage.gaps
    .map((g) => {
      const span = spanOf(g);
      const bar = placeSpan(axis, span, MIN_GAP_PX);
      return bar ? { bar, kind: gapKind(span, window) } : null;
    })
    .filter((g) => g !== null);
  // What cloud recordings hold (they may reach back before the retention window: clipped to the view).
  const held = layoutBars(axis, coverage.held_by_recordings.map(spanOf), MIN_RECORDED_PX);
  const mark = viewerWindowMark(axis, Date.parse(coverage.viewer_window.start));
  const keys = keyMarks(axis, coverage.key_changes);
  const ticks = axisTicks(axis);
  const stepIsDays = ticks.length > 1 && (ticks[1]?.t ?? 0) - (ticks[0]?.t ?? 0) >= 86_400_000;
  const outages = gaps.filter((g) => g.kind !== 'before').length;
  const viewWords =
    hours >= coverage.retention_window.hours
      ? `its ${formatWindow(coverage.retention_window.hours)} retention window`
      : hours < 1
        ? `the last ${Math.round(hours * 60)} minutes`
        : `the last ${formatWindow(hours)}`;
  const summary = [
    `Archive of ${coverage.channel_name} over ${viewWords}:`,
    `${plural(recorded.length, 'recorded stretch', 'recorded stretches')},`,
    `${plural(outages, 'gap')}, ${plural(keys.length, 'key change')}.`,
    `Viewers can watch the last ${formatWindow(coverage.viewer_window.hours)}.`,
    held.length ? `${plural(held.length, 'stretch', 'stretches')} held by recordings.` : '',
  ]
    .filter(Boolean)
    .join(' ');

  return (
    <div className="coverage">
      <div className="coverage-plot" ref={setPlot} role="img" aria-label={summary} data-testid="coverage-timeline">
        <div className="coverage-viewer-row">
          {mark.kind !== 'none' && (
            <div
              className={`coverage-viewer${mark.kind === 'all' ? ' all' : ''}`}
              style={{ left: mark.kind === 'starts' ? mark.x : 0 }}
              title={`Viewer window: the last ${formatWindow(coverage.viewer_window.hours)}`}
            >
              <span>Viewer window · {coverage.viewer_window.hours} h</span>
            </div>
          )}
        </div>
        <div className="coverage-track">
          {recorded.map((b) => (
            <span
              key={`r${b.start}`}
              className="coverage-recorded"
              style={{ left: b.x, width: b.width }}
              title={barTitle('Recorded', b)}
            />
          ))}
          {gaps.map(({ bar, kind }) => (
            <span
              key={`g${bar.start}`}
              className={`coverage-gap kind-${kind}${bar.widened ? ' widened' : ''}`}
              style={{ left: bar.x, width: bar.width }}
              title={barTitle(`Gap (${GAP_WORDS[kind]}):`, bar)}
              data-testid="coverage-gap"
              data-kind={kind}
              data-start={new Date(bar.start).toISOString()}
              data-end={new Date(bar.end).toISOString()}
            />
          ))}
          {mark.kind === 'starts' && <span className="coverage-viewer-edge" style={{ left: mark.x }} />}
          {keys.map(({ change, x }) => (
            <span
              key={`k${change.at}`}
              className="coverage-key"
              style={{ left: x }}
              title={`Key changed ${formatDateTime(new Date(change.at))}${
                change.key_id ? ` to ${change.key_id}` : ' (unencrypted)'
              }`}
              data-testid="coverage-key-change"
            />
          ))}
        </div>
        {held.length > 0 && (
          <div className="coverage-held-row">
            {held.map((b) => (
              <span
                key={`h${b.start}`}
                className="coverage-held"
                style={{ left: b.x, width: b.width }}
                title={barTitle('Held by recordings', b)}
                data-testid="coverage-held"
              />
            ))}
          </div>
        )}
        <div className="coverage-axis" aria-hidden="true">
          {ticks.map((t) => (
            <span key={t.t} className={`coverage-tick${t.midnight ? ' midnight' : ''}`} style={{ left: t.x }}>
              <span>{tickLabel(t.t, t.midnight, stepIsDays)}</span>
            </span>
          ))}
        </div>
      </div>
    </div>
  );
}

/** What the colours of the timelines mean (once per page). */
export function CoverageLegend() {
  return (
    <p className="coverage-legend">
      <span>
        <i className="swatch recorded" aria-hidden="true" /> Recorded
      </span>
      <span>
        <i className="swatch gap" aria-hidden="true" /> Gap
      </span>
      <span>
        <i className="swatch before" aria-hidden="true" /> Not recorded yet
      </span>
      <span>
        <i className="swatch viewer" aria-hidden="true" /> Viewer window
      </span>
      <span>
        <i className="swatch key" aria-hidden="true" /> Key change
      </span>
      <span>
        <i className="swatch held" aria-hidden="true" /> Held by recordings
      </span>
      <span className="muted">Short gaps are drawn at least {MIN_GAP_PX} px wide.</span>
    </p>
  );
}
