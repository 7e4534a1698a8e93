"""SimLive encoders: one supervised FFmpeg child per channel writing the encrypted archive.

Every run (start, restart after a crash, key rotation) gets a new run directory whose `run.json` is
written before FFmpeg starts (see `archive_layout`). When a run starts and what FFmpeg is told is
planned in `app/services/encoders/run_plan.py`: its first frame goes out exactly on a segment
boundary and shows the loop position the EPG dictates for that instant, so the programme clock in
the picture, the timeline (anchor + seq * duration) and the schedule agree. FFmpeg starts up to one
segment duration before the anchor and discards that pre-roll, so the *name* of a run's first
segment can be that much early (it is opened at start-up); later names carry the usual jitter.

Supervision (backoff, stall kill, make-before-break replacement) is `RunLoop`
(`app/services/encoders/run_loop.py`); this module adds the channels, the operator actions, the
status and retention.

Logs go to `{HLS_SEGMENT_DIR}/{key}/encoder.log`. The wanted state of each channel lives in
`{HLS_SEGMENT_DIR}/.simlive/state.json` (`wanted_state`), the pids of the children in
`.../pids.json` (`pidfile`): a new backend ends encoders a dead one left behind (only processes whose
command line names this archive). Children also get PR_SET_PDEATHSIG on Linux, so even `kill -9` of
the backend takes them down.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.errors import ApiError
from app.services.archive import archive_layout as layout
from app.services.archive import content_keys, retention
from app.services.archive.disk_budget import ChannelEvictions, DiskBudget, LiveEnd
from app.services.archive.thumbnails import ThumbnailStore
from app.services.encoders import encoder_log, pidfile
from app.services.encoders.channel_runtime import ChannelRuntime
from app.services.encoders.channels import EncoderChannel, encoder_channel, encoder_channels
from app.services.encoders.encoder_status import ChannelEncoderStatus
from app.services.encoders.run_start import RunStarter
from app.services.encoders.segment_counters import count_new_segments, scan_channel
from app.services.encoders.sources import SourceCache
from app.services.encoders.wanted_state import WantedState
from app.supervision import TaskSupervisor

log = logging.getLogger("tstv.simlive")

STATE_DIR = ".simlive"

RetentionListener = retention.Listener  # (channel_key, cutoff, ranges kept for recordings)


class EncoderSupervisor(RunStarter):
    def __init__(
        self,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        thumbnails: ThumbnailStore | None = None,
        tasks: TaskSupervisor | None = None,
    ) -> None:
        self.settings = settings
        self.tasks = tasks or TaskSupervisor()
        self.sessionmaker = sessionmaker
        self.root = Path(settings.hls_segment_dir)
        self.state_dir = self.root / STATE_DIR
        # Workers sharing one archive each keep their own pidfile (a new worker must not end the
        # encoders of another that is alive): `use_pidfile` before `startup`.
        self.pidfile = self.state_dir / "pids.json"
        self.sources = SourceCache(settings)
        self.thumbnails = thumbnails or ThumbnailStore(settings)
        self.channels: dict[str, ChannelRuntime] = {}
        self._wanted = WantedState(self.state_dir)
        self._listeners: list[RetentionListener] = []
        self._scan_task: asyncio.Task[None] | None = None
        self._scanned: set[str] = set()  # channels the initial scan counted
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
        self._scan_task = self.tasks.spawn("simlive_bootstrap", lambda: self._bootstrap(loaded, autostart))

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
            if rt.key in self._scanned:  # counted before a restart of this task
                continue
            rt.counters.add_scan(await asyncio.to_thread(scan_channel, self.root / rt.key))
            self._scanned.add(rt.key)

    async def refresh_channels(self) -> None:
        async with self.sessionmaker() as session:
            channels = await encoder_channels(session)
        keys = {self._remember(ch).key for ch in channels}
        for key in [k for k, rt in self.channels.items() if k not in keys and rt.task is None]:
            del self.channels[key]  # channel deleted (or lost its key) and not running

    def load_wanted(self) -> dict[str, bool]:
        """The persisted wanted state (channels never started or stopped are absent: default on)."""
        return self._wanted.load()

    def _remember(self, ch: EncoderChannel) -> ChannelRuntime:
        rt = self.channels.get(ch.key)
        if rt is None:
            rt = ChannelRuntime(key=ch.key, name=ch.name, loop_seconds=ch.loop_seconds)
            self.channels[ch.key] = rt
        else:
            rt.name, rt.loop_seconds = ch.name, ch.loop_seconds
        return rt

    async def _runtime(self, key: str) -> ChannelRuntime:
        if not layout.is_channel_key(key):
            raise ApiError(404, "channel_not_found")
        async with self.sessionmaker() as session:
            ch = await content_keys.channel_by_key(session, key)
        enc = encoder_channel(ch) if ch is not None else None
        if enc is None:
            raise ApiError(404, "channel_not_found")
        return self._remember(enc)

    def start_wanted(self) -> list[str]:
        """Start every channel whose wanted state is on (channels never touched default to on)."""
        started = []
        for key, rt in self.channels.items():
            if self._wanted.wanted(key) and rt.task is None:
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

    async def start(self, key: str) -> ChannelEncoderStatus:
        rt = await self._runtime(key)
        async with rt.lock:
            if rt.wanted or rt.task is not None:
                raise ApiError(409, "already_running")
            rt.wanted = True
            self._wanted.set(key, True)
            rt.restarts = 0
            rt.last_error = None
            self._launch(rt)
        return self.status_of(key)

    async def stop(self, key: str) -> ChannelEncoderStatus:
        rt = await self._runtime(key)
        async with rt.lock:
            if not rt.wanted and rt.task is None:
                raise ApiError(409, "not_running")
            rt.wanted = False
            self._wanted.set(key, False)
            await self._halt(rt)
        return self.status_of(key)

    async def restart(self, key: str) -> ChannelEncoderStatus:
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

    # ---------------------------------------------------------------- cluster ownership (docs/SCALING.md)
    # A worker runs the channels it holds the lock of (`ownership`); the wanted state is the
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

    def status(self) -> list[ChannelEncoderStatus]:
        return [self.status_of(k) for k in self.channels]

    def status_of(self, key: str) -> ChannelEncoderStatus:
        rt = self.channels[key]
        self._poll_counters(rt)
        return rt.status()

    def _poll_counters(self, rt: ChannelRuntime) -> None:
        """Count new segments of the live run and of any run being replaced."""
        if rt.run is not None and self._count_run(rt, rt.run):
            rt.last_segment_mono = time.monotonic()
        for outgoing in rt.retiring:
            self._count_run(rt, outgoing.run)

    def _count_run(self, rt: ChannelRuntime, run: layout.RunInfo) -> bool:
        return count_new_segments(rt.counters, self.root / rt.key / run.run_id, run)

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

    async def enforce_disk_budget(self, budget: DiskBudget, live_end: LiveEnd) -> dict[str, ChannelEvictions]:
        """One disk check (`ARCHIVE_DISK_FLOOR`): under the floor, evict the oldest catch-up and tell
        the retention listeners (the index) as time-based retention does."""
        return await budget.enforce(self.sessionmaker, live_end, self._notify_listeners, self._archive_shrunk)

    def _archive_shrunk(self, channel_key: str, segments: int, freed: int) -> None:
        rt = self.channels.get(channel_key)
        if rt is not None:
            rt.counters.segments = max(0, rt.counters.segments - segments)
            rt.counters.bytes = max(0, rt.counters.bytes - freed)

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

    # ---------------------------------------------------------------- persistence

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
        try:
            pidfile.atomic_write_json(self.pidfile, pids)
        except OSError as exc:  # a full disk must not end the supervisor task that called this
            log.warning("encoder pidfile not written", extra={"path": str(self.pidfile), "error": repr(exc)})

    def kill_stale(self) -> list[int]:
        """End encoders listed in the pidfile whose command line names this archive (not ours)."""
        ours = {rt.proc.pid for rt in self.channels.values() if rt.proc is not None}
        ours |= {r.proc.pid for rt in self.channels.values() for r in rt.retiring}
        return pidfile.kill_stale(self.pidfile, self.root, ours)
