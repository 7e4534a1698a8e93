"""The disk budget: the archive's filesystem never falls below `ARCHIVE_DISK_FLOOR` of free space.

`DiskBudget.enforce` runs every `ARCHIVE_DISK_CHECK_SECONDS` where retention runs (role all, the
jobs leader): a statvfs of `HLS_SEGMENT_DIR`, and only when free space is under the floor a pass
that lists the oldest segments of each channel, asks `eviction_plan.plan_evictions` which go
(past the window first, then the oldest catch-up; never held by a recording, never the live window)
and deletes them. The floor is about the filesystem: the sources cache, stills and thumbnails on it
count as used space like anything else. The index is told exactly as time-based retention tells it
(`retention.Listener`): every segment of the channel that ended by the new cut-off is gone, but
the held ranges.

When what is left is held or live (nothing more may be evicted) and free space is still under the
floor, recordings alone breach it: new recordings are refused (507 `storage_full`). A process
that does not evict (the api role) refuses whenever free space is under the floor.

The forecast ("full in 3.2 days") divides the free space above the floor by the archive's growth
rate: the filesystem's used bytes plus what eviction freed, over the last day of checks.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import clock
from app.config import Settings
from app.errors import ApiError
from app.models import Channel
from app.services.archive import archive_layout as layout
from app.services.archive import disk_floor, holds
from app.services.archive.eviction_plan import JITTER, Candidate, Range, is_held, plan_evictions
from app.services.archive.retention import Listener

log = logging.getLogger("tstv.disk_budget")

STORAGE_FULL = "storage_full"
HEADROOM = 0.005  # of the disk: evict this far above the floor, so one pass lasts a while
RATE_WINDOW = 24 * 3600.0  # "today's rate"
SAMPLE_EVERY = 30.0  # seconds between growth samples
MIN_RATE_SPAN = 30.0  # no forecast from less than this
# With nothing left to evict, look again this often (a recording deleted or expired frees its hold),
# not at every check.
EXHAUSTED_RETRY = 30.0
# Where a channel's cut-off lands after its last evicted segment: later than the index's own end
# of it (both from the run's timeline), earlier than the next segment's end (segments last >= 1 s).
CUTOFF_SLACK = 0.5

# (channel_key, segment files, bytes) after a pass deleted them: the encoders' counters.
Shrunk = Callable[[str, int, int], None]
LiveEnd = Callable[[str], float | None]  # the end of a channel's newest indexed segment


@dataclass(frozen=True)
class DiskReading:
    total: int
    free: int
    floor: int
    at: float  # epoch seconds


@dataclass
class ChannelEvictions:
    segments: int = 0  # segment files, every rendition
    bytes: int = 0
    last_at: float | None = None  # epoch seconds of the last eviction
    cutoff: float | None = None  # everything not held that ended before it is gone


class DiskBudget:
    """Free space of the archive's filesystem, what was evicted, the forecast. One per process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = Path(settings.hls_segment_dir)
        self.evicting = False  # set where `enforce` runs
        self.exhausted = False  # the last pass found nothing more it may evict
        self.evicted: dict[str, ChannelEvictions] = {}
        self.freed_total = 0
        self._samples: deque[tuple[float, int]] = deque()
        self._last: tuple[float, int] | None = None
        self._last_pass = -EXHAUSTED_RETRY  # monotonic seconds
        self._lock = asyncio.Lock()

    # ---------------------------------------------------------------- measuring

    def measure(self) -> DiskReading:
        """A statvfs of the archive's filesystem (its nearest existing directory)."""
        path = self.root
        while not path.exists() and path != path.parent:
            path = path.parent
        st = os.statvfs(path)
        total, free = st.f_blocks * st.f_frsize, st.f_bavail * st.f_frsize
        now = time.time()
        floor = disk_floor.floor_bytes(self.settings.archive_disk_floor, total)
        reading = DiskReading(total, free, floor, now)
        written = total - free + self.freed_total
        if not self._samples or now - self._samples[-1][0] >= SAMPLE_EVERY:
            self._samples.append((now, written))
            while now - self._samples[0][0] > RATE_WINDOW:
                self._samples.popleft()
        self._last = (now, written)
        return reading

    def growth_rate(self) -> float | None:
        """Bytes a second the archive's filesystem grows by (eviction added back), over the last day."""
        if not self._samples:
            return None
        t0, w0 = self._samples[0]
        t1, w1 = self._last or self._samples[-1]
        if t1 - t0 < MIN_RATE_SPAN:
            return None
        return max(0.0, (w1 - w0) / (t1 - t0))

    def full_in_seconds(self, reading: DiskReading) -> float | None:
        """Seconds until free space reaches the floor at the current rate (0 when it is there)."""
        if reading.free <= reading.floor:
            return 0.0
        rate = self.growth_rate()
        if not rate:
            return None
        return (reading.free - reading.floor) / rate

    def storage_full(self) -> bool:
        """Recordings (and the live windows) alone breach the floor: new recordings are refused."""
        reading = self.measure()
        return reading.free < reading.floor and (self.exhausted or not self.evicting)

    def require_room(self) -> None:
        """Refuse a new recording when the disk cannot take it (507 `storage_full`)."""
        if self.storage_full():
            raise ApiError(507, STORAGE_FULL)

    # ---------------------------------------------------------------- evicting

    async def enforce(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        live_end: LiveEnd,
        listener: Listener | None = None,
        shrunk: Shrunk | None = None,
    ) -> dict[str, ChannelEvictions]:
        """One check: when free space is under the floor, evict up to the floor plus a headroom.
        Returns what this pass evicted per channel."""
        self.evicting = True
        async with self._lock:
            reading = self.measure()
            if reading.free >= reading.floor:
                if self.exhausted:
                    log.info("disk budget: back above the floor; recordings taken again")
                self.exhausted = False
                return {}
            if self.exhausted and time.monotonic() - self._last_pass < EXHAUSTED_RETRY:
                return {}
            self._last_pass = time.monotonic()
            return await self._evict(reading, sessionmaker, live_end, listener, shrunk)

    async def _evict(
        self,
        reading: DiskReading,
        sessionmaker: async_sessionmaker[AsyncSession],
        live_end: LiveEnd,
        listener: Listener | None,
        shrunk: Shrunk | None,
    ) -> dict[str, ChannelEvictions]:
        at = clock.now()
        now = at.timestamp()
        async with sessionmaker() as session:
            tstv = select(Channel).where(Channel.cdn_channel_key.is_not(None))
            channels = (await session.scalars(tstv)).all()
            await holds.release_expired(session, at, self.settings)
            held_by_key = await holds.held_ranges(session, at, self.settings)
        cutoffs: dict[str, float] = {}
        for ch in channels:
            key = ch.cdn_channel_key
            if key is not None and layout.is_channel_key(key):
                cutoffs[key] = now - 3600 * max(ch.catchup_window_hours, ch.cutv_window_hours)
        live_window = self.settings.live_window_minutes * 60
        live_from = {key: min(now, live_end(key) or now) - live_window for key in cutoffs}
        target = reading.floor + int(reading.total * HEADROOM)
        need = target - reading.free
        candidates = await asyncio.to_thread(
            collect_candidates, self.root, cutoffs, held_by_key, live_from, need
        )
        plan = plan_evictions(reading.free, target, candidates, held_by_key, live_from)
        result = await asyncio.to_thread(delete_planned, plan)
        for key, ev in result.items():
            total = self.evicted.setdefault(key, ChannelEvictions())
            total.segments += ev.segments
            total.bytes += ev.bytes
            total.last_at = ev.last_at
            total.cutoff = ev.cutoff
            self.freed_total += ev.bytes
            log.warning(
                "disk budget: evicted the oldest catch-up",
                extra={
                    "channel": key,
                    "segments": ev.segments,
                    "bytes": ev.bytes,
                    "archive_from": datetime.fromtimestamp(ev.cutoff or now, UTC).isoformat(),
                    "free": reading.free,
                    "floor": reading.floor,
                },
            )
            if shrunk is not None:
                shrunk(key, ev.segments, ev.bytes)
            if ev.cutoff is not None:
                try:  # what the API replicas' indexes follow (`follow_evictions`)
                    layout.write_evicted_before(self.root, key, ev.cutoff)
                except OSError as exc:
                    log.warning(
                        "disk budget: cut-off not recorded", extra={"channel": key, "error": repr(exc)}
                    )
            if listener is not None and ev.cutoff is not None:
                out = listener(key, datetime.fromtimestamp(ev.cutoff, UTC), held_by_key.get(key, []))
                if inspect.isawaitable(out):
                    await out
        was = self.exhausted
        self.exhausted = sum(c.size for c in plan) < need
        if self.exhausted and not was:
            log.error(
                "disk budget: recordings and live windows alone breach the floor; new recordings refused",
                extra={"free": self.measure().free, "floor": reading.floor},
            )
        return result


async def follow_evictions(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    listener: Listener,
    seen: dict[str, float],
) -> int:
    """For a process that does not evict (TSTV_ROLE=api): tell `listener` (its index) of each new
    cut-off the evicting process recorded on the shared archive, with the recordings' holds, as
    that process told its own index. `seen`: the cut-offs already followed. Returns how many."""
    root = Path(settings.hls_segment_dir)
    try:
        keys = [e.name for e in os.scandir(root) if e.is_dir() and layout.is_channel_key(e.name)]
    except FileNotFoundError:
        return 0
    fresh = {}
    for key in keys:
        before = layout.read_evicted_before(root, key)
        if before is not None and before > seen.get(key, float("-inf")):
            fresh[key] = before
    if not fresh:
        return 0
    async with sessionmaker() as session:
        held_by_key = await holds.held_ranges(session, clock.now(), settings)
    for key, before in fresh.items():
        out = listener(key, datetime.fromtimestamp(before, UTC), held_by_key.get(key, []))
        if inspect.isawaitable(out):
            await out
        seen[key] = before
    return len(fresh)


def collect_candidates(
    root: Path,
    cutoffs: Mapping[str, float],
    held_by_key: Mapping[str, Sequence[Range]],
    live_from: Mapping[str, float],
    need: int,
) -> list[Candidate]:
    """Each channel's oldest segment slots (blocking: run it in a thread), up to `need` bytes of
    evictable ones per channel: the planner takes the oldest across channels, so no channel gives
    more than that. `cutoffs`: per channel, the end of its retention window (older is expired)."""
    out: list[Candidate] = []
    for key, cutoff in cutoffs.items():
        cdir = layout.channel_dir(root, key)
        try:
            run_ids = [e.name for e in os.scandir(cdir) if e.is_dir() and layout.RUN_ID_RE.match(e.name)]
        except FileNotFoundError:
            continue
        runs = []
        for run_id in run_ids:
            info = layout.read_run_info(cdir / run_id)
            if info is not None:
                runs.append(info)
        runs.sort(key=lambda r: r.anchor)
        held = held_by_key.get(key, ())
        edge = live_from.get(key, float("-inf"))
        gathered = 0
        for info in runs:
            if gathered >= need or info.anchor >= edge:
                break
            for c in _run_slots(cdir / info.run_id, info, key, cutoff):
                if gathered >= need:
                    break
                out.append(c)
                if c.end + JITTER <= edge and not is_held(held, c.start, c.end):
                    gathered += c.size
    return out


def _run_slots(rdir: Path, info: layout.RunInfo, key: str, cutoff: float) -> Iterator[Candidate]:
    """The run's segment slots, oldest first: one per sequence number, its files in every
    rendition. Names are listed at once, sizes read lazily: a pass stops after the bytes it needs,
    not after a week-long run's every file."""
    slots: dict[int, tuple[float, list[str]]] = {}
    for rendition in info.renditions:
        try:
            names = os.listdir(rdir / rendition)
        except FileNotFoundError:
            continue
        for name in names:
            seg = layout.parse_segment_name(name)
            if seg is None:
                continue
            dur, paths = slots.setdefault(seg.seq, (seg.duration, []))
            paths.append(str(rdir / rendition / name))
    for seq in sorted(slots):
        dur, paths = slots[seq]
        size = 0
        for path in paths:
            try:
                size += os.stat(path).st_size
            except FileNotFoundError:
                continue
        start = info.anchor + seq * info.segment_duration
        yield Candidate(key, start, start + dur, size, start + dur + JITTER <= cutoff, tuple(paths))


def delete_planned(plan: Sequence[Candidate]) -> dict[str, ChannelEvictions]:
    """Delete the planned slots (blocking); per channel, files and bytes freed and the new cut-off.
    A file someone else removed first (time-based retention) is simply not counted."""
    out: dict[str, ChannelEvictions] = {}
    now = time.time()
    for c in plan:
        ev = out.setdefault(c.channel_key, ChannelEvictions())
        for path in c.paths:
            try:
                size = os.stat(path).st_size
                os.unlink(path)
            except FileNotFoundError:
                continue
            ev.segments += 1
            ev.bytes += size
        ev.last_at = now
        ev.cutoff = max(ev.cutoff or 0.0, c.end + CUTOFF_SLACK)
    return out
