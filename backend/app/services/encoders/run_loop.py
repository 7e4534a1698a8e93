"""Supervision of one channel's runs: start, watch, restart after a backoff, replace make-before-break.

An exit is detected at once and the encoder restarted after a backoff (1 s doubling to 60 s, back to
1 s after a healthy minute); a run that stops producing segments is killed and treated the same way.
Such restarts leave a gap in the archive. An operator restart or key rotation of a running encoder
does not: the new run starts while the old one keeps going (`_replace_run`); the old one finishes
the segment that ends at the new run's anchor (`_retire`, `app/services/encoders/handover.py`) and
is then stopped. Its exit is expected: no crash, no backoff, not counted in `restarts`. The loop
itself is a supervised task (`encoder:{channel}`, app/supervision.py): should it raise, it is
logged, counted and started again after its own backoff.

`RunLoop` is the half of `EncoderSupervisor` (app/services/encoders/supervisor.py) that drives the
processes; the supervisor supplies how a run starts (`_start_run`) and what is counted and listed.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

from app.config import Settings
from app.errors import ApiError
from app.services.archive import archive_layout as layout
from app.services.encoders.channel_runtime import REPLACE, ChannelRuntime, RetiringRun, _Replace, settle
from app.services.encoders.handover import wait_for_handover_point
from app.services.encoders.sources import tail
from app.supervision import TaskSupervisor

log = logging.getLogger("tstv.simlive")

BACKOFF_START = 1.0
BACKOFF_MAX = 60.0
HEALTHY_AFTER = 60.0  # a run that lived this long resets the backoff
# A full disk is retried at this pace, not with the growing backoff: once space returns the
# channel is back on air within it (docs/PRODUCT.md, "Disk budget").
DISK_FULL_RETRY = 5.0
DISK_FULL = "disk full"
REKEY_FAILED = "writing re-keyed segments failed"
_NO_SPACE = ("No space left on device", "Disk quota exceeded")
# Free space below which an encoder's failure is put down to the disk even when its log (on the
# same full disk) could not say so.
LOW_SPACE = 16 * 1024 * 1024


def archive_nearly_full(root: Path) -> bool:
    try:
        st = os.statvfs(root)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < LOW_SPACE


def is_disk_full(exc: BaseException | None = None, detail: str = "") -> bool:
    """Did a start fail (`exc`, or what caused it) or an encoder exit (its log's `detail`) because
    the disk is full?"""
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        exc = exc.__cause__ or exc.__context__
    return any(words in detail for words in _NO_SPACE)


POLL_SECONDS = 5.0
TERM_GRACE = 5.0
REPLACE_TIMEOUT = 30.0  # how long an operator restart waits for the new run to be spawned


class RunLoop:
    settings: Settings
    root: Path
    tasks: TaskSupervisor
    _closed: bool

    # ---------------------------------------------------------------- supplied by the supervisor

    async def _start_run(self, rt: ChannelRuntime) -> asyncio.subprocess.Process | None:
        raise NotImplementedError

    def _poll_counters(self, rt: ChannelRuntime) -> None:
        raise NotImplementedError

    def _count_run(self, rt: ChannelRuntime, run: layout.RunInfo) -> bool:
        raise NotImplementedError

    def _write_pids(self) -> None:
        raise NotImplementedError

    def log_path(self, key: str) -> Path:
        raise NotImplementedError

    # ---------------------------------------------------------------- replacement requests

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

    def _launch(self, rt: ChannelRuntime) -> None:
        rt.stop_event = asyncio.Event()
        rt.replace_event = asyncio.Event()
        rt.state = "starting"
        # Supervised: an unexpected exception is logged, counted and the loop started again after a
        # backoff (app/supervision.py); a stop during that backoff ends it.
        rt.task = self.tasks.spawn(f"encoder:{rt.key}", lambda: self._supervise(rt), stop=rt.stop_event)

    async def _halt(self, rt: ChannelRuntime) -> None:
        rt.stop_event.set()
        if rt.join_task is not None and rt.join_task is not asyncio.current_task():
            rt.join_task.cancel()
            await settle(rt.join_task, "rung join", rt.key)
            rt.join_task = None
        await settle(rt.task, "supervisor", rt.key)
        if rt.proc is not None and rt.proc.returncode is None:
            await self._terminate(rt.proc)
        await self._end_retiring(rt)
        await self._rekeys_settled(rt)
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
                    full = is_disk_full(exc) or archive_nearly_full(self.root)
                    rt.last_error = (f"{DISK_FULL}: " if full else "") + f"{type(exc).__name__}: {exc}"[:2000]
                    log.warning("encoder: start failed", extra={"channel": rt.key, "error": rt.last_error})
                    if await self._sleep_or_stop(rt, DISK_FULL_RETRY if full else backoff):
                        break
                    backoff = BACKOFF_START if full else min(backoff * 2, BACKOFF_MAX)
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
                full = is_disk_full(detail=detail) or archive_nearly_full(self.root)
                rt.last_error = (f"{DISK_FULL}: " if full else "") + (
                    f"encoder exited with code {rc} after {lived:.0f} s" + (f": {detail}" if detail else "")
                )
                wait = DISK_FULL_RETRY if full else backoff
                log.warning(
                    "encoder: exited, restarting",
                    extra={"channel": rt.key, "code": rc, "backoff": wait, "restarts": rt.restarts},
                )
                if await self._sleep_or_stop(rt, wait):
                    break
                backoff = BACKOFF_START if full else min(backoff * 2, BACKOFF_MAX)
        finally:
            if rt.proc is not None and rt.proc.returncode is None:
                await self._terminate(rt.proc)
            await self._rekeys_settled(rt)

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
            with contextlib.suppress(ValueError):
                rt.retiring.remove(outgoing)
            self._write_pids()
            await self._rekeys_settled(rt)  # its last segments in the archive before counting them
            self._count_run(rt, outgoing.run)
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
            await settle(outgoing.task, "handover", rt.key)
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
                    await self._rekeys_settled(rt)
                    self._poll_counters(rt)
                    return int(waiter.result())
                if stop.done():
                    return None
                if replace.done():
                    return REPLACE
                self._report_rekeying(rt)
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

    async def _rekeys_settled(self, rt: ChannelRuntime) -> None:
        """Wait until the re-keying watchers of ended FFmpegs have moved their last segments into the
        archive (its readers and the counters come next), then forget them."""
        for run_id, watcher in list(rt.rekeyers.items()):
            if not watcher.exited():
                continue
            if not await watcher.finished():
                log.warning("encoder: re-keying not finished", extra={"channel": rt.key, "run": run_id})
                continue  # still at it: the next settle (or the next start's recovery) sees it
            rt.rekeyers.pop(run_id, None)

    def _report_rekeying(self, rt: ChannelRuntime) -> None:
        """A write of re-keyed segments that keeps failing is the encoder's disk-full state (the
        staged files wait and are retried); it clears when the writes succeed again."""
        error = next((w.error for w in rt.rekeyers.values() if w.error is not None), None)
        if error is not None:
            full = is_disk_full(error) or archive_nearly_full(self.root)
            rt.state = "error"
            rt.last_error = (f"{DISK_FULL}: " if full else "") + f"{REKEY_FAILED}: {error}"[:2000]
        elif rt.state == "error" and REKEY_FAILED in (rt.last_error or ""):
            rt.state, rt.last_error = "running", None

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
