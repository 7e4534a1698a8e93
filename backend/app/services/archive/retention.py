"""Retention: delete archive segments older than a channel's `catchup_window_hours`.

A segment goes once its end lies before `now - window` (window = the retention, never shorter than the
viewer window `cutv_window_hours`). Its end is estimated on the late side (the later of the name's
wall clock and the run timeline, plus a second for the name's jitter), so nothing inside the window is
ever deleted. A run directory whose segments are all gone, that is not the live run and began before
the cut-off, goes as a whole (init segments, FFmpeg's list, run.json). Runs that began after the cut-off
are not even listed. Safe to run repeatedly and concurrently: a file someone else deleted first is
simply not counted.

Cloud recordings hold the media they point at: a segment overlapping the programme range of a
recording that still exists (and has not expired) is kept past the cut-off, one copy for every
viewer who recorded it. Once the last such recording is deleted or expires, the next clean-up deletes
it like any other. The listeners are told which ranges were kept.
"""

from __future__ import annotations

import asyncio
import bisect
import inspect
import logging
import math
import os
import shutil
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import clock
from app.config import Settings
from app.models import Channel
from app.services.archive import archive_layout as layout
from app.services.archive import holds

log = logging.getLogger("tstv.retention")

NAME_JITTER = 1.0  # seconds: a segment name's wall clock can be this much early

Range = tuple[float, float]  # epoch seconds [start, end)
# listener(channel_key, cutoff, kept): every segment that ended before `cutoff` is gone but those
# overlapping the sorted, disjoint ranges `kept` (held by recordings).
Listener = Callable[[str, datetime, Sequence[Range]], Awaitable[None] | None]


@dataclass
class ChannelCleanup:
    channel_key: str
    cutoff: datetime
    segments_deleted: int = 0
    bytes_freed: int = 0
    runs_removed: int = 0
    segments_held: int = 0  # past the cut-off, kept for recordings


@dataclass
class CleanupResult:
    channels_processed: int = 0
    total_segments_deleted: int = 0
    total_bytes_freed: int = 0
    channels: list[ChannelCleanup] = field(default_factory=list)


def _name_epoch(wallclock: str) -> float:
    return datetime.strptime(wallclock, "%Y%m%dT%H%M%S").replace(tzinfo=UTC).timestamp()


def _unlink_counted(path: str) -> int | None:
    """Bytes freed, or None when someone else removed the file first."""
    try:
        size = os.stat(path).st_size
        os.unlink(path)
    except FileNotFoundError:
        return None
    return size


def _run_start(run_dir: Path, info: layout.RunInfo | None) -> float:
    if info is not None:
        return min(info.anchor, info.started_at)
    return int(run_dir.name[1:]) / 1000


def _held(held: Sequence[Range], held_starts: list[float], start: float, end: float) -> bool:
    """Does [start, end) overlap one of the sorted, disjoint ranges `held`?"""
    i = bisect.bisect_left(held_starts, end)
    return i > 0 and held[i - 1][1] > start


def clean_channel(
    root: Path, channel_key: str, cutoff: datetime, live_run: str | None, held: Sequence[Range] = ()
) -> ChannelCleanup:
    """Blocking part of a clean-up of one channel (run it in a worker thread). Segments overlapping
    `held` (sorted, disjoint epoch ranges: what recordings point at) are kept."""
    result = ChannelCleanup(channel_key, cutoff)
    cutoff_ts = cutoff.timestamp()
    held_starts = [s for s, _ in held]
    cdir = layout.channel_dir(root, channel_key)
    try:
        runs = sorted(e.name for e in os.scandir(cdir) if e.is_dir() and layout.RUN_ID_RE.match(e.name))
    except FileNotFoundError:
        return result
    # A segment named at or after the cut-off ends after it (a name is never later than the
    # segment's start): it is kept without parsing; only names before it are examined.
    keep_from = time.strftime("%Y%m%dT%H%M%S", time.gmtime(math.ceil(cutoff_ts)))
    for run_id in runs:
        rdir = cdir / run_id
        info = layout.read_run_info(rdir)
        if _run_start(rdir, info) >= cutoff_ts:
            continue  # every segment of this run ends after the cut-off
        remaining = 0
        for rendition in info.renditions if info is not None else layout.RENDITIONS:
            try:
                names = sorted(e.name for e in os.scandir(rdir / rendition))
            except FileNotFoundError:
                continue
            # Names sort by wall clock: only the old end of the listing is parsed (parsing a week of
            # names would hold the interpreter for seconds).
            split = bisect.bisect_left(names, keep_from)
            remaining += sum(1 for name in names[split:] if name.endswith(".m4s"))
            for name in names[:split]:
                seg = layout.parse_segment_name(name)
                if seg is None:
                    continue
                start = _name_epoch(seg.wallclock)
                end = start + seg.duration
                if info is not None:
                    timeline = info.anchor + seg.seq * info.segment_duration
                    start, end = min(start, timeline), max(end, timeline + seg.duration)
                if end + NAME_JITTER > cutoff_ts:
                    remaining += 1
                    continue
                # Estimated wide on both sides: whatever the index plays of a recording stays.
                if held and _held(held, held_starts, start - NAME_JITTER, end + NAME_JITTER):
                    remaining += 1
                    result.segments_held += 1
                    continue
                freed = _unlink_counted(str(rdir / rendition / name))
                if freed is not None:
                    result.segments_deleted += 1
                    result.bytes_freed += freed
        if remaining == 0 and run_id != live_run:
            result.bytes_freed += _remove_run(rdir)
            result.runs_removed += 1
    return result


def _remove_run(rdir: Path) -> int:
    """Delete what is left of a finished run (init segments, lists, metadata); bytes freed."""
    freed = 0
    for dirpath, _dirnames, filenames in os.walk(rdir, topdown=False):
        for name in filenames:
            freed += _unlink_counted(os.path.join(dirpath, name)) or 0
    shutil.rmtree(rdir, ignore_errors=True)
    return freed


async def cleanup(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    now: datetime | None = None,
    listener: Listener | None = None,
    live_runs: Mapping[str, str] | None = None,
) -> CleanupResult:
    """Clean every TSTV channel's archive; `listener(channel_key, cutoff)` runs after each channel."""
    now = now or clock.now()
    async with sessionmaker() as session:
        channels = (await session.scalars(select(Channel).where(Channel.cdn_channel_key.is_not(None)))).all()
        # Expired recordings go first, so they hold nothing; the holds are read after.
        await holds.release_expired(session, now, settings)
        held_by_key = await holds.held_ranges(session, now, settings)
    result = CleanupResult()
    root = Path(settings.hls_segment_dir)
    for ch in channels:
        key = ch.cdn_channel_key
        if key is None or not layout.is_channel_key(key):
            continue
        window = timedelta(hours=max(ch.catchup_window_hours, ch.cutv_window_hours))
        cutoff = now - window
        held = held_by_key.get(key, [])
        res = await asyncio.to_thread(clean_channel, root, key, cutoff, (live_runs or {}).get(key), held)
        result.channels_processed += 1
        result.total_segments_deleted += res.segments_deleted
        result.total_bytes_freed += res.bytes_freed
        result.channels.append(res)
        if listener is not None:
            out = listener(key, cutoff, held)
            if inspect.isawaitable(out):
                await out
    if result.total_segments_deleted:
        log.info(
            "retention: cleaned",
            extra={"segments": result.total_segments_deleted, "bytes": result.total_bytes_freed},
        )
    return result


async def forget_expired(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    listener: Listener,
    now: datetime | None = None,
) -> int:
    """What `cleanup` tells its listener, without deleting anything: for an API replica
    (TSTV_ROLE=api), whose archive index only grows from the shared archive while the jobs leader
    deletes; its index drops what retention has deleted (or is about to: the same cutoff and holds).
    Returns the channels looked at."""
    now = now or clock.now()
    async with sessionmaker() as session:
        channels = (await session.scalars(select(Channel).where(Channel.cdn_channel_key.is_not(None)))).all()
        held_by_key = await holds.held_ranges(session, now, settings)
    n = 0
    for ch in channels:
        key = ch.cdn_channel_key
        if key is None or not layout.is_channel_key(key):
            continue
        cutoff = now - timedelta(hours=max(ch.catchup_window_hours, ch.cutv_window_hours))
        out = listener(key, cutoff, held_by_key.get(key, []))
        if inspect.isawaitable(out):
            await out
        n += 1
    return n
