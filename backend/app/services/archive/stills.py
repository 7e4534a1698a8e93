"""Programme stills: one frame of a programme's own recording, taken once, kept on disk.

The frame is the first of the video segment at 10 % of the programme (or the first recorded after
that point; for a programme that aired with nothing recorded from there on, the last one before
it). Once that segment exists the choice can no longer change, so every still served is final:
it is taken once, cached as `{stills_dir}/{entry_id}.jpg` and may be cached by browsers forever.
Before then (upcoming, or on air short of 10 %) there is no still yet.

FFmpeg decodes init + segment and scales one frame to a small JPEG. It is never given the run's
key (a command line is readable in /proc): the segment is first re-keyed from the run's key (from
the KMS) to the public placeholder key into a private temporary folder
(app/services/archive/cenc_rekey.py), and FFmpeg decrypts that copy with the placeholder.

One FFmpeg per programme at a time (concurrent requests share it), at most `MAX_TAKING` at
once in the process (a guide page of a hundred cards queues instead of starting a hundred), and
a failure is remembered for a while so a broken segment does not cost an FFmpeg per request.

A still outlives its segments (retention may delete them, the still stays); stills of
programmes that ended more than `KEEP_FOR` ago are deleted, at most hourly, after a new one is
written (the file's mtime is its programme's end).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import clock
from app.domain import rights
from app.services.archive import content_keys
from app.services.archive.archive_index import ArchiveIndex, Segment
from app.services.archive.cenc_rekey import PLACEHOLDER_KEY, PLACEHOLDER_KEY_HEX, RekeyError, rekey_file
from app.services.archive.child_processes import die_with_parent_niced
from app.supervision import TaskSupervisor

log = logging.getLogger("tstv.stills")

STILL_AT = 0.10  # of the programme's duration
WIDTH, HEIGHT = 320, 180
JPEG_QUALITY = 5  # FFmpeg's -q:v for MJPEG, 2 (best) .. 31: 6 KB for the test pattern at 320x180
MAX_TAKING = 2  # FFmpegs at once per process (the machine has 2 cores)
WAIT_SECONDS = 20.0  # a request waiting longer for its still gets a 503 (the still is still taken)
FFMPEG_TIMEOUT = 20.0
RETRY_AFTER_FAILURE = 300  # seconds
KEEP_FOR = timedelta(days=9)  # past a programme's end: longer than the guide's 7 days back
PRUNE_EVERY = 3600.0

KeyLookup = Callable[[uuid.UUID], Awaitable[bytes | None]]


class StillNotRecorded(Exception):
    """The programme has aired and the archive holds nothing of it."""


class StillNotReady(Exception):
    """Upcoming, or on air before the frame the still is taken from has been recorded."""


class StillUnavailable(Exception):
    """FFmpeg could not take the still (or the request waited too long): try after `retry_after`."""

    def __init__(self, reason: str, retry_after: int) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


def still_target(entry: rights.EntryRights) -> datetime:
    return entry.start_time + (entry.end_time - entry.start_time) * STILL_AT


def has_still(
    archive: rights.ArchiveView, channel_key: str | None, entry: rights.EntryRights, now: datetime
) -> bool:
    """Whether `pick_segment` finds a frame now (index lookups only: cheap enough for every
    programme of a guide)."""
    if not channel_key or now < entry.start_time:
        return False
    if now >= entry.end_time:
        return archive.holds(channel_key, entry.start_time, entry.end_time)
    target = still_target(entry)
    return now > target and archive.holds(channel_key, target, now)


def pick_segment(
    archive: ArchiveIndex, channel_key: str | None, entry: rights.EntryRights, now: datetime
) -> Segment:
    """The video segment whose first frame is the programme's still (see the module doc), among
    those recorded by `now`."""
    aired = now >= entry.end_time
    until = min(entry.end_time, now).timestamp()
    segments = (
        list(archive.iter_range(channel_key, "video", entry.start_time.timestamp(), until))
        if channel_key and now > entry.start_time
        else []
    )
    target = still_target(entry).timestamp()
    chosen = next((s for s in segments if s.end > target), None)
    if chosen is None and aired and segments:
        chosen = segments[-1]  # nothing recorded from the 10 % mark on: the last frame before it
    if chosen is None:
        raise StillNotRecorded if aired else StillNotReady
    return chosen


def ffmpeg_args(ffmpeg: str, init: Path, segment: Path, key_hex: str | None) -> list[str]:
    """One frame of init + segment (joined by FFmpeg's concat protocol: no copy) as a JPEG on
    stdout. `-xerror`: a frame that does not decode (wrong key, broken file) fails the run instead
    of producing a grey picture. `key_hex` is only ever the public placeholder key (`_run_ffmpeg`)."""
    args = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-xerror", "-threads", "1"]
    if key_hex:
        args += ["-decryption_key", key_hex]
    args += ["-i", f"concat:{init}|{segment}", "-map", "0:v:0", "-frames:v", "1"]
    fit = f"scale={WIDTH}:{HEIGHT}:force_original_aspect_ratio=decrease"
    args += ["-vf", f"{fit},pad={WIDTH}:{HEIGHT}:(ow-iw)/2:(oh-ih)/2,format=yuvj420p"]
    args += ["-q:v", str(JPEG_QUALITY), "-f", "image2", "-c:v", "mjpeg", "pipe:1"]
    return args


def is_jpeg(data: bytes) -> bool:
    return len(data) > 4 and data.startswith(b"\xff\xd8") and data.endswith(b"\xff\xd9")


@dataclass(frozen=True, slots=True)
class _Frame:
    segment: Segment
    ends_at: datetime  # the programme's end: the still's mtime, for pruning


class StillTaker:
    """Takes and keeps the stills of one process (see the module doc)."""

    def __init__(
        self,
        directory: Path,
        archive: ArchiveIndex,
        ffmpeg: str,
        key_for: KeyLookup,
        tasks: TaskSupervisor | None = None,
    ) -> None:
        self.dir = directory
        self.tasks = tasks or TaskSupervisor()
        self.archive = archive
        self.ffmpeg = ffmpeg
        self.key_for = key_for
        self._gate = asyncio.Semaphore(MAX_TAKING)
        self._inflight: dict[uuid.UUID, asyncio.Task[bytes]] = {}
        self._failed_until: dict[uuid.UUID, float] = {}  # monotonic seconds
        self._last_prune = -PRUNE_EVERY

    def path_for(self, entry_id: uuid.UUID) -> Path:
        return self.dir / f"{entry_id}.jpg"

    async def read(self, entry_id: uuid.UUID) -> bytes | None:
        """The still from disk, if it was taken (read whole: a few KB, and no race with pruning)."""
        try:
            return await asyncio.to_thread(self.path_for(entry_id).read_bytes)
        except FileNotFoundError:
            return None

    async def take(self, entry_id: uuid.UUID, segment: Segment, ends_at: datetime) -> bytes:
        """The still of `entry_id` from `segment`, taken now or by a concurrent caller's FFmpeg.
        Raises StillUnavailable."""
        retry = self._failed_until.get(entry_id, 0.0) - time.monotonic()
        if retry > 0:
            raise StillUnavailable("failed recently", int(retry) + 1)
        task = self._inflight.get(entry_id)
        if task is None and self.path_for(entry_id).is_file():  # taken since the caller looked
            found = await self.read(entry_id)
            if found is not None:
                return found
            task = self._inflight.get(entry_id)
        if task is None:
            task = asyncio.create_task(self._take(entry_id, _Frame(segment, ends_at)))
            # One-shot: what it raises unexpectedly (not StillUnavailable) is logged and counted.
            self.tasks.watch(task, "stills", expected=(StillUnavailable,))
            self._inflight[entry_id] = task
            task.add_done_callback(lambda _t: self._inflight.pop(entry_id, None))
        try:
            # shield: a caller giving up does not abort the FFmpeg others wait for (the next
            # request then finds the still on disk).
            return await asyncio.wait_for(asyncio.shield(task), WAIT_SECONDS)
        except TimeoutError:
            raise StillUnavailable("busy", 5) from None

    async def _take(self, entry_id: uuid.UUID, frame: _Frame) -> bytes:
        path = self.path_for(entry_id)
        try:
            key = await self._key(frame.segment)
            async with self._gate:
                t0 = time.monotonic()
                data = await self._run_ffmpeg(frame.segment, key)
                took_ms = round((time.monotonic() - t0) * 1000)
            await asyncio.to_thread(self._store, path, data, frame.ends_at)
        except StillUnavailable as exc:
            if len(self._failed_until) >= 4096:
                self._failed_until.clear()
            self._failed_until[entry_id] = time.monotonic() + RETRY_AFTER_FAILURE
            log.warning("still: not taken", extra={"entry": str(entry_id), "reason": str(exc)})
            raise StillUnavailable(str(exc), RETRY_AFTER_FAILURE) from None
        log.info(
            "still: taken",
            extra={"entry": str(entry_id), "ffmpeg_ms": took_ms, "bytes": len(data)},
        )
        if time.monotonic() - self._last_prune >= PRUNE_EVERY:
            self._last_prune = time.monotonic()
            await asyncio.to_thread(self.prune, clock.now() - KEEP_FOR)
        return data

    async def _key(self, segment: Segment) -> bytes | None:
        kid = segment.run.kid
        if kid is None:  # recorded with DRM off
            return None
        key = await self.key_for(uuid.UUID(kid))
        if key is None:
            raise StillUnavailable(f"no key {kid} in the KMS", RETRY_AFTER_FAILURE)
        return key

    async def _run_ffmpeg(self, segment: Segment, key: bytes | None) -> bytes:
        root = self.archive.root
        init, media = root / segment.init_path, root / segment.path
        if key is None:
            return await self._run_ffmpeg_on(init, media, None)
        with tempfile.TemporaryDirectory(prefix="tstv-still-") as private:  # 0700
            placeholder = Path(private) / "segment.m4s"
            try:
                await asyncio.to_thread(rekey_file, media, placeholder, key, PLACEHOLDER_KEY)
            except (OSError, RekeyError) as exc:
                raise StillUnavailable(f"cannot read the segment: {exc}", RETRY_AFTER_FAILURE) from None
            return await self._run_ffmpeg_on(init, placeholder, PLACEHOLDER_KEY_HEX)

    async def _run_ffmpeg_on(self, init: Path, segment: Path, key_hex: str | None) -> bytes:
        if "|" in f"{init}{segment}":  # the concat protocol's separator
            raise StillUnavailable(f"path {init} or {segment} contains '|'", RETRY_AFTER_FAILURE)
        args = ffmpeg_args(self.ffmpeg, init, segment, key_hex)
        try:
            proc = await asyncio.create_subprocess_exec(
                *args,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                preexec_fn=die_with_parent_niced,
            )
        except OSError as exc:
            raise StillUnavailable(f"cannot run ffmpeg: {exc}", RETRY_AFTER_FAILURE) from None
        try:
            out, err = await asyncio.wait_for(proc.communicate(), FFMPEG_TIMEOUT)
        except TimeoutError:
            raise StillUnavailable("ffmpeg timed out", RETRY_AFTER_FAILURE) from None
        finally:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        if proc.returncode != 0 or not is_jpeg(out):
            tail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no JPEG"]
            raise StillUnavailable(f"ffmpeg exited {proc.returncode}: {tail[0][:300]}", RETRY_AFTER_FAILURE)
        return out

    def _store(self, path: Path, data: bytes, ends_at: datetime) -> None:
        """Atomically (a reader never sees half a JPEG), with the programme's end as mtime."""
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(data)
            ts = ends_at.timestamp()
            os.utime(tmp, (ts, ts))
            os.replace(tmp, path)
        except OSError as exc:
            # A full disk: a 503 that is backed off like any failed still, never a 500.
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise StillUnavailable(f"not stored: {exc.strerror or exc}", RETRY_AFTER_FAILURE) from None

    def prune(self, ended_before: datetime) -> int:
        """Delete the stills of programmes that ended before `ended_before`; returns how many."""
        cutoff, removed = ended_before.timestamp(), 0
        try:
            entries = list(os.scandir(self.dir))
        except FileNotFoundError:
            return 0
        for entry in entries:
            with contextlib.suppress(OSError):
                if entry.name.endswith(".jpg") and entry.stat().st_mtime < cutoff:
                    os.unlink(entry.path)
                    removed += 1
        return removed


def kms_lookup(sessionmaker: async_sessionmaker[AsyncSession]) -> KeyLookup:
    """A key lookup by KID in the KMS, with a session of its own (a still outlives its request)."""

    async def key_for(kid: uuid.UUID) -> bytes | None:
        async with sessionmaker() as session:
            key = (await content_keys.keys_by_kid(session, [kid])).get(kid)
        return key.key_value if key is not None else None

    return key_for
