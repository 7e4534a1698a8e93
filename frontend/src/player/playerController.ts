// The player wrapper: Shaka set up for this service, and the programme clock on top of its timeline.
//
// Everything the journeys need is asked in wall-clock time (a programme starts at 20:00, live is
// "now"), while Shaka works in presentation seconds. HLS playlists carry PROGRAM-DATE-TIME, so
// Shaka maps one to the other; this class converts at the edge and the rest of the app never sees
// presentation time.

import type shakaNamespace from 'shaka-player';
import { bridgeHoles, mergeHoles, type Hole } from '../rules/archiveHoles';
import { problemFromPlayerError, type PlaybackProblem } from '../rules/playbackProblems';
import { activeRung, bufferAhead, rungsOf, type QualityChoice, type Rung } from '../rules/quality';
import { playbackTokenOf, withPlaybackToken } from './playbackToken';
import type { StreamingFormat } from './streamingFormat';

type Shaka = typeof shakaNamespace;

export interface ControllerOptions {
  licenceUrl: string;
  /** The viewer's token, read at each request (it may change while playing). */
  token: () => string | null;
  /** Whether a URL is this service's API (gets the token; its errors carry a `detail`). */
  isApiUrl: (url: string) => boolean;
  onProblem: (problem: PlaybackProblem) => void;
}

export interface Timeline {
  playhead: Date;
  /** The earliest instant the viewer can seek to. */
  seekStart: Date;
  /** The latest: the live edge of a live or start-over stream, the end of a catch-up one. */
  seekEnd: Date;
  /** Where live is: the seek end while the stream is live; once a start-over's programme has
   * ended (its playlist closes) live carries on at the same distance from the clock; null for a
   * catch-up, which has no live edge. */
  liveEdge: Date | null;
  live: boolean;
  /** Where the archive has nothing (an encoder or the platform was down): played across. */
  holes: Hole[];
}

/** A seek-bar preview picture: one tile of a sheet of thumbnails (CSS background-position). */
export interface Thumbnail {
  url: string;
  /** The tile's place and size in the sheet, and the sheet's size, in pixels. */
  x: number;
  y: number;
  width: number;
  height: number;
  sheetWidth: number;
  sheetHeight: number;
}

/** What the stats overlay shows. */
export interface PlaybackStats {
  rung: Rung | null;
  estimatedBandwidth: number;
  bufferAheadSeconds: number;
  droppedFrames: number;
  decodedFrames: number;
}

const MIME_TYPES: Record<StreamingFormat, string> = { hls: 'application/x-mpegurl', dash: 'application/dash+xml' };
const LOAD_INTERRUPTED = 7000;
const OPERATION_ABORTED = 7001;

export class PlayerController {
  private startAt: Date | null = null;
  private destroyed = false;
  /** How far the player's live point trails the clock (ms), learnt while this load was live. */
  private liveLagMs: number | null = null;
  /** The playback token of the loaded master (its media playlist URLs carry it): the licence needs it. */
  private playbackToken: string | null = null;
  /** The archive's holes in each media playlist of this load, by playlist URL (rules/archiveHoles.ts). */
  private holesByPlaylist = new Map<string, Hole[]>();

  private constructor(
    private readonly shakaLib: Shaka,
    private readonly player: shaka.Player,
    readonly video: HTMLVideoElement,
    private readonly options: ControllerOptions,
  ) {}

  /** Browsers offer EME (and so ClearKey) to secure pages only: https, localhost, 127.0.0.1. */
  static canPlayProtected(): boolean {
    return window.isSecureContext && typeof navigator.requestMediaKeySystemAccess === 'function';
  }

  static async create(video: HTMLVideoElement, options: ControllerOptions): Promise<PlayerController> {
    const { default: shakaLib } = await import('shaka-player');
    shakaLib.polyfill.installAll();
    const player = new shakaLib.Player();
    await player.attach(video);
    const controller = new PlayerController(shakaLib, player, video, options);
    controller.configure();
    return controller;
  }

  private configure(): void {
    const { player, options } = this;
    player.configure({
      streaming: {
        // Start as soon as a little is buffered: on a good connection the first frame comes sooner.
        rebufferingGoal: 0.5,
        bufferingGoal: 30,
        retryParameters: { maxAttempts: 4, baseDelay: 500, backoffFactor: 2, timeout: 10_000 },
      },
      manifest: { retryParameters: { maxAttempts: 2, baseDelay: 300, backoffFactor: 2, timeout: 10_000 } },
    });
    const T = this.shakaLib.net.NetworkingEngine.RequestType;
    // The token goes to the API only (manifests, keys, licences), never to the CDN's segments. The
    // licence also gets the playback token of what is playing (the key URIs carry theirs).
    player.getNetworkingEngine()?.registerRequestFilter((type, request) => {
      if (type === T.MANIFEST) this.playbackToken = playbackTokenOf(request.uris[0] ?? '') ?? this.playbackToken;
      const pb = this.playbackToken;
      // Only our licence server's: Shaka answers HLS `identity` keys from a `data:` licence it
      // builds itself, which a query string would corrupt (error 6007, nothing plays).
      if (type === T.LICENSE && pb) {
        request.uris = request.uris.map((u) => (options.isApiUrl(u) ? withPlaybackToken(u, pb) : u));
      }
      if (type !== T.MANIFEST && type !== T.LICENSE && type !== T.KEY) return;
      const token = options.token();
      if (token && request.uris.every((u) => options.isApiUrl(u))) {
        request.headers.Authorization = `Bearer ${token}`;
      }
    });
    // Shaka stops at a hole inside an HLS playlist (docs/MEDIA.md, M27): each media playlist is
    // bridged before Shaka reads it, and its holes are kept for the seek bar.
    player.getNetworkingEngine()?.registerResponseFilter((type, response) => {
      if (type !== T.MANIFEST) return;
      const text = new TextDecoder().decode(response.data);
      const bridged = bridgeHoles(text);
      this.holesByPlaylist.set(response.uri, bridged.holes);
      if (bridged.holes.length > 0) response.data = new TextEncoder().encode(bridged.text);
    });
    player.addEventListener('error', (event) => {
      const error = (event as Event & { detail?: shaka.util.Error }).detail;
      if (error) this.report(error);
    });
    // Where to start is given in wall-clock time; once the manifest is parsed Shaka knows the
    // presentation's start date, so the start position can be set before anything is fetched.
    player.addEventListener('manifestparsed', () => {
      const start = this.startAt ? this.presentationTimeOf(this.startAt) : null;
      if (start !== null) player.updateStartTime(start);
    });
  }

  private report(error: shaka.util.Error): void {
    const code = Number(error.code);
    if (this.destroyed || code === LOAD_INTERRUPTED || code === OPERATION_ABORTED) return;
    const data = Array.isArray(error.data) ? (error.data as unknown[]) : [];
    this.options.onProblem(problemFromPlayerError(code, data, this.options.isApiUrl));
  }

  /** Load a manifest (HLS or an MPD); start at `startAt` (wall clock) or where the manifest says
   * (the programme start of start-over and catch-up, the live edge of live). */
  async load(manifestUrl: string, startAt: Date | null, format: StreamingFormat = 'hls'): Promise<boolean> {
    this.startAt = startAt;
    this.liveLagMs = null;
    this.playbackToken = null;
    this.holesByPlaylist.clear();
    // HLS: our licence server, given the playback token the media playlist URLs carry. An MPD
    // names its licence server itself, with its playback token in the URL (the first MPD of a
    // catch-up is the only one fetched: no other request carries the token).
    this.player.configure('drm.servers', format === 'hls' ? { 'org.w3.clearkey': this.options.licenceUrl } : undefined);
    try {
      // The type is known: without it Shaka first asks the server with a HEAD request.
      await this.player.load(manifestUrl, null, MIME_TYPES[format]);
    } catch (e) {
      const error = e as shaka.util.Error;
      if (error instanceof this.shakaLib.util.Error) this.report(error);
      else this.options.onProblem(problemFromPlayerError(0, [], this.options.isApiUrl));
      return false;
    }
    // Should the start position not have been taken (no dates yet at parse time), seek now.
    if (startAt) {
      const now = this.player.getPlayheadTimeAsDate();
      if (!now || Math.abs(now.getTime() - startAt.getTime()) > 2000) this.seekTo(startAt);
    }
    return true;
  }

  private presentationTimeOf(at: Date): number | null {
    const origin = this.player.getPresentationStartTimeAsDate();
    return origin ? (at.getTime() - origin.getTime()) / 1000 : null;
  }

  timeline(): Timeline | null {
    const origin = this.player.getPresentationStartTimeAsDate();
    const playhead = this.player.getPlayheadTimeAsDate();
    if (!origin || !playhead || this.video.readyState < 1) return null;
    const range = this.player.seekRange();
    const at = (t: number) => new Date(origin.getTime() + t * 1000);
    const seekEnd = at(range.end);
    const live = this.player.isLive();
    if (live) this.liveLagMs = Date.now() - seekEnd.getTime();
    const liveEdge = live ? seekEnd : this.liveLagMs === null ? null : new Date(Date.now() - this.liveLagMs);
    const holes = mergeHoles(this.holesByPlaylist.values());
    return { playhead, seekStart: at(range.start), seekEnd, liveEdge, live, holes };
  }

  /** Seek to a wall-clock instant, kept inside what can be played. */
  seekTo(at: Date): void {
    const t = this.presentationTimeOf(at);
    if (t === null) return;
    const range = this.player.seekRange();
    this.video.currentTime = Math.min(Math.max(t, range.start), range.end);
  }

  seekBy(seconds: number): void {
    const range = this.player.seekRange();
    this.video.currentTime = Math.min(Math.max(this.video.currentTime + seconds, range.start), range.end);
  }

  // ---- the ladder ------------------------------------------------------------------------------

  /** Shaka's variants (one per rung: there is one audio rendition). */
  variants(): shaka.extern.Track[] {
    return this.player.getVariantTracks();
  }

  rungs(): Rung[] {
    return rungsOf(this.variants());
  }

  /** Auto lets Shaka's bandwidth estimate pick the rung; a rung pins it (buffered media of the
   * old rung is kept up to a few seconds ahead, so the picture changes soon but does not stall). */
  setQuality(choice: QualityChoice): void {
    if (choice === 'auto') {
      this.player.configure({ abr: { enabled: true } });
      return;
    }
    const variant = this.player.getVariantTracks().find((v) => v.height === choice);
    if (!variant) return;
    this.player.configure({ abr: { enabled: false } });
    this.player.selectVariantTrack(variant, true, 2);
  }

  stats(): PlaybackStats {
    const s = this.player.getStats();
    const buffered = this.video.buffered;
    const ranges = Array.from({ length: buffered.length }, (_, i) => ({ start: buffered.start(i), end: buffered.end(i) }));
    return {
      rung: activeRung(this.player.getVariantTracks()),
      estimatedBandwidth: s.estimatedBandwidth,
      bufferAheadSeconds: bufferAhead(ranges, this.video.currentTime),
      droppedFrames: Number.isFinite(s.droppedFrames) ? s.droppedFrames : 0,
      decodedFrames: Number.isFinite(s.decodedFrames) ? s.decodedFrames : 0,
    };
  }

  /** The thumbnail of the picture at a wall-clock instant, if the stream has an image track. */
  async thumbnailAt(at: Date): Promise<Thumbnail | null> {
    const track = this.player.getImageTracks()[0];
    const t = this.presentationTimeOf(at);
    if (!track || t === null) return null;
    const thumb = await this.player.getThumbnails(track.id, t).catch(() => null);
    const url = thumb?.uris[0];
    if (!thumb || !url) return null;
    return {
      url,
      x: thumb.positionX,
      y: thumb.positionY,
      width: thumb.width,
      height: thumb.height,
      sheetWidth: thumb.imageWidth,
      sheetHeight: thumb.imageHeight,
    };
  }

  goToLive(): void {
    if (this.player.isLive()) this.player.goToLive();
  }

  async play(): Promise<void> {
    try {
      await this.video.play();
    } catch (e) {
      // Autoplay with sound needs a gesture on a freshly opened page: play muted instead.
      if (e instanceof DOMException && e.name === 'NotAllowedError') {
        this.video.muted = true;
        await this.video.play().catch(() => undefined);
      }
    }
  }

  togglePlay(): void {
    if (this.video.paused) void this.play();
    else this.video.pause();
  }

  toggleMute(): void {
    this.video.muted = !this.video.muted;
  }

  async unload(): Promise<void> {
    await this.player.unload().catch(() => undefined);
  }

  async destroy(): Promise<void> {
    this.destroyed = true;
    await this.player.destroy();
  }
}
