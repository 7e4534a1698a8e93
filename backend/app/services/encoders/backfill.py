"""Backfill: write a channel's encrypted archive for a past time range, faster than real time.

A backfilled run is what the live encoder would have written had it been on air then: the same
conformed sources per ladder rung (`sources`), the same FFmpeg arguments (the encoder's own
builder, `run_plan.ffmpeg_args`, without `-re`), CENC under the channel's active content key
(re-keyed from the placeholder key FFmpeg is given, as live: `backfill_run.py`; the run records
its KID, so the licence rules find it like any run's), the same run layout
(`archive_layout`: `run.json`, an anchor on the segment grid, the loop offset the EPG dictates for
that anchor) and the same thumbnail sheets. Only `run.json`'s `backfilled` says otherwise (coverage
shows it).

FFmpeg names segments after the wall clock (`-strftime`), which is now, not the past instant a
segment shows. So a run is written into a hidden directory next to the channel's runs, every
segment is then renamed after its place on the run's timeline (`anchor + seq * duration`, which is
what the index and playlists compute from anyway; the name's duration is FFmpeg's own), and the
finished run is renamed into place in one step: readers see a complete run or none. The archive
index lists a new run's folders when its poll first sees it, so a running backend serves a
backfilled run within a second of the rename.

It never overwrites or overlaps existing archive: the request is cut to the gaps between the runs
on disk (a run whose encoder may still be writing counts as reaching into the future), to the
retention window and to the past, and each gap to whole segments on the grid. One backfill per
channel at a time (an advisory file lock: processes too). FFmpeg runs at `nice` 19.

Its source is the channel's loop, or a given file (a backup recording starting at `start`),
conformed per rung like a channel source and played from the offset of the instant it fills.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import math
import os
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from app.config import Settings
from app.db import Database
from app.errors import ApiError
from app.models import Channel
from app.services.archive import archive_layout as layout
from app.services.archive import content_keys
from app.services.archive.archive_index import ArchiveIndex
from app.services.archive.child_processes import ffmpeg_exe
from app.services.archive.thumbnails import SheetSet, ThumbnailStore
from app.services.archive.time_ranges import merge
from app.services.encoders.backfill_run import TMP_PREFIX, RunSource, write_run
from app.services.encoders.run_plan import loop_offset_for
from app.services.encoders.sources import SourceCache, SourceError, probe

log = logging.getLogger("tstv.backfill")

# A run whose newest segment (or, with none yet, whose start) is this recent may still be written
# by its encoder: it counts as reaching into the future (the supervisor kills a stalled one sooner).
LIVE_SLACK_SEGMENTS = 3
LIVE_SLACK_SECONDS = 60.0

Range = tuple[float, float]
ProgressFn = Callable[[float], None]


@dataclass(frozen=True)
class BackfillResult:
    channel_key: str
    requested: tuple[datetime, datetime]
    written: list[tuple[datetime, datetime]]  # new archive, one range per run written
    skipped: list[tuple[datetime, datetime]]  # archive that existed: left as it was
    run_dirs: list[Path]
    rungs: list[str]  # the ladder rungs the new runs carry
    notes: list[str] = field(default_factory=list)  # what else was left out, and why
    seconds: float = 0.0  # wall-clock time it took

    @property
    def written_seconds(self) -> float:
        return sum((e - s).total_seconds() for s, e in self.written)

    @property
    def speed(self) -> float:
        """Archive written per second of wall clock (x real time)."""
        return self.written_seconds / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        def fmt(r: tuple[datetime, datetime]) -> str:
            return f"{r[0].isoformat()} .. {r[1].isoformat()}"

        lines = [f"{self.channel_key}: requested {fmt(self.requested)}"]
        lines += [f"  written  {fmt(r)}" for r in self.written]
        lines += [f"  skipped  {fmt(r)} (archive exists)" for r in self.skipped]
        lines += [f"  note     {n}" for n in self.notes]
        if self.written:
            lines.append(
                f"  {self.written_seconds:.0f} s of archive in {self.seconds:.1f} s "
                f"({self.speed:.0f}x real time), rungs {', '.join(self.rungs)}"
            )
        else:
            lines.append("  nothing to write")
        return "\n".join(lines)


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def plan_fills(existing: Sequence[Range], lo: float, hi: float, d: int) -> tuple[list[Range], list[Range]]:
    """The whole-segment runs (on the grid of multiples of `d`) that fill [lo, hi) around the
    sorted, disjoint `existing` ranges, and the parts of [lo, hi) that `existing` covers."""
    covered = [(max(s, lo), min(e, hi)) for s, e in existing if e > lo and s < hi]
    fills: list[Range] = []
    cursor = lo
    for s, e in [*covered, (hi, hi)]:
        if s > cursor:
            a = math.ceil(cursor / d - 1e-6) * d
            b = math.floor(s / d + 1e-6) * d
            if b - a >= d:
                fills.append((float(a), float(b)))
        cursor = max(cursor, e)
    return fills, covered


def existing_ranges(root: Path, channel_key: str, now: float, d: int) -> list[Range]:
    """What the archive of a channel holds or may be about to hold (a run still being written
    reaches to infinity), from the disk (no running backend needed)."""
    index = ArchiveIndex(root)
    index.rescan_channel(channel_key)
    ranges = list(index.covered_ranges(channel_key))
    ends = {span.run.run_id: span.end for span in index.run_spans(channel_key)}
    slack = LIVE_SLACK_SEGMENTS * d + LIVE_SLACK_SECONDS
    try:
        entries = list(os.scandir(root / channel_key))
    except FileNotFoundError:
        return ranges
    for entry in entries:
        if not (entry.is_dir() and layout.RUN_ID_RE.match(entry.name)):
            continue
        info = layout.read_run_info(Path(entry.path))
        if info is None or info.backfilled:
            continue  # a backfilled run is complete when it appears
        last = ends.get(info.run_id, info.started_at)
        if last >= now - slack:
            ranges.append((info.anchor, math.inf))
    return merge(ranges)


async def resolve_channel(db: Database, ref: str) -> Channel:
    """A channel by its CDN key (`ch1`) or id; 404 `channel_not_found` otherwise, or when it has no
    archive (no key or loop)."""
    async with db.sessionmaker() as session:
        ch = await content_keys.channel_by_key(session, ref)
        if ch is None:
            with contextlib.suppress(ValueError):
                ch = await session.get(Channel, uuid.UUID(ref))
    if ch is None or not ch.cdn_channel_key or not ch.loop_seconds:
        raise ApiError(404, "channel_not_found")
    return ch


class _ChannelLock:
    """An exclusive flock per channel (blocking in a thread: another backfill of it may be running)."""

    def __init__(self, root: Path, channel_key: str) -> None:
        self.path = root / ".simlive" / f"backfill-{channel_key}.lock"
        self._fd: int | None = None

    async def __aenter__(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    async def __aexit__(self, *exc: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _remove_stale_tmp(cdir: Path) -> None:
    """Half-written runs a killed backfill left (only called under the channel's lock)."""
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(cdir):
            if entry.name.startswith(TMP_PREFIX) and entry.is_dir():
                shutil.rmtree(entry.path, ignore_errors=True)


async def _channel_source(
    settings: Settings, sources: SourceCache, ch: Channel, wait_for_rungs: bool
) -> RunSource:
    key, loop = ch.cdn_channel_key or "", ch.loop_seconds or 0
    ladder = settings.ladder
    files = [(ladder[0], await sources.prepare(key, ch.name, loop, ladder[0]))]
    for rung in ladder[1:]:
        if wait_for_rungs:
            files.append((rung, await sources.prepare(key, ch.name, loop, rung)))
        elif (ready := await sources.ready(key, ch.name, loop, rung)) is not None:
            files.append((rung, ready))
    return RunSource(files, loop, lambda anchor: loop_offset_for(anchor, loop))


async def _file_source(
    settings: Settings, sources: SourceCache, key: str, path: Path, seconds: int, start: float
) -> RunSource:
    files = [(rung, await sources.prepare_file(key, path, seconds, rung)) for rung in settings.ladder]
    return RunSource(files, seconds, lambda anchor: round(anchor - start))


async def _clip(
    settings: Settings,
    ch: Channel,
    start: datetime,
    end: datetime,
    wall: float,
    source_file: Path | None,
    notes: list[str],
) -> tuple[float, float, int]:
    """[lo, hi) of [start, end) that may be written (not the future, not past retention, not past
    the file's end), and the file's length; why it was cut goes to `notes`."""
    d = settings.hls_segment_duration
    lo, hi = start.timestamp(), end.timestamp()
    if hi > wall:
        hi = wall
        notes.append(f"cut at now ({_utc(wall).isoformat()}): the future airs live")
    oldest = wall - max(ch.catchup_window_hours, ch.cutv_window_hours) * 3600 + d
    if lo < oldest:
        lo = oldest
        notes.append(f"cut to the retention window (from {_utc(oldest).isoformat()})")
    file_seconds = 0
    if source_file is not None:
        if lo != start.timestamp() or start.timestamp() != math.floor(start.timestamp()):
            raise ApiError(422, "file_start_invalid", reason="a file starts at a whole second, in the window")
        try:
            info = await probe(ffmpeg_exe(settings), source_file)
        except (SourceError, OSError) as exc:
            raise ApiError(422, "file_unreadable", reason=str(exc)) from exc
        if not info.has_video:
            raise ApiError(422, "file_unreadable", reason="no video stream")
        file_seconds = math.floor(info.duration)
        if lo + file_seconds < hi:
            hi = lo + file_seconds
            notes.append(f"cut to the file's length ({file_seconds} s)")
    return lo, hi, file_seconds


async def _content_key(settings: Settings, db: Database, ch: Channel) -> tuple[str | None, str | None]:
    """The channel's active content key (kid, key) in hex; no DRM: None."""
    if not settings.drm_enabled:
        return None, None
    async with db.sessionmaker() as session:
        channel = await session.get(Channel, ch.id)
        assert channel is not None
        drm_key = await content_keys.get_or_create_active_key(session, channel)
        return drm_key.key_id.hex, drm_key.key_value.hex()


async def _write_fills(
    settings: Settings,
    key: str,
    fills: list[Range],
    src: RunSource,
    content_key: tuple[str | None, str | None],
    progress: ProgressFn | None,
) -> list[tuple[Path, Range]]:
    """One run per fill, in order; `progress` sees the fraction of all of them done."""
    kid_hex, key_hex = content_key
    left = sum(e - s for s, e in fills)
    done = 0.0
    out = []
    for fill in fills:
        span = fill[1] - fill[0]

        def part(frac: float, done: float = done, span: float = span) -> None:
            if progress:
                progress(min(1.0, (done + frac * span) / left))

        out.append(await write_run(settings, key, fill, src, kid_hex, key_hex, part))
        done += span
    return out


async def backfill_range(
    settings: Settings,
    db: Database,
    channel_key: str,
    start: datetime,
    end: datetime,
    *,
    source_file: Path | None = None,
    progress: Callable[[float], None] | None = None,
    wait_for_rungs: bool = True,
    sources: SourceCache | None = None,
    thumbnails: ThumbnailStore | None = None,
    now: datetime | None = None,
) -> BackfillResult:
    """Write the archive of [start, end) that the channel lacks. `channel_key` may also be the
    channel's id. With `source_file`, the picture comes from that file (it starts at `start`).
    `wait_for_rungs=False` writes only the ladder rungs whose sources are already prepared (the
    base rung is always prepared first). `progress` gets the fraction done (0..1)."""
    t0 = time.monotonic()
    if end <= start:
        raise ApiError(422, "empty_range")
    ch = await resolve_channel(db, channel_key)
    key = ch.cdn_channel_key or ""
    d = settings.hls_segment_duration
    root = Path(settings.hls_segment_dir)
    sources = sources or SourceCache(settings)
    thumbnails = thumbnails or ThumbnailStore(settings)
    notes: list[str] = []
    wall = (now or datetime.now(UTC)).timestamp()
    lo, hi, file_seconds = await _clip(settings, ch, start, end, wall, source_file, notes)
    written: list[Range] = []
    run_dirs: list[Path] = []
    rung_names: list[str] = []
    async with _ChannelLock(root, key):
        await asyncio.to_thread(_remove_stale_tmp, root / key)
        existing = await asyncio.to_thread(existing_ranges, root, key, wall, d)
        fills, covered = plan_fills(existing, lo, hi, d) if hi > lo else ([], [])
        skipped = [(max(s, start.timestamp()), e) for s, e in covered]
        left = sum(e - s for s, e in fills)
        if hi > lo and sum(e - s for s, e in covered) + left < hi - lo - 1e-6:
            notes.append("gaps shorter than a segment, or off the segment grid, stay empty")
        if fills:
            if source_file is not None:
                src = await _file_source(settings, sources, key, source_file, file_seconds, lo)
            else:
                src = await _channel_source(settings, sources, ch, wait_for_rungs)
            rung_names = [r.name for r, _ in src.files]
            content_key = await _content_key(settings, db, ch)
            log.info(
                "backfill: started",
                extra={"channel": key, "fills": len(fills), "seconds": left, "rungs": rung_names},
            )
            runs = await _write_fills(settings, key, fills, src, content_key, progress)
            run_dirs, written = [r for r, _ in runs], [w for _, w in runs]
            sheets = SheetSet(src.files[0][1].name, src.loop_seconds, d)
            if not thumbnails.ready(sheets):
                await thumbnails.build(src.files[0][1], sheets)
    if progress:
        progress(1.0)
    result = BackfillResult(
        channel_key=key,
        requested=(start, end),
        written=[(_utc(s), _utc(e)) for s, e in written],
        skipped=[(_utc(s), _utc(e)) for s, e in skipped],
        run_dirs=run_dirs,
        rungs=rung_names,
        notes=notes,
        seconds=time.monotonic() - t0,
    )
    log.info(
        "backfill: done",
        extra={
            "channel": key,
            "written_seconds": round(result.written_seconds),
            "skipped": len(result.skipped),
            "speed": round(result.speed, 1),
        },
    )
    return result
