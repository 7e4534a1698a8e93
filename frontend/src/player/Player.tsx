// The player for live, start-over and catch-up (SPEC J1, J2, J4): one Shaka instance for the whole
// visit, the mode taken from the address. Moving between modes (Start from Beginning, Jump to Live,
// the live-edge switch, the end of a start-over) replaces the address and loads the other playlist
// into the same player, at the instant the viewer is at when that keeps the picture continuous.

import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { ApiError, bearer } from '../api/client';
import { fetchBookmark, useAppConfig, useChannels, useOnAir, useProgramme } from '../api/queries';
import { isAtLiveEdge, shouldSwitchToLive } from '../rules/liveEdge';
import { problem as makeProblem, problemFromApi, type PlaybackProblem } from '../rules/playbackProblems';
import { durationSeconds, offsetInProgramme, spanOf, type Span } from '../rules/programmeProgress';
import { PromptMemory, shouldOfferStartOver } from '../rules/startoverPrompt';
import { activeRung, rungsOf, type QualityChoice, type Rung } from '../rules/quality';
import { formatTimeRange } from '../rules/timeLabels';
import { RecordButton } from '../components/RecordButton';
import { useNow } from '../components/useNow';
import { PlayerController, type Timeline } from './playerController';
import { PlayerControls } from './PlayerControls';
import { PlayerStats } from './PlayerStats';
import { ProblemPanel } from './ProblemPanel';
import { ResumeToast } from './ResumeToast';
import { StartOverPrompt } from './StartOverPrompt';
import { useKeyboardShortcuts } from './useKeyboardShortcuts';
import { useProgrammeAt } from './useProgrammeAt';
import { useProgressSaving, type SavingTarget } from './useProgressSaving';
import { BADGES, manifestPath, watchPath, type Mode, type WatchTarget } from './watchTarget';

const RESUME_MIN_SECONDS = 5;
const FINISHED_RATIO = 0.95;
const RESUME_TOAST_MS = 3000;
const RETRY_UNAVAILABLE_MS = 5000;
const TICK_MS = 250;

interface PlayState {
  timeline: Timeline | null;
  paused: boolean;
  muted: boolean;
  waiting: boolean;
  ended: boolean;
  rungs: Rung[];
  playingRung: Rung | null;
}

const isApiUrl = (url: string) => {
  try {
    const u = new URL(url, window.location.href);
    return u.origin === window.location.origin && u.pathname.startsWith('/api/');
  } catch {
    return false;
  }
};

/** The furthest unfinished position saved for a programme, in either TSTV mode (0 if none). */
async function resumePosition(entryId: string, duration: number): Promise<number> {
  const marks = await Promise.all([
    fetchBookmark('tstv_catchup', entryId).catch(() => null),
    fetchBookmark('tstv_startover', entryId).catch(() => null),
  ]);
  const best = Math.max(0, ...marks.map((b) => b?.position_seconds ?? 0));
  return best >= RESUME_MIN_SECONDS && best < duration * FINISHED_RATIO ? best : 0;
}

export function Player({ target }: { target: WatchTarget }) {
  const { mode, channelId, entryId } = target;
  const recordingId = target.recordingId ?? null;
  const navigate = useNavigate();
  const containerRef = useRef<HTMLDivElement>(null);
  const videoRef = useRef<HTMLVideoElement>(null);
  const [controller, setController] = useState<PlayerController | null>(null);
  const [problem, setProblem] = useState<PlaybackProblem | null>(null);
  const [attempt, setAttempt] = useState(0);
  const [play, setPlay] = useState<PlayState>({
    timeline: null,
    paused: true,
    muted: false,
    waiting: true,
    ended: false,
    rungs: [],
    playingRung: null,
  });
  // The viewer's quality choice holds for the whole visit, across mode switches.
  const [quality, setQuality] = useState<QualityChoice>('auto');
  const qualityRef = useRef<QualityChoice>('auto');
  const [statsShown, setStatsShown] = useState(false);
  // Which playlist is loaded and since when: state read from the player belongs to this load only.
  const [loaded, setLoaded] = useState<{ manifest: string; at: number } | null>(null);
  const [resumeToast, setResumeToast] = useState<number | null>(null);
  const [prompt, setPrompt] = useState<{ entryId: string; shownAtMs: number } | null>(null);
  // The wall-clock instant the next load starts at, handed over by a mode switch.
  const handoff = useRef<Date | null>(null);

  const config = useAppConfig();
  const now = useNow(1000);
  const channels = useChannels();
  const onAir = useOnAir(channelId);
  const programmeQuery = useProgramme(entryId ?? undefined);
  const entry = mode === 'live' ? null : programmeQuery.data;
  const channel = channels.data?.channels.find((c) => c.id === channelId) ?? null;

  // ---- the Shaka instance: one per visit of the player ----------------------------------------
  useEffect(() => {
    const video = videoRef.current;
    if (!video) return undefined;
    let alive = true;
    let created: PlayerController | null = null;
    void PlayerController.create(video, {
      licenceUrl: `${window.location.origin}/api/v1/drm/license`,
      token: bearer,
      isApiUrl,
      onProblem: (p) => setProblem(p),
    }).then((c) => {
      created = c;
      if (alive) setController(c);
      else void c.destroy();
    });
    return () => {
      alive = false;
      if (created) void created.destroy();
    };
  }, []);

  // ---- what is being watched ------------------------------------------------------------------
  const entrySpan = useMemo<Span | null>(() => (entry ? spanOf(entry) : null), [entry]);
  const programmeAtPlayhead = useProgrammeAt(mode === 'live' ? channelId : null, play.timeline?.playhead ?? null);
  const liveProgramme = programmeAtPlayhead ?? onAir.data?.schedule_entry ?? null;
  const shown = mode === 'live' ? liveProgramme : entry;
  const span = mode === 'live' ? (liveProgramme ? spanOf(liveProgramme) : null) : entrySpan;

  // A programme that cannot be played in this mode is a message before anything loads.
  const preflight = useMemo<PlaybackProblem | 'not_found' | null>(() => {
    if (!PlayerController.canPlayProtected()) return makeProblem('insecure_page');
    if (mode === 'live') return null;
    if (programmeQuery.isError) {
      const e = programmeQuery.error;
      return e instanceof ApiError && e.status === 404 ? 'not_found' : makeProblem('unavailable');
    }
    if (!entry) return null;
    if (entry.channel.id !== channelId) return 'not_found'; // another channel's programme
    if (mode === 'startover' && !entry.on_air) {
      return makeProblem('not_on_air', entry.catchup ? undefined : 'It has not started yet.');
    }
    // A recording plays under its own rights (the API says so when it loads), past the window too.
    if (mode === 'catchup' && !recordingId) {
      if (!entry.catchup) return makeProblem('not_aired_yet');
      if (!entry.catchup.available) {
        const reason = entry.catchup.reason ?? 'program_not_eligible';
        return problemFromApi({ status: 403, detail: reason, expiresAt: entry.catchup.expires_at });
      }
    }
    return null;
  }, [mode, entry, channelId, recordingId, programmeQuery.isError, programmeQuery.error]);

  const savingTarget = useMemo<SavingTarget | null>(() => {
    if (mode === 'live' || !entry?.channel.cdn_channel_key || preflight) return null;
    return { sessionType: mode, channelKey: entry.channel.cdn_channel_key, entryId: entry.id };
  }, [mode, entry, preflight]);
  const saving = useProgressSaving(savingTarget, !play.paused && !play.ended);

  // ---- loading --------------------------------------------------------------------------------
  const ready = preflight === null && (mode === 'live' || entry !== undefined);
  useEffect(() => {
    if (!controller || !ready) return undefined;
    const load = new AbortController();
    const stale = () => load.signal.aborted; // a newer load (or leaving) took over
    setProblem(null);
    setLoaded(null);
    setResumeToast(null);
    void (async () => {
      let startAt = handoff.current;
      handoff.current = null;
      if (mode === 'catchup' && startAt === null && entry && entrySpan) {
        const resume = await resumePosition(entry.id, durationSeconds(entrySpan));
        if (resume > 0) {
          startAt = new Date(entrySpan.start.getTime() + resume * 1000);
          if (!stale()) setResumeToast(resume);
        }
      }
      if (stale()) return;
      const manifest = manifestPath(target);
      const ok = await controller.load(`${window.location.origin}${manifest}`, startAt);
      if (stale() || !ok) return;
      setLoaded({ manifest, at: performance.now() });
      if (qualityRef.current !== 'auto') controller.setQuality(qualityRef.current);
      await controller.play();
    })();
    return () => {
      load.abort();
    };
    // A new address, a retry or the programme becoming known start a new load.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [controller, ready, mode, channelId, entryId, recordingId, attempt]);

  // An outage is retried by itself until the stream is back.
  useEffect(() => {
    if (!problem?.retryable) return undefined;
    const timer = window.setTimeout(() => setAttempt((a) => a + 1), RETRY_UNAVAILABLE_MS);
    return () => {
      window.clearTimeout(timer);
    };
  }, [problem]);

  // ---- the clock of the playback --------------------------------------------------------------
  useEffect(() => {
    if (!controller) return undefined;
    const video = controller.video;
    const read = () => {
      const variants = controller.variants();
      setPlay({
        timeline: controller.timeline(),
        paused: video.paused,
        muted: video.muted,
        waiting: video.readyState < 3 && !video.paused,
        ended: video.ended,
        rungs: rungsOf(variants),
        playingRung: activeRung(variants),
      });
    };
    const timer = window.setInterval(read, TICK_MS);
    const events = ['play', 'pause', 'seeked', 'volumechange', 'waiting', 'playing', 'ended', 'loadeddata'];
    events.forEach((e) => video.addEventListener(e, read));
    return () => {
      window.clearInterval(timer);
      events.forEach((e) => video.removeEventListener(e, read));
    };
  }, [controller]);

  // Position for the saver, and saves on pause, seek and end.
  useEffect(() => {
    if (!entrySpan || !play.timeline || mode === 'live') return;
    saving.update(offsetInProgramme(entrySpan, play.timeline.playhead));
  }, [entrySpan, play.timeline, mode, saving]);
  useEffect(() => {
    const video = controller?.video;
    if (!video) return undefined;
    const flush = () => saving.flush();
    video.addEventListener('pause', flush);
    video.addEventListener('seeked', flush);
    return () => {
      video.removeEventListener('pause', flush);
      video.removeEventListener('seeked', flush);
    };
  }, [controller, saving]);

  // ---- moving between modes -------------------------------------------------------------------
  const switchTo = useCallback(
    (next: Mode, nextEntry: string | null, startAt: Date | null) => {
      handoff.current = startAt;
      void navigate(watchPath(next, channelId, nextEntry), { replace: true });
    },
    [navigate, channelId],
  );
  const jumpToLive = useCallback(() => {
    if (mode === 'live') controller?.goToLive();
    else switchTo('live', null, null);
  }, [mode, controller, switchTo]);
  const onAirEntry = onAir.data?.schedule_entry;
  const startOverEntry =
    onAir.data?.startover_available && onAirEntry && new Date(onAirEntry.end_time) > now ? onAirEntry : null;
  const startOver = useCallback(() => {
    setPrompt(null);
    if (startOverEntry) switchTo('startover', startOverEntry.id, null);
  }, [startOverEntry, switchTo]);

  // Start-over: near the live edge it becomes live. Once the programme has ended on air, the
  // viewer (still behind) carries on from the same instant in the live playlist, which reaches
  // back LIVE_WINDOW, or in the programme's catch-up when they are further back than that. Not
  // by letting the start-over playlist close: Shaka 4.12 stalls short of the end when a playing
  // EVENT playlist turns VOD (shaka-player#9051).
  const liveWindowMs = (config.data?.live_window_seconds ?? 0) * 1000;
  useEffect(() => {
    // Only once this start-over's own playlist plays: right after a switch, the state still
    // describes the previous playlist (live, a moment ago near its edge).
    if (mode !== 'startover' || !play.timeline || loaded?.manifest !== manifestPath(target)) return;
    if (performance.now() - loaded.at < 1000) return; // the first frame is still settling
    const { playhead } = play.timeline;
    if (entrySpan && Date.now() >= entrySpan.end.getTime() + 1000) {
      if (Date.now() - playhead.getTime() < liveWindowMs - 60_000) switchTo('live', null, playhead);
      else switchTo('catchup', entryId, playhead);
      return;
    }
    const edge = play.timeline.liveEdge ?? play.timeline.seekEnd;
    if (shouldSwitchToLive((edge.getTime() - playhead.getTime()) / 1000, !play.paused)) {
      switchTo('live', null, playhead);
    }
  }, [mode, play, loaded, target, entrySpan, entryId, liveWindowMs, switchTo]);

  // Catch-up watched to its end.
  useEffect(() => {
    if (mode === 'catchup' && play.ended && entrySpan) saving.complete(durationSeconds(entrySpan));
  }, [mode, play.ended, entrySpan, saving]);

  // ---- J1: the Start Over prompt on tuning ----------------------------------------------------
  useEffect(() => {
    // A programme started over (by the prompt, the bar or a link) is never offered again: not
    // after Jump to Live, the live-edge switch or the end of the start-over.
    if (mode === 'startover' && entryId) new PromptMemory(window.sessionStorage).markShown(entryId);
  }, [mode, entryId]);
  useEffect(() => {
    if (mode !== 'live' || !onAir.data || !config.data) return;
    const memory = new PromptMemory(window.sessionStorage);
    const info = onAir.data;
    if (new Date(info.schedule_entry.end_time).getTime() <= Date.now()) return; // over: refetching
    const offer = shouldOfferStartOver({
      startoverAvailable: info.startover_available,
      elapsedSeconds: info.elapsed_seconds,
      afterSeconds: config.data.startover_prompt_after_seconds,
      alreadyShown: memory.hasShown(info.schedule_entry.id),
    });
    if (offer) {
      memory.markShown(info.schedule_entry.id);
      setPrompt({ entryId: info.schedule_entry.id, shownAtMs: Date.now() });
    }
  }, [mode, onAir.data, config.data]);
  useEffect(() => {
    if (mode !== 'live') setPrompt(null);
  }, [mode]);
  const dismissPrompt = useCallback(() => setPrompt(null), []);

  useEffect(() => {
    if (resumeToast === null) return undefined;
    const timer = window.setTimeout(() => setResumeToast(null), RESUME_TOAST_MS);
    return () => {
      window.clearTimeout(timer);
    };
  }, [resumeToast]);

  // ---- channel up / down (live) ---------------------------------------------------------------
  const zap = useCallback(
    (step: 1 | -1) => {
      const list = channels.data?.channels ?? [];
      const i = list.findIndex((c) => c.id === channelId);
      if (list.length < 2 || i < 0) return;
      const next = list[(i + step + list.length) % list.length];
      if (next) void navigate(watchPath('live', next.id), { replace: true });
    },
    [channels.data, channelId, navigate],
  );

  const togglePlay = useCallback(() => controller?.togglePlay(), [controller]);
  const toggleFullscreen = useCallback(() => {
    const el = containerRef.current;
    if (!el) return;
    if (document.fullscreenElement) void document.exitFullscreen();
    else void el.requestFullscreen().catch(() => undefined);
  }, []);
  const toggleMute = useCallback(() => controller?.toggleMute(), [controller]);
  const chooseQuality = useCallback(
    (choice: QualityChoice) => {
      qualityRef.current = choice;
      setQuality(choice);
      controller?.setQuality(choice);
    },
    [controller],
  );
  const thumbnailAt = useCallback(
    (at: Date) => (controller ? controller.thumbnailAt(at) : Promise.resolve(null)),
    [controller],
  );

  useKeyboardShortcuts({
    togglePlay,
    seekBy: (s) => controller?.seekBy(s),
    live: jumpToLive,
    fullscreen: toggleFullscreen,
    mute: toggleMute,
    stats: () => setStatsShown((shown) => !shown),
    channel: mode === 'live' ? zap : null,
  });

  if (preflight === 'not_found') {
    return (
      <section className="empty-state">
        <h1>We could not find that programme</h1>
        <p>The link may be wrong or out of date.</p>
        <Link className="button primary" to="/">
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
        {resumeToast !== null && entrySpan && (
          <ResumeToast
            position={resumeToast}
            onRestart={() => {
              setResumeToast(null);
              controller?.seekTo(entrySpan.start);
            }}
          />
        )}
        {shownProblem && (
          <ProblemPanel
            problem={shownProblem}
            onRetry={() => setAttempt((a) => a + 1)}
            liveLink={mode === 'live' ? null : watchPath('live', channelId)}
            catchupLink={catchupLink}
            listLink={`/catchup?view=channel&channel=${channelId}`}
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
            canStartOver={mode === 'live' && startOverEntry !== null}
            onTogglePlay={togglePlay}
            onSeekBy={(s) => controller?.seekBy(s)}
            onSeek={(at) => controller?.seekTo(at)}
            onJumpToLive={jumpToLive}
            onStartOver={startOver}
            onToggleMute={toggleMute}
            onToggleFullscreen={toggleFullscreen}
            onChannel={mode === 'live' ? zap : null}
            thumbnailAt={thumbnailAt}
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
          {!recordingId && (
            <RecordButton entryId={shown.id} title={shown.title} seriesId={shown.series_id} seriesTitle={shown.series_title} />
          )}
        </div>
      )}
    </div>
  );
}
