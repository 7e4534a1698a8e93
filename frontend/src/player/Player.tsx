// The player for live, start-over and catch-up (docs/PRODUCT.md, J1, J2, J4): one Shaka instance for the whole
// visit, the mode taken from the address. Moving between modes (Start from Beginning, Jump to Live,
// the live-edge switch, the end of a start-over) replaces the address and loads the other playlist
// into the same player, at the instant the viewer is at when that keeps the picture continuous.
// This component composes the hooks beside it (one concern each) and draws the page.

import { useCallback, useMemo, useRef, useState } from 'react';
import { Link } from 'react-router';
import { ApiError } from '../api/client';
import { useAppConfig, useChannels, useOnAir, useProgramme } from '../api/queries';
import { RecordButton } from '../components/RecordButton';
import { ShareButton, type SharedMoment } from '../components/ShareButton';
import { UpNextCard } from '../components/UpNextCard';
import { useNow } from '../components/useNow';
import { catchupAtPath, catchupPath, PATHS, watchPath, type WatchTarget } from '../routes';
import { startParam } from '../rules/linkStart';
import { isAtLiveEdge } from '../rules/liveEdge';
import { preflightProblem } from '../rules/playbackPreflight';
import { offsetInProgramme, spanOf, type Span } from '../rules/programmeProgress';
import { formatTimeRange } from '../rules/timeLabels';
import { PlayerController } from './playerController';
import { PlayerControls } from './PlayerControls';
import { PlayerStats } from './PlayerStats';
import { ProblemPanel } from './ProblemPanel';
import { ResumeToast } from './ResumeToast';
import { StartOverPrompt } from './StartOverPrompt';
import { useChannelZap } from './useChannelZap';
import { useKeyboardShortcuts } from './useKeyboardShortcuts';
import { useModeSwitch } from './useModeSwitch';
import { usePlaybackSaving } from './usePlaybackSaving';
import { usePlayerCommands } from './usePlayerCommands';
import { usePlayerController } from './usePlayerController';
import { usePlayState } from './usePlayState';
import { usePlaylistLoading } from './usePlaylistLoading';
import { useProgrammeAt } from './useProgrammeAt';
import { useQualityChoice } from './useQualityChoice';
import { useResumeToast } from './useResume';
import { useStartOverHandoff } from './useStartOverHandoff';
import { useStartOverPrompt } from './useStartOverPrompt';
import { useUpNext } from './useUpNext';
import { BADGES } from './watchTarget';

/** `linkStart`: a shared link's start time (`?t=` of a catch-up address), as written. */
export function Player({ target, linkStart = null }: { target: WatchTarget; linkStart?: string | null }) {
  const { mode, channelId, entryId } = target;
  const recordingId = target.recordingId ?? null;
  const containerRef = useRef<HTMLDivElement>(null);
  const videoRef = useRef<HTMLVideoElement>(null);
  const [statsShown, setStatsShown] = useState(false);

  const config = useAppConfig();
  const now = useNow(1000);
  const channels = useChannels();
  const onAir = useOnAir(channelId);
  const programmeQuery = useProgramme(entryId ?? undefined);
  const entry = mode === 'live' ? null : programmeQuery.data;
  const channel = channels.data?.channels.find((c) => c.id === channelId) ?? null;

  const { controller, problem, clearProblem } = usePlayerController(videoRef);
  const play = usePlayState(controller);
  const { quality, qualityRef, choose: chooseQuality } = useQualityChoice(controller);
  const resumed = useResumeToast();

  // ---- what is being watched ------------------------------------------------------------------
  const entrySpan = useMemo<Span | null>(() => (entry ? spanOf(entry) : null), [entry]);
  const programmeAtPlayhead = useProgrammeAt(mode === 'live' ? channelId : null, play.timeline?.playhead ?? null);
  const liveProgramme = programmeAtPlayhead ?? onAir.data?.schedule_entry ?? null;
  const shown = mode === 'live' ? liveProgramme : entry;
  const span = mode === 'live' ? (liveProgramme ? spanOf(liveProgramme) : null) : entrySpan;

  const entryError = programmeQuery.isError ? programmeQuery.error : null;
  const entryFailure = !entryError ? null : entryError instanceof ApiError && entryError.status === 404 ? 'not_found' : 'failed';
  // A programme that cannot be played in this mode is a message before anything loads.
  const preflight = useMemo(
    () =>
      preflightProblem({ secure: PlayerController.canPlayProtected(), mode, channelId, recordingId, entry, entryFailure }),
    [mode, entry, channelId, recordingId, entryFailure],
  );

  // ---- loading, saving, moving between modes ----------------------------------------------------
  const { loaded, retry, handOver } = usePlaylistLoading({
    controller,
    target,
    ready: preflight === null && (mode === 'live' || entry !== undefined),
    entrySpan,
    problem,
    clearProblem,
    qualityRef,
    linkStart,
    showResumed: resumed.show,
  });
  usePlaybackSaving({ mode, entry, entrySpan, blocked: preflight !== null, controller, play });
  const modes = useModeSwitch({ target, controller, handOver, onAir: onAir.data, now });
  useStartOverHandoff({
    target,
    play,
    loaded,
    entrySpan,
    liveWindowMs: (config.data?.live_window_seconds ?? 0) * 1000,
    switchTo: modes.switchTo,
  });
  const upNext = useUpNext({ target, entry, entrySpan, play, loaded });
  const { prompt, dismiss: dismissPrompt } = useStartOverPrompt({ mode, entryId, onAir: onAir.data, config: config.data });
  const startOver = useCallback(() => {
    dismissPrompt();
    modes.startOver();
  }, [dismissPrompt, modes]);

  // ---- the viewer's commands ------------------------------------------------------------------
  const timeline = play.timeline;
  const shareMoment = useCallback((): SharedMoment | null => {
    if (!entrySpan || !entryId || !timeline) return null;
    const t = startParam(offsetInProgramme(entrySpan, timeline.playhead));
    return { url: `${window.location.origin}${catchupAtPath(channelId, entryId, t, recordingId)}`, seconds: Number(t) };
  }, [entrySpan, entryId, timeline, channelId, recordingId]);
  const commands = usePlayerCommands(controller, containerRef);
  const zap = useChannelZap(channels.data?.channels, channelId);
  useKeyboardShortcuts({
    togglePlay: commands.togglePlay,
    seekBy: commands.seekBy,
    live: modes.jumpToLive,
    fullscreen: commands.toggleFullscreen,
    mute: commands.toggleMute,
    stats: () => setStatsShown((shown) => !shown),
    channel: mode === 'live' ? zap : null,
  });

  if (preflight === 'not_found') {
    return (
      <section className="empty-state">
        <h1>We could not find that programme</h1>
        <p>The link may be wrong or out of date.</p>
        <Link className="button primary" to={PATHS.home}>
          Go to Home
        </Link>
      </section>
    );
  }

  const edge = play.timeline?.liveEdge;
  const behind = edge && play.timeline ? (edge.getTime() - play.timeline.playhead.getTime()) / 1000 : 0;
  const shownProblem = preflight ?? problem;
  const catchupLink = entry && entry.catchup?.available ? watchPath('catchup', channelId, entry.id) : null;
  return (
    <div className="player-page">
      <div
        ref={containerRef}
        className={`player${play.paused ? ' is-paused' : ''}`}
        data-mode={mode}
        data-state={shownProblem ? 'problem' : play.waiting ? 'waiting' : play.paused ? 'paused' : 'playing'}
      >
        <video ref={videoRef} className="player-video" playsInline aria-label="Video" />
        {play.waiting && !shownProblem && <div className="player-spinner" role="status" aria-label="Loading video" />}
        <div className="player-top">
          <span className={`badge badge-${mode}`} data-testid="mode-badge">
            {BADGES[mode]}
          </span>
          <div className="player-titles">
            <div className="player-channel">{channel ? `${channel.number} ${channel.name}` : entry?.channel.name}</div>
            {shown && (
              <h1 className="player-title">
                {shown.title}
                {span && <span className="player-times"> · {formatTimeRange(span.start, span.end)}</span>}
              </h1>
            )}
          </div>
        </div>
        {prompt && onAir.data && mode === 'live' && (
          <StartOverPrompt
            title={onAir.data.schedule_entry.title}
            startedAt={new Date(onAir.data.schedule_entry.start_time)}
            shownAtMs={prompt.shownAtMs}
            onStartOver={startOver}
            onDismiss={dismissPrompt}
          />
        )}
        {resumed.notice && entrySpan && (
          <ResumeToast
            notice={resumed.notice}
            onRestart={() => {
              resumed.show(null);
              commands.seekTo(entrySpan.start);
            }}
          />
        )}
        {upNext.card && !shownProblem && (
          <UpNextCard title={upNext.card.title} seconds={upNext.card.seconds} onPlayNow={upNext.playNow} onCancel={upNext.cancel} />
        )}
        {shownProblem && (
          <ProblemPanel
            problem={shownProblem}
            onRetry={retry}
            liveLink={mode === 'live' ? null : watchPath('live', channelId)}
            catchupLink={catchupLink}
            listLink={catchupPath('channel', channelId)}
          />
        )}
        {!shownProblem && (
          <PlayerControls
            mode={mode}
            span={span}
            timeline={play.timeline}
            paused={play.paused}
            muted={play.muted}
            atLiveEdge={isAtLiveEdge(behind)}
            canStartOver={mode === 'live' && modes.startOverEntry !== null}
            onTogglePlay={commands.togglePlay}
            onSeekBy={commands.seekBy}
            onSeek={commands.seekTo}
            onJumpToLive={modes.jumpToLive}
            onStartOver={startOver}
            onToggleMute={commands.toggleMute}
            onToggleFullscreen={commands.toggleFullscreen}
            onChannel={mode === 'live' ? zap : null}
            thumbnailAt={commands.thumbnailAt}
            rungs={play.rungs}
            playingRung={play.playingRung}
            quality={quality}
            onQuality={chooseQuality}
          />
        )}
        {statsShown && controller && !shownProblem && <PlayerStats controller={controller} />}
      </div>
      {shown && (
        <div className="player-info">
          {shown.synopsis && <p className="player-synopsis">{shown.synopsis}</p>}
          {mode === 'catchup' && entrySpan && <ShareButton key={shown.id} moment={shareMoment} />}
          {!recordingId && (
            <RecordButton entryId={shown.id} title={shown.title} seriesId={shown.series_id} seriesTitle={shown.series_title} />
          )}
        </div>
      )}
    </div>
  );
}
