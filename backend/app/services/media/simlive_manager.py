"""SimLive encoders: one supervised FFmpeg child per channel writing the encrypted archive.

Every run (start, restart after a crash, key rotation) gets a new run directory whose `run.json` is
written before FFmpeg starts (see `archive_layout`). A run's first frame goes out exactly on a segment
boundary (`anchor`, a multiple of HLS_SEGMENT_DURATION since the Unix epoch) and shows the loop
position the EPG dictates for that instant, so the programme clock in the picture, the timeline
(anchor + seq * duration) and the schedule agree. FFmpeg starts up to one segment duration before
the anchor and discards that pre-roll, so the *name* of a run's first segment can be that much early
(it is opened at start-up); later names carry the usual one-second jitter.

Supervision: an exit is detected at once and the encoder restarted after a backoff (1 s doubling to
60 s, back to 1 s after a healthy minute); a run that stops producing segments is killed and treated
the same way. Such restarts leave a gap in the archive. An operator restart or key rotation of a
running encoder does not: it is make-before-break (`_replace_run`, `encoder_handover`). The new run
starts while the old one keeps going; the old one finishes the segment that ends at the new run's
anchor and is then stopped. Its exit is expected: no crash, no backoff, not counted in `restarts`
(which counts unplanned exits only); it is stopped with the channel and on shutdown, and listed in
the pidfile like the live encoder.

Logs go to `{HLS_SEGMENT_DIR}/{key}/encoder.log`. The wanted state of each channel lives in
`{HLS_SEGMENT_DIR}/.simlive/state.json`, the pids of the children in `.../pids.json`: a new backend
ends encoders a dead one left behind (only processes whose command line names this archive).
Children also get PR_SET_PDEATHSIG on Linux, so even `kill -9` of the backend takes them down.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import math
import os
import signal
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.errors import ApiError
from app.ladder import Rung
from app.models import Channel
from app.services.catalogue.channel_catalogue import SCHEDULE_EPOCH
from app.services.media import archive_layout as layout
from app.services.media import encoder_log, retention
from app.services.media.child_processes import die_with_parent
from app.services.media.encoder_handover import wait_for_handover_point
from app.services.media.media_sources import SourceCache, SourceError, ffmpeg_exe, playout_list, tail
from app.services.media.thumbnails import SheetSet, ThumbnailStore
from app.services.playback import drm_service

log = logging.getLogger("tstv.simlive")

BACKOFF_START = 1.0
BACKOFF_MAX = 60.0
HEALTHY_AFTER = 60.0  # a run that lived this long resets the backoff
POLL_SECONDS = 5.0
TERM_GRACE = 5.0
SPAWN_LEAD = 0.1  # start FFmpeg this long before its whole second (process start-up)
REPLACE_TIMEOUT = 30.0  # how long an operator restart waits for the new run to be spawned
LOG_ROTATE_BYTES = 2 * 1024 * 1024
PLAYOUT_FILE = "playout.ffconcat"
# How long a starting channel waits for upper ladder rungs still being prepared (a first start of
# short test loops: seconds) before it goes on air without them; they join later (`_join_rungs`).
RUNG_WAIT_SECONDS = 20.0
STATE_DIR = ".simlive"

RetentionListener = retention.Listener  # (channel_key, cutoff, ranges kept for recordings)


def write_playouts(
    rdir: Path, info: layout.RunInfo, sources: Sequence[Path], loop_seconds: int, start: int
) -> list[Path]:
    """One playout list per video rendition of the run (`playout.ffconcat` for the base rung, as
    before the ladder), each starting `start` into its rung's source."""
    out = []
    for rendition, source in zip(info.video_renditions, sources, strict=True):
        suffix = "" if rendition == layout.BASE_VIDEO else rendition[len(layout.BASE_VIDEO) :]
        path = rdir / PLAYOUT_FILE.replace(".ffconcat", f"{suffix}.ffconcat")
        path.write_text(playout_list(source, loop_seconds, start))
        out.append(path)
    return out


def loop_offset_for(anchor: float, loop_seconds: int) -> int:
    """Where in the loop the EPG is at `anchor` (programme k starts at SCHEDULE_EPOCH + k * loop)."""
    return round(anchor - SCHEDULE_EPOCH.timestamp()) % loop_seconds


def next_anchor(now: float, segment_duration: int) -> int:
    return math.ceil(now / segment_duration) * segment_duration


async def _settle(task: asyncio.Task[Any] | None, what: str, channel_key: str) -> None:
    """Wait for a finishing task; its own cancellation or failure is logged, never raised here."""
    if task is None:
        return
    try:
        await task
    except asyncio.CancelledError:
        if not task.cancelled():
            raise  # we were cancelled ourselves
    except Exception:
        log.exception(f"{what} failed", extra={"channel": channel_key})


def _atomic_write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, sort_keys=True, indent=1))
    os.replace(tmp, path)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _proc_cmdline(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return None


def _listed_pids(entry: Any) -> list[int]:
    """The pids of one channel's pidfile entry: the live encoder and any being replaced."""
    if not isinstance(entry, dict):
        return []
    listed = [entry.get("pid")]
    retiring = entry.get("retiring")
    if isinstance(retiring, list):
        listed += [r.get("pid") for r in retiring if isinstance(r, dict)]
    return [p for p in listed if isinstance(p, int) and not isinstance(p, bool)]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is not alive for our purposes.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


@dataclass
class Counters:
    """Segment files and bytes of a channel's archive, kept up to date without rescanning it."""

    segments: int = 0
    bytes: int = 0
    written: int = 0  # segments this backend saw its encoders write (the scan at start-up aside)
    # (run_id, rendition) -> highest segment seq already counted
    seen: dict[tuple[str, str], int] = field(default_factory=dict)
    init_counted: set[tuple[str, str]] = field(default_factory=set)


def scan_channel(cdir: Path) -> Counters:
    """One full scan (at start-up only)."""
    c = Counters()
    try:
        runs = [e for e in os.scandir(cdir) if e.is_dir() and layout.RUN_ID_RE.match(e.name)]
    except FileNotFoundError:
        return c
    for run in runs:
        info = layout.read_run_info(Path(run.path))
        for rendition in info.renditions if info is not None else layout.RENDITIONS:
            init_name = info.init_name(rendition) if info is not None else layout.INIT_NAMES[rendition]
            best = -1
            try:
                entries = list(os.scandir(os.path.join(run.path, rendition)))
            except FileNotFoundError:
                continue
            for e in entries:
                try:
                    size = e.stat().st_size
                except FileNotFoundError:
                    continue
                seg = layout.parse_segment_name(e.name)
                if seg is not None:
                    c.segments += 1
                    c.bytes += size
                    best = max(best, seg.seq)
                elif e.name == init_name:
                    c.bytes += size
                    c.init_counted.add((run.name, rendition))
            c.seen[(run.name, rendition)] = best
    return c


@dataclass(eq=False)
class RetiringRun:
    """An encoder being replaced: it runs on until its handover point, then is stopped."""

    proc: asyncio.subprocess.Process
    run: layout.RunInfo
    task: asyncio.Task[None] | None = None  # the handover; None until the successor is spawned


class _Replace:
    """What `_watch` returns when an operator asked for the encoder to be replaced."""


REPLACE = _Replace()


@dataclass
class ChannelRuntime:
    key: str
    name: str
    loop_seconds: int
    wanted: bool = False
    state: str = "stopped"  # stopped | starting | running | error
    proc: asyncio.subprocess.Process | None = None
    run: layout.RunInfo | None = None
    started_mono: float | None = None
    started_at: float | None = None
    restarts: int = 0
    last_error: str | None = None
    last_exit_code: int | None = None
    task: asyncio.Task[None] | None = None
    stop_event: asyncio.Event = field(default_factory=asyncio.Event)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    source: str | None = None
    source_progress: float | None = None
    counters: Counters = field(default_factory=Counters)
    last_segment_mono: float | None = None
    # Make-before-break restarts: the request, its outcome (resolved when the new run is spawned)
    # and the runs being replaced.
    replace_event: asyncio.Event = field(default_factory=asyncio.Event)
    replacement: asyncio.Future[None] | None = None
    retiring: list[RetiringRun] = field(default_factory=list)
    # Preparing the upper ladder rungs this channel started without, to join them (`_join_rungs`).
    join_task: asyncio.Task[None] | None = None


class SimliveManager:
    def __init__(
        self,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        thumbnails: ThumbnailStore | None = None,
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.root = Path(settings.hls_segment_dir)
        self.state_dir = self.root / STATE_DIR
        # Workers sharing one archive each keep their own pidfile (a new worker must not end the
        # encoders of another that is alive): `use_pidfile` before `startup`.
        self.pidfile = self.state_dir / "pids.json"
        self.sources = SourceCache(settings)
        self.thumbnails = thumbnails or ThumbnailStore(settings)
        self.channels: dict[str, ChannelRuntime] = {}
        self._wanted: dict[str, bool] = {}
        self._listeners: list[RetentionListener] = []
        self._scan_task: asyncio.Task[None] | None = None
        self._closed = False
        self._cleanup_lock = asyncio.Lock()

    # ---------------------------------------------------------------- lifecycle

    async def startup(self, autostart: bool = False) -> None:
        """End stale encoders, load channels and wanted state; then, in the background, count the
        archive and (with `autostart`) start the wanted channels. Never fails: with the database
        down the channels are loaded (and started) as soon as it answers."""
        self.root.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(self.kill_stale)
        self.load_wanted()
        try:
            await self.refresh_channels()
            loaded = True
        except Exception as exc:
            log.warning("simlive: channels not loaded yet", extra={"error": repr(exc)})
            loaded = False
        self._scan_task = asyncio.create_task(self._bootstrap(loaded, autostart))

    async def _bootstrap(self, loaded: bool, autostart: bool) -> None:
        while not loaded:
            await asyncio.sleep(5)
            try:
                await self.refresh_channels()
                loaded = True
            except Exception as exc:
                log.warning("simlive: channels not loaded yet", extra={"error": repr(exc)})
        if autostart:
            self.start_wanted()
        await self._initial_scan()

    async def _initial_scan(self) -> None:
        for rt in list(self.channels.values()):
            counters = await asyncio.to_thread(scan_channel, self.root / rt.key)
            # Merge: anything counted meanwhile by a running encoder is kept.
            for k, seq in counters.seen.items():
                rt.counters.seen[k] = max(seq, rt.counters.seen.get(k, -1))
            rt.counters.init_counted |= counters.init_counted
            rt.counters.segments += counters.segments
            rt.counters.bytes += counters.bytes

    async def refresh_channels(self) -> None:
        async with self.sessionmaker() as session:
            rows = (
                await session.scalars(
                    select(Channel).where(Channel.cdn_channel_key.is_not(None)).order_by(Channel.number)
                )
            ).all()
        keys = set()
        for ch in rows:
            if self._remember(ch) is not None:
                keys.add(ch.cdn_channel_key)
        for key in [k for k, rt in self.channels.items() if k not in keys and rt.task is None]:
            del self.channels[key]  # channel deleted (or lost its key) and not running

    def load_wanted(self) -> dict[str, bool]:
        """The persisted wanted state (channels never started or stopped are absent: default on)."""
        self._wanted = {k: bool(v) for k, v in _read_json(self.state_dir / "state.json").items()}
        return dict(self._wanted)

    def _remember(self, ch: Channel) -> ChannelRuntime | None:
        key = ch.cdn_channel_key
        if key is None or not layout.is_channel_key(key) or not ch.loop_seconds:
            return None
        rt = self.channels.get(key)
        if rt is None:
            rt = ChannelRuntime(key=key, name=ch.name, loop_seconds=ch.loop_seconds)
            self.channels[key] = rt
        else:
            rt.name, rt.loop_seconds = ch.name, ch.loop_seconds
        return rt

    async def _runtime(self, key: str) -> ChannelRuntime:
        if not layout.is_channel_key(key):
            raise ApiError(404, "channel_not_found")
        async with self.sessionmaker() as session:
            ch = await drm_service.channel_by_key(session, key)
        rt = self._remember(ch) if ch is not None else None
        if rt is None:
            raise ApiError(404, "channel_not_found")
        return rt

    def start_wanted(self) -> list[str]:
        """Start every channel whose wanted state is on (channels never touched default to on)."""
        started = []
        for key, rt in self.channels.items():
            if self._wanted.get(key, True) and rt.task is None:
                rt.wanted = True
                self._launch(rt)
                started.append(key)
        log.info("simlive: autostart", extra={"channels": started})
        return started

    async def shutdown(self) -> None:
        """Stop every child (TERM, then KILL); the wanted state stays for the next backend."""
        self._closed = True
        if self._scan_task is not None:
            self._scan_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._scan_task
        await asyncio.gather(*(self._halt(rt) for rt in self.channels.values()), return_exceptions=True)

    # ---------------------------------------------------------------- operator actions

    async def start(self, key: str) -> dict[str, Any]:
        rt = await self._runtime(key)
        async with rt.lock:
            if rt.wanted or rt.task is not None:
                raise ApiError(409, "already_running")
            rt.wanted = True
            self._set_wanted(key, True)
            rt.restarts = 0
            rt.last_error = None
            self._launch(rt)
        return self.status_of(key)

    async def stop(self, key: str) -> dict[str, Any]:
        rt = await self._runtime(key)
        async with rt.lock:
            if not rt.wanted and rt.task is None:
                raise ApiError(409, "not_running")
            rt.wanted = False
            self._set_wanted(key, False)
            await self._halt(rt)
        return self.status_of(key)

    async def restart(self, key: str) -> dict[str, Any]:
        """Operator restart (also key rotation). A running encoder is replaced make-before-break and
        this returns once the new run is spawned; one still starting or waiting out a backoff is
        stopped and started again. A handover still in progress is waited for first."""
        rt = await self._runtime(key)
        async with rt.lock:
            if not rt.wanted and rt.task is None:
                raise ApiError(409, "not_running")
            await self._handovers_done(rt)
            if self._replaceable(rt):
                await self._request_replacement(rt)
            else:
                await self._halt(rt)
                rt.wanted = True
                self._launch(rt)
        return self.status_of(key)

    async def restart_if_running(self, key: str) -> bool:
        rt = self.channels.get(key)
        if rt is None or not rt.wanted:
            return False
        await self.restart(key)
        return True

    @staticmethod
    def _replaceable(rt: ChannelRuntime) -> bool:
        return (
            rt.task is not None
            and not rt.task.done()
            and rt.state == "running"
            and rt.proc is not None
            and rt.proc.returncode is None
        )

    async def _request_replacement(self, rt: ChannelRuntime) -> None:
        """Ask the supervisor for a make-before-break restart; wait until the new run is spawned."""
        assert rt.task is not None
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        rt.replacement = done
        rt.replace_event.set()
        try:
            await asyncio.wait({done, rt.task}, timeout=REPLACE_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
        finally:
            rt.replacement = None
        if done.done() and done.exception() is not None:
            raise ApiError(503, "encoder_restart_failed", error=rt.last_error)

    def _resolve_replacement(self, rt: ChannelRuntime, error: Exception | None = None) -> None:
        rt.replace_event.clear()
        done = rt.replacement
        if done is not None and not done.done():
            if error is None:
                done.set_result(None)
            else:
                done.set_exception(error)

    async def _handovers_done(self, rt: ChannelRuntime) -> None:
        tasks = [r.task for r in rt.retiring if r.task is not None]
        if tasks:
            await asyncio.wait(tasks)

    def live_runs(self) -> dict[str, str]:
        return {
            k: rt.run.run_id for k, rt in self.channels.items() if rt.run is not None and rt.proc is not None
        }

    def log_path(self, key: str) -> Path:
        return layout.channel_dir(self.root, key) / "encoder.log"

    async def log_tail(self, key: str, lines: int) -> encoder_log.LogTail:
        """The end of a known channel's own encoder log (404 for any other key)."""
        rt = await self._runtime(key)
        return await asyncio.to_thread(encoder_log.read_tail, self.log_path(rt.key), lines)

    def pid_of(self, key: str) -> int | None:
        rt = self.channels.get(key)
        return rt.proc.pid if rt is not None and rt.proc is not None and rt.proc.returncode is None else None

    # ---------------------------------------------------------------- cluster ownership (issue 13)
    # A worker runs the channels it holds the lock of (`encoder_ownership`); the wanted state is the
    # database's there, so these never touch state.json.

    def use_pidfile(self, name: str) -> None:
        self.pidfile = self.state_dir / name

    async def own(self, key: str) -> None:
        """Start a channel this worker has just become the owner of (no-op when it runs)."""
        rt = await self._runtime(key)
        if self._scan_task is not None and not self._scan_task.done():
            await asyncio.wait({self._scan_task})  # its counts would be added to the fresh ones
        async with rt.lock:
            if rt.task is not None:
                return
            # Runs the previous owner wrote since this worker counted the archive.
            rt.counters = await asyncio.to_thread(scan_channel, self.root / key)
            rt.wanted = True
            rt.restarts = 0
            rt.last_error = None
            self._launch(rt)

    async def disown(self, key: str) -> None:
        """Stop a channel this worker gives up (TERM, then KILL, as a stop)."""
        rt = self.channels.get(key)
        if rt is None:
            return
        async with rt.lock:
            rt.wanted = False
            await self._halt(rt)

    def kill_now(self, key: str) -> None:
        """Fencing: SIGKILL the channel's encoders at once, without waiting for anything, so none
        runs on once another worker may own the channel; `disown` cleans up after."""
        rt = self.channels.get(key)
        if rt is None:
            return
        rt.stop_event.set()  # the supervisor must not restart what is killed here
        for proc in [rt.proc, *(r.proc for r in rt.retiring)]:
            if proc is not None and proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()

    # ---------------------------------------------------------------- status

    def status(self) -> list[dict[str, Any]]:
        return [self.status_of(k) for k in self.channels]

    def status_of(self, key: str) -> dict[str, Any]:
        rt = self.channels[key]
        self._poll_counters(rt)
        running = rt.proc is not None and rt.proc.returncode is None and rt.state == "running"
        uptime = round(time.monotonic() - rt.started_mono, 1) if running and rt.started_mono else None
        return {
            "channel_key": rt.key,
            "channel_name": rt.name,
            "state": rt.state,
            "running": running,
            "wanted": rt.wanted,
            "pid": rt.proc.pid if running and rt.proc is not None else None,
            "uptime_seconds": uptime,
            "started_at": (
                datetime.fromtimestamp(rt.started_at, UTC).isoformat() if running and rt.started_at else None
            ),
            "restarts": rt.restarts,
            "error": rt.last_error,
            "last_error": rt.last_error,
            "last_exit_code": rt.last_exit_code,
            "run_id": rt.run.run_id if rt.run else None,
            "kid": rt.run.kid if rt.run else None,
            "loop_seconds": rt.loop_seconds,
            "loop_offset": rt.run.loop_offset if rt.run else None,
            "source": rt.source,
            "source_progress": rt.source_progress,
            "segment_count": rt.counters.segments,
            "disk_bytes": rt.counters.bytes,
            "segments_written": rt.counters.written,
        }

    def _poll_counters(self, rt: ChannelRuntime) -> None:
        """Count new segments of the live run and of any run being replaced."""
        if rt.run is not None and self._count_run(rt, rt.run):
            rt.last_segment_mono = time.monotonic()
        for outgoing in rt.retiring:
            self._count_run(rt, outgoing.run)

    def _count_run(self, rt: ChannelRuntime, run: layout.RunInfo) -> bool:
        """Count a run's new segments from FFmpeg's own short playlists (two tiny reads); any new?"""
        grew = False
        d = self.root / rt.key / run.run_id
        for rendition in run.renditions:
            rdir = d / rendition
            if (run.run_id, rendition) not in rt.counters.init_counted:
                try:
                    rt.counters.bytes += (rdir / run.init_name(rendition)).stat().st_size
                    rt.counters.init_counted.add((run.run_id, rendition))
                except FileNotFoundError:
                    pass
            try:
                text = (rdir / layout.PLAYLIST_NAME).read_text()
            except OSError:
                continue
            last = rt.counters.seen.get((run.run_id, rendition), -1)
            best = last
            for line in text.splitlines():
                if not line or line.startswith("#"):
                    continue
                seg = layout.parse_segment_name(line.strip())
                if seg is None or seg.seq <= last:
                    continue
                try:
                    size = (rdir / line.strip()).stat().st_size
                except FileNotFoundError:
                    continue
                rt.counters.segments += 1
                rt.counters.written += 1
                rt.counters.bytes += size
                best = max(best, seg.seq)
            if best > last:
                rt.counters.seen[(run.run_id, rendition)] = best
                grew = True
        return grew

    # ---------------------------------------------------------------- retention

    def add_retention_listener(self, listener: RetentionListener) -> None:
        """`listener(channel_key, cutoff)` runs after each clean-up of a channel (segment index hook)."""
        self._listeners.append(listener)

    async def cleanup(self, now: datetime | None = None) -> retention.CleanupResult:
        async with self._cleanup_lock:
            result = await retention.cleanup(
                self.settings,
                self.sessionmaker,
                now,
                listener=self._notify_listeners,
                live_runs=self.live_runs(),
            )
        for ch in result.channels:
            rt = self.channels.get(ch.channel_key)
            if rt is not None:
                rt.counters.segments = max(0, rt.counters.segments - ch.segments_deleted)
                rt.counters.bytes = max(0, rt.counters.bytes - ch.bytes_freed)
        return result

    async def _notify_listeners(
        self, channel_key: str, cutoff: datetime, kept: Sequence[retention.Range] = ()
    ) -> None:
        for fn in self._listeners:
            try:
                res = fn(channel_key, cutoff, kept)
                if inspect.isawaitable(res):
                    await res
            except Exception:
                log.exception("retention listener failed", extra={"channel": channel_key})

    # ---------------------------------------------------------------- supervision

    def _launch(self, rt: ChannelRuntime) -> None:
        rt.stop_event = asyncio.Event()
        rt.replace_event = asyncio.Event()
        rt.state = "starting"
        rt.task = asyncio.create_task(self._supervise(rt), name=f"simlive-{rt.key}")

    async def _halt(self, rt: ChannelRuntime) -> None:
        rt.stop_event.set()
        if rt.join_task is not None and rt.join_task is not asyncio.current_task():
            rt.join_task.cancel()
            await _settle(rt.join_task, "rung join", rt.key)
            rt.join_task = None
        await _settle(rt.task, "supervisor", rt.key)
        if rt.proc is not None and rt.proc.returncode is None:
            await self._terminate(rt.proc)
        await self._end_retiring(rt)
        rt.task = None
        rt.state = "stopped"
        self._poll_counters(rt)
        rt.proc = None
        self._write_pids()

    async def _until_stop(
        self, rt: ChannelRuntime, aw: Awaitable[Any], wait_s: float | None = None
    ) -> tuple[bool, Any]:
        """Await `aw` unless a stop comes first (or the timeout passes): returns (done, result)."""
        work = asyncio.ensure_future(aw)
        stopper = asyncio.ensure_future(rt.stop_event.wait())
        try:
            await asyncio.wait({work, stopper}, timeout=wait_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
        if work.done():
            return True, work.result()
        work.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await work
        return False, None

    async def _sleep_or_stop(self, rt: ChannelRuntime, seconds: float) -> bool:
        """True when a stop was requested during the sleep."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(rt.stop_event.wait(), timeout=max(0.0, seconds))
        return rt.stop_event.is_set()

    async def _supervise(self, rt: ChannelRuntime) -> None:
        backoff = BACKOFF_START
        try:
            while not rt.stop_event.is_set() and not self._closed:
                rt.state = "starting"
                try:
                    proc = await self._start_run(rt)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    rt.state = "error"
                    rt.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                    log.warning("encoder: start failed", extra={"channel": rt.key, "error": rt.last_error})
                    if await self._sleep_or_stop(rt, backoff):
                        break
                    backoff = min(backoff * 2, BACKOFF_MAX)
                    continue
                if proc is None:  # stopped while preparing
                    break
                rc = await self._run_until_exit(rt, proc)
                if rc is None:  # stop requested
                    break
                lived = time.monotonic() - (rt.started_mono or time.monotonic())
                if lived >= HEALTHY_AFTER:
                    backoff = BACKOFF_START
                rt.last_exit_code = rc
                rt.proc = None
                self._write_pids()
                rt.restarts += 1
                if rc == 0:
                    rt.last_error = None
                    rt.state = "starting"
                    log.info("encoder: playout list ended, new run", extra={"channel": rt.key})
                    continue
                rt.state = "error"
                detail = tail(self.log_path(rt.key))
                rt.last_error = f"encoder exited with code {rc} after {lived:.0f} s" + (
                    f": {detail}" if detail else ""
                )
                log.warning(
                    "encoder: exited, restarting",
                    extra={"channel": rt.key, "code": rc, "backoff": backoff, "restarts": rt.restarts},
                )
                if await self._sleep_or_stop(rt, backoff):
                    break
                backoff = min(backoff * 2, BACKOFF_MAX)
        finally:
            if rt.proc is not None and rt.proc.returncode is None:
                await self._terminate(rt.proc)

    async def _run_until_exit(self, rt: ChannelRuntime, proc: asyncio.subprocess.Process) -> int | None:
        """Watch the live encoder, replacing it whenever an operator asks: the exit code of the one
        live at the end, or None on a stop."""
        while True:
            outcome = await self._watch(rt, proc)
            if not isinstance(outcome, _Replace):
                return outcome
            successor = await self._replace_run(rt, proc)
            if successor is None:
                return None
            proc = successor

    async def _replace_run(
        self, rt: ChannelRuntime, old: asyncio.subprocess.Process
    ) -> asyncio.subprocess.Process | None:
        """Make before break: start the next run while `old` keeps encoding, then hand over (`_retire`).

        Returns the process to watch from now on: the new one, or `old` when the new run cannot start
        (the restart request fails, the channel stays on air); None when a stop came first (`_halt`
        then ends `old` too).
        """
        assert rt.run is not None
        outgoing = RetiringRun(old, rt.run)
        rt.retiring.append(outgoing)  # from now on in the pidfile, and ended by `_halt`
        try:
            new = await self._start_run(rt)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            rt.retiring.remove(outgoing)
            rt.last_error = f"restart failed, previous run kept: {type(exc).__name__}: {exc}"[:2000]
            log.warning("encoder: restart failed", extra={"channel": rt.key, "error": rt.last_error})
            self._resolve_replacement(rt, exc)
            return old
        if new is None:
            return None
        assert rt.run is not None
        outgoing.task = asyncio.create_task(
            self._retire(rt, outgoing, rt.run.anchor, rt.stop_event), name=f"simlive-retire-{rt.key}"
        )
        return new

    async def _retire(
        self, rt: ChannelRuntime, outgoing: RetiringRun, successor_anchor: float, stop: asyncio.Event
    ) -> None:
        """Let a replaced encoder finish the segment that ends where its successor begins; stop it."""
        why = "cancelled"
        try:
            why = await wait_for_handover_point(
                outgoing.proc,
                outgoing.run,
                self.root / rt.key / outgoing.run.run_id,
                successor_anchor,
                stop,
            )
        finally:
            if why == "nothing_to_finish" and outgoing.proc.returncode is None:
                # Still in its pre-roll: nothing to keep, and TERM would make FFmpeg write an empty
                # segment at the anchor the new run starts at.
                with contextlib.suppress(ProcessLookupError):
                    outgoing.proc.kill()
            await self._terminate(outgoing.proc)
            self._count_run(rt, outgoing.run)
            with contextlib.suppress(ValueError):
                rt.retiring.remove(outgoing)
            self._write_pids()
            extra = {
                "channel": rt.key,
                "pid": outgoing.proc.pid,
                "run": outgoing.run.run_id,
                "handover": why,
                "code": outgoing.proc.returncode,
            }
            if why in ("late", "exited"):
                log.warning("encoder: replaced run ended off its handover point (gap?)", extra=extra)
            else:
                log.info("encoder: replaced run stopped", extra=extra)

    async def _end_retiring(self, rt: ChannelRuntime) -> None:
        """Stop every encoder still being replaced (a set stop event ends their handover at once)."""
        for outgoing in list(rt.retiring):
            await _settle(outgoing.task, "handover", rt.key)
            await self._terminate(outgoing.proc)
            with contextlib.suppress(ValueError):
                rt.retiring.remove(outgoing)

    async def _watch(self, rt: ChannelRuntime, proc: asyncio.subprocess.Process) -> int | _Replace | None:
        """Wait for the child to exit (its code), a stop (None) or a replacement request (REPLACE);
        kill it if it stops producing."""
        stall_limit = 3 * self.settings.hls_segment_duration + 15
        waiter = asyncio.ensure_future(proc.wait())
        stop = asyncio.ensure_future(rt.stop_event.wait())
        replace = asyncio.ensure_future(rt.replace_event.wait())
        try:
            while True:
                await asyncio.wait(
                    {waiter, stop, replace}, timeout=POLL_SECONDS, return_when=asyncio.FIRST_COMPLETED
                )
                if waiter.done():
                    self._poll_counters(rt)
                    return int(waiter.result())
                if stop.done():
                    return None
                if replace.done():
                    return REPLACE
                self._poll_counters(rt)
                ref = rt.last_segment_mono or rt.started_mono or time.monotonic()
                if time.monotonic() - ref > stall_limit and proc.returncode is None:
                    log.warning("encoder: stalled, killing", extra={"channel": rt.key, "pid": proc.pid})
                    with contextlib.suppress(ProcessLookupError):
                        proc.kill()
        finally:
            for fut in (waiter, stop, replace):
                if not fut.done():
                    fut.cancel()

    async def _start_run(self, rt: ChannelRuntime) -> asyncio.subprocess.Process | None:
        source = self.sources.user_source(rt.key)
        rt.source = str(source) if source else "generated"

        def progress(frac: float) -> None:
            rt.source_progress = round(frac, 3)

        # The base rung is what a channel needs to go on air. Upper rungs not prepared yet are given
        # RUNG_WAIT_SECONDS more (short loops take seconds) unless this run replaces one on air; any
        # still missing then are prepared in the background and join at a make-before-break
        # handover (`_join_rungs`), so a fresh machine has every channel on air after one encode each.
        ladder = self.settings.ladder
        done, path = await self._until_stop(
            rt, self.sources.prepare(rt.key, rt.name, rt.loop_seconds, ladder[0], progress)
        )
        if not done:
            return None
        rt.source_progress = 1.0
        missing = [
            r for r in ladder[1:] if await self.sources.ready(rt.key, rt.name, rt.loop_seconds, r) is None
        ]
        if missing and not rt.retiring:
            builds = [self.sources.prepare(rt.key, rt.name, rt.loop_seconds, r) for r in missing]
            await self._until_stop(rt, asyncio.gather(*builds, return_exceptions=True), RUNG_WAIT_SECONDS)
            if rt.stop_event.is_set():
                return None
        sources: list[tuple[Rung, Path]] = [(ladder[0], Path(path))]
        for rung in ladder[1:]:
            ready = await self.sources.ready(rt.key, rt.name, rt.loop_seconds, rung)
            if ready is not None:
                sources.append((rung, ready))
        if len(sources) < len(ladder) and (rt.join_task is None or rt.join_task.done()):
            rt.join_task = asyncio.create_task(self._join_rungs(rt), name=f"simlive-rungs-{rt.key}")
        kid_hex: str | None = None
        key_hex: str | None = None
        if self.settings.drm_enabled:
            async with self.sessionmaker() as session:
                ch = await drm_service.channel_by_key(session, rt.key)
                if ch is None:
                    raise RuntimeError("channel no longer exists")
                key = await drm_service.get_or_create_active_key(session, ch)
                kid_hex, key_hex = key.key_id.hex, key.key_value.hex()
        # The run starts on a segment boundary (`anchor`) at the loop position the EPG has for that
        # instant. FFmpeg is spawned at once (on the next whole second) and reads in real time from
        # `preroll` seconds earlier in the loop, discarding that pre-roll (output -ss): the first
        # kept frame leaves at the anchor, and the pid exists immediately.
        d = self.settings.hls_segment_duration
        spawn_at = math.ceil(time.time() + SPAWN_LEAD)
        anchor = next_anchor(spawn_at, d)
        preroll = anchor - spawn_at
        if await self._sleep_or_stop(rt, spawn_at - SPAWN_LEAD - time.time()):
            return None
        offset = loop_offset_for(anchor, rt.loop_seconds)
        now = time.time()
        info = layout.RunInfo(
            run_id=layout.run_id_for(now),
            channel_key=rt.key,
            anchor=float(anchor),
            segment_duration=d,
            kid=kid_hex,
            started_at=now,
            loop_seconds=rt.loop_seconds,
            loop_offset=float(offset),
            source=sources[0][1].name,  # the base rung's file: what the thumbnails are made of
            rungs=layout.run_rungs([(r.name, r.width, r.height, r.bitrate) for r, _ in sources]),
        )
        rdir = layout.write_run_info(self.root, info)
        playlists = write_playouts(
            rdir, info, [p for _, p in sources], rt.loop_seconds, (offset - preroll) % rt.loop_seconds
        )
        args = self._ffmpeg_args(playlists, rdir, key_hex, kid_hex, preroll, info.video_renditions)
        logpath = self.log_path(rt.key)
        self._rotate_log(logpath)
        with logpath.open("ab") as logf:
            logf.write(
                f"--- {datetime.now(UTC).isoformat()} run {info.run_id} anchor {anchor} "
                f"offset {offset} kid {kid_hex}\n".encode()
            )
            logf.flush()
            proc = await asyncio.create_subprocess_exec(
                *args,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=logf,
                env={**os.environ, "TZ": "UTC"},
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
        rt.proc = proc
        rt.run = info
        rt.started_mono = time.monotonic()
        rt.started_at = now
        rt.last_segment_mono = None
        rt.state = "running"
        self._write_pids()
        self._resolve_replacement(rt)
        # The seek-bar thumbnails of this source, in the background once the encoder is on air.
        self.thumbnails.request(SheetSet(info.source or "", rt.loop_seconds, d))
        log.info(
            "encoder: started",
            extra={
                "channel": rt.key,
                "pid": proc.pid,
                "run": info.run_id,
                "anchor": anchor,
                "offset": offset,
                "kid": kid_hex,
                "replacing": [r.proc.pid for r in rt.retiring],
            },
        )
        return proc

    async def _join_rungs(self, rt: ChannelRuntime) -> None:
        """Prepare the upper rungs a running channel lacks, then replace its encoder make-before-break
        (like an operator restart: no gap, a discontinuity) so they join; on failure it stays on the
        rungs it has. Runs once per channel at a time; a channel stopped meanwhile just has them
        ready for its next start."""
        ladder = self.settings.ladder
        for rung in ladder[1:]:
            try:
                await self.sources.prepare(rt.key, rt.name, rt.loop_seconds, rung)
            except SourceError as exc:
                log.warning(
                    "source: upper rung failed",
                    extra={"channel": rt.key, "rung": rung.name, "error": str(exc)},
                )
                return
        async with rt.lock:
            if not rt.wanted or rt.run is None:
                return
            have = {r.name for r in rt.run.video_rungs}
            if all(r.name in have for r in ladder):
                return
            await self._handovers_done(rt)
            if not self._replaceable(rt):
                return  # starting or in a backoff: its next run picks every rung up
            log.info(
                "encoder: upper rungs ready, joining",
                extra={"channel": rt.key, "rungs": [r.name for r in ladder]},
            )
            try:
                await self._request_replacement(rt)
            except ApiError:
                log.warning(
                    "encoder: rung join failed, staying on the rungs it has", extra={"channel": rt.key}
                )

    def _ffmpeg_args(
        self,
        playlists: Sequence[Path],
        rdir: Path,
        key_hex: str | None,
        kid_hex: str | None,
        preroll: int = 0,
        renditions: Sequence[str] = (layout.BASE_VIDEO,),
    ) -> list[str]:
        """One FFmpeg for every rung: input i is rung i's playout list (identical timelines, key
        frames at the same instants), each stream-copied to its own video rendition, plus the base
        input's audio. Audio is the second variant stream (init_1.mp4), as before the ladder."""
        d = self.settings.hls_segment_duration
        args = [ffmpeg_exe(self.settings), "-hide_banner", "-nostdin", "-nostats", "-loglevel", "warning"]
        for playlist in playlists:
            args += ["-re", "-f", "concat", "-safe", "0", "-i", str(playlist)]
        for i in range(len(playlists)):
            args += ["-map", f"{i}:v:0"]
        args += ["-map", "0:a:0", "-c", "copy"]
        if preroll:
            args += ["-ss", str(preroll)]  # output option: read in real time, then dropped
        args += ["-f", "hls", "-hls_time", str(d), "-hls_list_size", "10", "-hls_segment_type", "fmp4"]
        args += ["-hls_flags", "second_level_segment_duration+second_level_segment_index+temp_file"]
        streams = [f"v:0,name:{renditions[0]}", f"a:0,name:{layout.AUDIO}"]
        streams += [f"v:{i},name:{r}" for i, r in enumerate(renditions[1:], start=1)]
        args += ["-strftime", "1", "-var_stream_map", " ".join(streams)]
        args += ["-hls_fmp4_init_filename", "init.mp4"]
        if key_hex and kid_hex:
            args += [
                "-hls_segment_options",
                f"encryption_scheme=cenc-aes-ctr:encryption_key={key_hex}:encryption_kid={kid_hex}",
            ]
        args += ["-hls_segment_filename", f"{rdir}/%v/{layout.FFMPEG_SEGMENT_PATTERN}"]
        args += [f"{rdir}/%v/{layout.PLAYLIST_NAME}"]
        return args

    @staticmethod
    def _rotate_log(path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_size > LOG_ROTATE_BYTES:
                os.replace(path, path.with_name(path.name + ".1"))

    @staticmethod
    async def _terminate(proc: asyncio.subprocess.Process) -> None:
        if proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), TERM_GRACE)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()

    # ---------------------------------------------------------------- persistence

    def _set_wanted(self, key: str, wanted: bool) -> None:
        self._wanted[key] = wanted
        _atomic_write_json(self.state_dir / "state.json", self._wanted)

    def _write_pids(self) -> None:
        """Every live child per channel: `pid` (the live encoder) and `retiring` (being replaced)."""
        pids: dict[str, dict[str, Any]] = {}
        for k, rt in self.channels.items():
            entry: dict[str, Any] = {}
            if rt.proc is not None and rt.proc.returncode is None:
                entry.update(pid=rt.proc.pid, run_id=rt.run.run_id if rt.run else None)
            retiring = [
                {"pid": r.proc.pid, "run_id": r.run.run_id}
                for r in rt.retiring
                if r.proc.returncode is None and r.proc is not rt.proc
            ]
            if retiring:
                entry["retiring"] = retiring
            if entry:
                pids[k] = entry
        _atomic_write_json(self.pidfile, pids)

    def kill_stale(self) -> list[int]:
        """End encoders listed in the pidfile whose command line names this archive (not ours)."""
        ours = {rt.proc.pid for rt in self.channels.values() if rt.proc is not None}
        ours |= {r.proc.pid for rt in self.channels.values() for r in rt.retiring}
        marker = str(self.root)
        killed = []
        for key, entry in _read_json(self.pidfile).items():
            for pid in _listed_pids(entry):
                if pid in ours or pid <= 1:
                    continue
                cmd = _proc_cmdline(pid)
                if cmd is None or "ffmpeg" not in cmd or f"{marker}/{key}/" not in cmd:
                    continue
                log.warning("simlive: ending stale encoder", extra={"channel": key, "pid": pid})
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
                deadline = time.monotonic() + TERM_GRACE
                while _pid_alive(pid) and time.monotonic() < deadline:
                    time.sleep(0.05)
                if _pid_alive(pid):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                killed.append(pid)
        _atomic_write_json(self.pidfile, {})
        return killed
