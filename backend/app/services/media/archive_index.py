"""In-process index of the encrypted archive: which segments exist, on which timeline, per
channel and rendition. Built once from disk at start-up, then kept current by a cheap poll of the
live runs (FFmpeg's own short playlists) and by retention telling it what it deleted.

Lookups by time are a bisect plus a walk over the k segments returned: O(log n + k). The storage is
column arrays (about 30 bytes a segment) so a 7-day archive of five channels stays small.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import gc
import logging
import math
import operator
import os
import re
import sys
import threading
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from app.services.media.archive_layout import (
    PLAYLIST_NAME,
    RENDITIONS,
    RUN_ID_RE,
    RunInfo,
    is_channel_key,
    read_run_info,
)

log = logging.getLogger("tstv.archive_index")
# Two segments closer than this count as one continuous recording.
_SEAM_TOLERANCE_S = 0.5


@dataclass(frozen=True)
class Segment:
    """One archived segment as the playlists need it."""

    start: float  # epoch seconds on the programme timeline
    duration: float
    run: RunInfo
    rendition: str
    seq: int
    wall: int  # YYYYmmddHHMMSS as an int, from the file name

    @property
    def end(self) -> float:
        return self.start + self.duration

    @property
    def name(self) -> str:
        day, clock = divmod(self.wall, 1_000_000)
        return f"{day:08d}T{clock:06d}_{self.seq:06d}_{round(self.duration * 1e6)}.m4s"

    @property
    def media_number(self) -> int:
        """Stable media sequence number: the segment's slot on the channel timeline."""
        return round(self.start / self.run.segment_duration)

    @property
    def path(self) -> str:
        return f"{self.run.channel_key}/{self.run.run_id}/{self.rendition}/{self.name}"

    @property
    def init_path(self) -> str:
        return (
            f"{self.run.channel_key}/{self.run.run_id}/{self.rendition}/{self.run.init_name(self.rendition)}"
        )


_DAY = 86_400
_WALL_DEV = "b"  # a name's wall clock off its run's nominal by up to ±127 s more than the stretch's first
_DUR_DEV = "h"  # a duration off the stretch's nominal by up to ±32 ms (AAC frames: 6.011-6.016 s)


def _fits(typecode: str, value: int) -> bool:
    bound = 1 << (8 * array(typecode).itemsize - 1)
    return -bound <= value < bound


@functools.lru_cache(maxsize=1024)
def _ymd(day: int) -> int:
    d = date.fromordinal(_EPOCH_ORDINAL + day)
    return d.year * 10_000 + d.month * 100 + d.day


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def _wall_int(epoch: int) -> int:
    """Epoch seconds as the YYYYmmddHHMMSS integer of a segment name (UTC)."""
    day, sod = divmod(epoch, _DAY)
    hours, rest = divmod(sod, 3600)
    return _ymd(day) * 1_000_000 + hours * 10_000 + (rest // 60) * 100 + rest % 60


class _Stretch:
    """Consecutive segments of one run: seqs `seq0` .. `seq0 + n - 1`, each starting at
    `anchor + seq * sd` (the archive layout's timeline). Durations are `dur` µs but for the
    deviations in `ddev` (one per segment but the last, only when some is not 0) and the last
    segment's `last` (a stopped run's partial segment). Name wall clocks are
    `base + seq * sd + woff` (base = floor(anchor)) plus `wdev` (one per segment, only when some
    is not 0: the 1-second names jitter on a real encoder). A segment whose figures do not fit
    (a lost file, another run, a far-off duration or clock) starts a new stretch."""

    __slots__ = ("anchor", "base", "ddev", "dur", "last", "n", "run", "sd", "seq0", "wdev", "woff")

    def __init__(self, run: int, anchor: float, sd: int, seq: int, dur_us: int, wall_s: int) -> None:
        self.run = run
        self.anchor = anchor
        self.sd = sd
        self.base = math.floor(anchor)
        self.seq0 = seq
        self.n = 1
        self.dur = dur_us
        self.last = dur_us
        self.ddev: array[int] | None = None
        self.woff = wall_s - self.base - sd * seq
        self.wdev: array[int] | None = None

    def start(self, k: int) -> float:
        return self.anchor + self.sd * (self.seq0 + k)

    def dur_us(self, k: int) -> int:
        if k == self.n - 1:
            return self.last
        return self.dur + self.ddev[k] if self.ddev is not None else self.dur

    def wall_s(self, k: int) -> int:
        w = self.base + self.sd * (self.seq0 + k) + self.woff
        return w + self.wdev[k] if self.wdev is not None else w

    def end(self) -> float:
        return self.start(self.n - 1) + self.last / 1e6

    def try_append(self, run: int, seq: int, dur_us: int, wall_s: int) -> bool:
        """Take the next segment if it continues this stretch."""
        if run != self.run or seq != self.seq0 + self.n:
            return False
        dd = self.last - self.dur  # the current last becomes a middle segment
        wd = wall_s - self.base - self.sd * seq - self.woff
        if not (_fits(_DUR_DEV, dd) and _fits(_WALL_DEV, wd)):
            return False
        if dd and self.ddev is None:
            self.ddev = array(_DUR_DEV, bytes(array(_DUR_DEV).itemsize * (self.n - 1)))
        if self.ddev is not None:
            self.ddev.append(dd)
        if wd and self.wdev is None:
            self.wdev = array(_WALL_DEV, bytes(array(_WALL_DEV).itemsize * self.n))
        if self.wdev is not None:
            self.wdev.append(wd)
        self.last = dur_us
        self.n += 1
        return True

    def piece(self, lo: int, hi: int) -> _Stretch:
        """Segments `lo` .. `hi - 1` of this stretch as a stretch of their own."""
        p = copy.copy(self)
        p.seq0, p.n, p.last = self.seq0 + lo, hi - lo, self.dur_us(hi - 1)
        p.ddev = self.ddev[lo : hi - 1] if self.ddev is not None else None
        p.wdev = self.wdev[lo:hi] if self.wdev is not None else None
        if p.ddev is not None and not any(p.ddev):
            p.ddev = None
        if p.wdev is not None and not any(p.wdev):
            p.wdev = None
        return p

    def nbytes(self) -> int:
        extra = sum(a.buffer_info()[1] * a.itemsize for a in (self.ddev, self.wdev) if a is not None)
        return sys.getsizeof(self) + extra

    @classmethod
    def build(cls, run: int, anchor: float, sd: int, parsed: _Parsed) -> list[_Stretch]:
        """The stretches of a run's segments (sorted by seq): one array pass each in the usual case."""
        seqs, durs, walls = parsed.seqs, parsed.durs_us, parsed.walls
        n = len(seqs)
        first = cls(run, anchor, sd, seqs[0], durs[0], walls[0])
        if (
            n > 1
            and seqs[-1] - seqs[0] == n - 1
            and seqs == array(seqs.typecode, range(seqs[0], seqs[-1] + 1))
        ):
            # Name clocks less the nominal timeline: equal to the first one's but for jitter.
            wall_x = array("q", map(operator.sub, walls, map(sd.__mul__, seqs)))
            try:
                ddev = None
                if durs[:-1].count(first.dur) != n - 1:
                    ddev = array(_DUR_DEV, map(first.dur.__rsub__, durs[:-1]))
                wdev = None
                if wall_x.count(wall_x[0]) != n:
                    wdev = array(_WALL_DEV, map(wall_x[0].__rsub__, wall_x))
            except OverflowError:
                pass  # something off nominal by more than a deviation holds: segment by segment
            else:
                first.n, first.last, first.ddev, first.wdev = n, durs[-1], ddev, wdev
                return [first]
        out = [first]
        for i in range(1, n):
            if not out[-1].try_append(run, seqs[i], durs[i], walls[i]):
                out.append(cls(run, anchor, sd, seqs[i], durs[i], walls[i]))
        return out


class _Track:
    """Segments of one channel and rendition, sorted by start time, as stretches (`parts`, with
    their first starts in `firsts` for bisecting). A position is (stretch, offset in it)."""

    def __init__(self) -> None:
        self.parts: list[_Stretch] = []
        self.firsts: array[float] = array("d")
        self.count = 0
        self.history = 0  # bumped when already-indexed time changes (retention, late inserts)

    def __len__(self) -> int:
        return self.count

    def first_start(self) -> float:
        return self.firsts[0]

    def last_start(self) -> float:
        p = self.parts[-1]
        return p.start(p.n - 1)

    def latest_end(self) -> float:
        return self.parts[-1].end()

    def locate(self, x: float, right: bool = False) -> tuple[int, int]:
        """The position bisect_left (bisect_right) of `x` would give on the segments' starts."""
        find = bisect_right if right else bisect_left
        j = find(self.firsts, x)
        if j:
            p = self.parts[j - 1]
            k = find(range(p.n), x, key=p.start)
            if k < p.n:
                return j - 1, k
        return j, 0

    def _put(
        self, j: int, k: int, run: int, anchor: float, sd: int, seq: int, dur_us: int, wall_s: int
    ) -> None:
        """Insert one segment at position (j, k), splitting a stretch if it lands inside one."""
        if k:
            p = self.parts[j]
            self.parts[j : j + 1] = [p.piece(0, k), p.piece(k, p.n)]
            self.firsts.insert(j + 1, self.parts[j + 1].start(0))
            j += 1
        if not (j and self.parts[j - 1].try_append(run, seq, dur_us, wall_s)):
            self.parts.insert(j, _Stretch(run, anchor, sd, seq, dur_us, wall_s))
            self.firsts.insert(j, self.parts[j].start(0))
        self.count += 1

    def add_run(self, anchor: float, duration: int, run: int, parsed: _Parsed) -> None:
        """Segments of one run: appended in bulk when they follow the track's end (the usual case)."""
        if self.parts and anchor + duration * parsed.seqs[0] < self.last_start():
            # A run that overlaps the previous one's tail, or a late rescan: rare, keep order.
            for seq, dur_us, wall_s in zip(parsed.seqs, parsed.durs_us, parsed.walls, strict=True):
                j, k = self.locate(anchor + duration * seq, right=True)
                if j < len(self.parts):
                    self.history += 1
                self._put(j, k, run, anchor, duration, seq, dur_us, wall_s)
            return
        if len(parsed) <= 64:  # the poll's few new segments: grow the last stretch
            for seq, dur_us, wall_s in zip(parsed.seqs, parsed.durs_us, parsed.walls, strict=True):
                self._put(len(self.parts), 0, run, anchor, duration, seq, dur_us, wall_s)
            return
        new = _Stretch.build(run, anchor, duration, parsed)
        self.parts.extend(new)
        self.firsts.extend(p.start(0) for p in new)
        self.count += len(parsed)

    def forget(self, ts: float, kept: Sequence[tuple[float, float]], starts_kept: list[float]) -> bool:
        """Drop the leading segments that end by `ts` but those overlapping a `kept` range."""
        out: list[_Stretch] = []
        considered = kept_count = 0
        cut = len(self.parts)  # the stretches before it are replaced by `out`
        for j, p in enumerate(self.parts):
            k = 0
            keep: list[int] = []
            while k < p.n and (end := (s := p.start(k)) + p.dur_us(k) / 1e6) <= ts:
                # The last held range starting before the segment's end: does it reach into it?
                i = bisect_left(starts_kept, end)
                if i and kept[i - 1][1] > s:
                    keep.append(k)
                k += 1
            considered += k
            kept_count += len(keep)
            lo = None
            for idx, kk in enumerate(keep):  # consecutive kept offsets make one piece
                if lo is None:
                    lo = kk
                if idx + 1 == len(keep) or keep[idx + 1] != kk + 1:
                    out.append(p.piece(lo, kk + 1))
                    lo = None
            if k < p.n:
                if k:
                    out.append(p.piece(k, p.n))
                else:
                    out.append(p)
                cut = j + 1
                break
        if considered == kept_count:
            return False
        self.history += 1
        self.parts[:cut] = out
        self.firsts = array("d", (p.start(0) for p in self.parts))
        self.count -= considered - kept_count
        return True

    def rows(self, lo: tuple[int, int], hi: tuple[int, int]) -> list[tuple[float, int, int, int, int]]:
        """(start, duration µs, run, seq, wall) of the segments from position `lo` to `hi`."""
        out = []
        (j, k), (hj, hk) = lo, hi
        while (j, k) < (hj, hk):
            p = self.parts[j]
            stop = hk if j == hj else p.n
            for kk in range(k, stop):
                out.append((p.start(kk), p.dur_us(kk), p.run, p.seq0 + kk, _wall_int(p.wall_s(kk))))
            j, k = j + 1, 0
        return out

    def nbytes(self) -> int:
        """Bytes the track holds (its containers and stretches): the memory a segment costs."""
        return (
            sys.getsizeof(self.parts)
            + self.firsts.buffer_info()[1] * self.firsts.itemsize
            + sum(p.nbytes() for p in self.parts)
        )


@dataclass(frozen=True)
class RunSpan:
    """The stretch of the video timeline one encoder run recorded (its KID is `run.kid`)."""

    run: RunInfo
    start: float
    end: float


@dataclass
class _RunState:
    info: RunInfo
    # Runs of the channel that hold segments, counted in order: the discontinuity sequence.
    ordinal: int | None = None
    last_seq: dict[str, int] = field(default_factory=dict)
    playlist_mtime: dict[str, int] = field(default_factory=dict)
    # Its first and last video segment as indexed (names arrive in seq order, so no scan is needed).
    video_start: float | None = None
    video_end: float = -math.inf


@dataclass
class _Channel:
    runs: list[_RunState] = field(default_factory=list)
    run_by_id: dict[str, int] = field(default_factory=dict)
    tracks: dict[str, _Track] = field(default_factory=lambda: {r: _Track() for r in RENDITIONS})
    version: int = 0  # bumped on every change, so playlist caches know when to rebuild
    next_ordinal: int = 0
    # (video history, video segment count, covered ranges) when they were last computed
    ranges: tuple[int, int, list[tuple[float, float]]] | None = None

    def track(self, rendition: str) -> _Track:
        """The track of a rendition, created when its first segments arrive (upper ladder rungs)."""
        t = self.tracks.get(rendition)
        if t is None:
            t = self.tracks[rendition] = _Track()
        return t


# One pass of the C regex engine over a whole directory listing, then C-level conversions, is
# several times faster than parsing 100,000 names one by one (the index build is dominated by this).
# A duration of 0 (the empty segment FFmpeg writes when stopped before its first frame) never matches.
_SEGMENT_NAMES = re.compile(r"^(\d{8})T(\d{6})_(\d+)_([1-9]\d*)\.m4s$", re.MULTILINE)


@dataclass(frozen=True)
class _Parsed:
    """Segment names of one run and rendition as columns, sorted by seq (walls in epoch seconds)."""

    seqs: array[int]
    durs_us: array[int]
    walls: array[int]

    def __len__(self) -> int:
        return len(self.seqs)


def _day_seconds(day: str) -> int | None:
    try:
        return (date(int(day[:4]), int(day[4:6]), int(day[6:])).toordinal() - _EPOCH_ORDINAL) * _DAY
    except ValueError:
        return None


def _clock_seconds(clock: str) -> int | None:
    h, m, sec = int(clock[:2]), int(clock[2:4]), int(clock[4:])
    return h * 3600 + m * 60 + sec if h < 24 and m < 60 and sec < 60 else None


def _parse_names(names: list[str], after_seq: int = -1) -> _Parsed:
    """The segments among `names` (anything else is ignored, as is a name whose clock is no real
    UTC time: it could not be rebuilt from the timeline) with seq > `after_seq`.

    Names sort by their wall clock, then seq, and the wall clock never goes back within a run:
    sorting the names sorts the segments.
    """
    found = _SEGMENT_NAMES.findall("\n".join(sorted(names)))
    if not found:
        return _Parsed(array("q"), array("q"), array("q"))
    days, clocks, seq_s, dur_s = zip(*found, strict=True)
    # A week holds 8 days and 14,400 clock values: convert each distinct one once.
    day_s = {d: _day_seconds(d) for d in set(days)}
    clock_s = {c: _clock_seconds(c) for c in set(clocks)}
    if None in day_s.values() or None in clock_s.values():
        found = [f for f in found if day_s[f[0]] is not None and clock_s[f[1]] is not None]
        if not found:
            return _Parsed(array("q"), array("q"), array("q"))
        days, clocks, seq_s, dur_s = zip(*found, strict=True)
    seqs = array("q", map(int, seq_s))
    durs = array("q", map(int, dur_s))
    walls = array("q", map(operator.add, map(day_s.__getitem__, days), map(clock_s.__getitem__, clocks)))
    first = bisect_right(seqs, after_seq)
    if first:
        seqs, durs, walls = seqs[first:], durs[first:], walls[first:]
    return _Parsed(seqs, durs, walls)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Parsing a week of names makes millions of short-lived tuples: collections triggered by them
    find nothing to free but rescan every live object (a sixth of the build time)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class ArchiveIndex:
    """The index of `root` (HLS_SEGMENT_DIR). Thread-safe: the poller and retention may run in threads."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._channels: dict[str, _Channel] = {}
        self._lock = threading.RLock()

    # ---- building and refreshing -------------------------------------------------------------

    def rescan(self) -> None:
        """Full scan of every channel directory (start-up, tests, synthetic archives)."""
        if not self.root.is_dir():
            return
        with _gc_paused():
            for entry in sorted(os.listdir(self.root)):
                if is_channel_key(entry) and (self.root / entry).is_dir():
                    self.rescan_channel(entry)

    def rescan_channel(self, channel_key: str) -> None:
        """Pick up every run and segment of one channel that the index does not hold yet."""
        cdir = self.root / channel_key
        try:
            run_ids = sorted(n for n in os.listdir(cdir) if RUN_ID_RE.match(n))
        except FileNotFoundError:
            return
        with self._lock:
            ch = self._channels.setdefault(channel_key, _Channel())
            for run_id in run_ids:
                idx = self._run_index(ch, channel_key, run_id)
                if idx is None:
                    continue
                for rendition in ch.runs[idx].info.renditions:
                    try:
                        names = os.listdir(cdir / run_id / rendition)
                    except FileNotFoundError:
                        continue
                    self._add_names(ch, idx, rendition, names)

    def poll(self) -> None:
        """Cheap refresh: new runs, and new segments of runs whose FFmpeg playlist changed."""
        if not self.root.is_dir():
            return
        for channel_key in os.listdir(self.root):
            if not is_channel_key(channel_key):
                continue
            cdir = self.root / channel_key
            try:
                run_ids = sorted(n for n in os.listdir(cdir) if RUN_ID_RE.match(n))
            except (FileNotFoundError, NotADirectoryError):
                continue
            with self._lock:
                ch = self._channels.setdefault(channel_key, _Channel())
                new_runs = [r for r in run_ids if r not in ch.run_by_id]
            for run_id in new_runs:
                with self._lock:
                    self._run_index(ch, channel_key, run_id)
            # Only the newest runs can still be growing (a handover overlaps two, a crash in it a third).
            for run_id in run_ids[-3:]:
                self._poll_run(ch, cdir, run_id)

    def _poll_run(self, ch: _Channel, cdir: Path, run_id: str) -> None:
        with self._lock:
            idx = ch.run_by_id.get(run_id)
        if idx is None:
            return
        state = ch.runs[idx]
        for rendition in state.info.renditions:
            playlist = cdir / run_id / rendition / PLAYLIST_NAME
            try:
                mtime = playlist.stat().st_mtime_ns
                if state.playlist_mtime.get(rendition) == mtime:
                    continue
                text = playlist.read_text()
            except FileNotFoundError:
                continue
            names = [ln for ln in text.splitlines() if ln.endswith(".m4s")]
            with self._lock:
                parsed = _parse_names(names)
                known = state.last_seq.get(rendition, -1)
                if parsed and parsed.seqs[0] > known + 1:
                    # We fell behind FFmpeg's short list: list the directory once to catch up.
                    try:
                        names = os.listdir(cdir / run_id / rendition)
                    except FileNotFoundError:
                        continue
                self._add_names(ch, idx, rendition, names)
                state.playlist_mtime[rendition] = mtime

    def _run_index(self, ch: _Channel, channel_key: str, run_id: str) -> int | None:
        if run_id in ch.run_by_id:
            return ch.run_by_id[run_id]
        info = read_run_info(self.root / channel_key / run_id)
        if info is None or info.channel_key != channel_key or info.run_id != run_id:
            return None
        ch.runs.append(_RunState(info))
        ch.run_by_id[run_id] = len(ch.runs) - 1
        return len(ch.runs) - 1

    def _add_names(self, ch: _Channel, run_idx: int, rendition: str, names: list[str]) -> None:
        state = ch.runs[run_idx]
        info = state.info
        parsed = _parse_names(names, state.last_seq.get(rendition, -1))
        if not parsed:
            return
        if state.ordinal is None:
            state.ordinal = ch.next_ordinal
            ch.next_ordinal += 1
        ch.track(rendition).add_run(info.anchor, info.segment_duration, run_idx, parsed)
        state.last_seq[rendition] = parsed.seqs[-1]
        if rendition == "video":
            if state.video_start is None:
                state.video_start = info.anchor + parsed.seqs[0] * info.segment_duration
            last_end = info.anchor + parsed.seqs[-1] * info.segment_duration + parsed.durs_us[-1] / 1e6
            state.video_end = max(state.video_end, last_end)
        ch.version += 1

    def forget_before(
        self, channel_key: str, cutoff: datetime, kept: Sequence[tuple[float, float]] = ()
    ) -> None:
        """Retention deleted every segment that ended before `cutoff`, except those overlapping the
        sorted, disjoint epoch ranges `kept` (held by recordings): drop them here too."""
        ts = cutoff.timestamp()
        starts_kept = [s for s, _ in kept]
        with self._lock:
            ch = self._channels.get(channel_key)
            if ch is None:
                return
            for track in ch.tracks.values():
                if track.forget(ts, kept, starts_kept):
                    ch.version += 1

    # ---- queries -----------------------------------------------------------------------------

    def version(self, channel_key: str) -> int:
        ch = self._channels.get(channel_key)
        return ch.version if ch else 0

    def history_version(self, channel_key: str) -> int:
        """Changes only when time already indexed changes: closed playlists of the past stay valid."""
        ch = self._channels.get(channel_key)
        return sum(t.history for t in ch.tracks.values()) if ch else 0

    def renditions(self, channel_key: str) -> list[str]:
        """Every rendition the channel's index holds segments of (ladder rungs and audio)."""
        ch = self._channels.get(channel_key)
        return [r for r, t in ch.tracks.items() if len(t)] if ch else []

    def segment_count(self, channel_key: str, rendition: str = "video") -> int:
        ch = self._channels.get(channel_key)
        t = ch.tracks.get(rendition) if ch else None
        return len(t) if t is not None else 0

    def holds(self, channel_key: str, start: datetime, end: datetime) -> bool:
        """Does the archive hold any video of [start, end)? O(log n)."""
        lo, hi = start.timestamp(), end.timestamp()
        ranges = self.covered_ranges(channel_key)
        i = bisect_left(ranges, (hi, -math.inf))  # ranges[i - 1] is the last one starting before `hi`
        return i > 0 and ranges[i - 1][1] > lo

    def covered_ranges(self, channel_key: str) -> list[tuple[float, float]]:
        """The time the video archive covers, as sorted, disjoint [start, end) epoch ranges.

        Recomputed only when the channel's segments change, and merged across the sub-second
        seams between runs, so there is one range per stretch the encoder was up.
        """
        ch = self._channels.get(channel_key)
        if ch is None:
            return []
        t = ch.tracks["video"]
        cached = ch.ranges
        if cached is not None and cached[0] == t.history and cached[1] == len(t):
            return cached[2]
        with self._lock:
            history, count = t.history, len(t)
            # O(stretches): a few a run, however long the run.
            ranges: list[tuple[float, float]] = []
            cur_s, cur_e = -math.inf, -math.inf
            for s, e in _pieces(t):
                if s <= cur_e + _SEAM_TOLERANCE_S:
                    cur_e = max(cur_e, e)
                    continue
                if cur_e > cur_s:
                    ranges.append((cur_s, cur_e))
                cur_s, cur_e = s, e
            if cur_e > cur_s:
                ranges.append((cur_s, cur_e))
            ch.ranges = (history, count, ranges)
        return ranges

    def run_spans(self, channel_key: str) -> list[RunSpan]:
        """The runs that still hold video, in timeline order, each with the time it covers. O(runs):
        a run partly deleted by retention starts where the archive now starts."""
        ch = self._channels.get(channel_key)
        if ch is None:
            return []
        with self._lock:
            t = ch.tracks["video"]
            if not len(t):
                return []
            first = t.first_start()
            spans = [
                RunSpan(r.info, max(r.video_start, first), r.video_end)
                for r in ch.runs
                if r.video_start is not None and r.video_end > first
            ]
        return sorted(spans, key=lambda s: (s.start, s.end))

    def iter_range(self, channel_key: str, rendition: str, start: float, end: float) -> Iterator[Segment]:
        """Segments overlapping [start, end) in timeline order."""
        ch = self._channels.get(channel_key)
        if ch is None:
            return
        with self._lock:
            t = ch.tracks.get(rendition) or _Track()
            # A segment is at most a few durations long: start the walk a little before `start`.
            rows = t.rows(t.locate(start - 120.0), t.locate(end)) if len(t) else []
            runs = ch.runs
        for s, dur_us, run_idx, seq, wall in rows:
            if s + dur_us / 1e6 > start:
                yield Segment(s, dur_us / 1e6, runs[run_idx].info, rendition, seq, wall)

    def run_ordinal(self, channel_key: str, run_id: str) -> int:
        ch = self._channels[channel_key]
        return ch.runs[ch.run_by_id[run_id]].ordinal or 0

    def latest_end(self, channel_key: str, rendition: str = "video") -> float | None:
        ch = self._channels.get(channel_key)
        if ch is None:
            return None
        with self._lock:  # the poller may be appending in its thread
            t = ch.tracks.get(rendition)
            return t.latest_end() if t is not None and len(t) else None


def _pieces(t: _Track) -> Iterator[tuple[float, float]]:
    """(start, end) spans whose merging (within the seam tolerance) gives the same ranges as merging
    the track's segments one by one: a stretch whose segments abut is one span to its last but one
    segment (their ends only grow), then its last."""
    for p in t.parts:
        shortest = p.dur + (min(p.ddev) if p.ddev is not None else 0) if p.n > 1 else p.last
        if p.n > 1 and p.sd < shortest / 1e6 + _SEAM_TOLERANCE_S - 1e-3:
            yield p.start(0), p.start(p.n - 2) + p.dur_us(p.n - 2) / 1e6
            yield p.start(p.n - 1), p.end()
        else:
            for k in range(p.n):
                s = p.start(k)
                yield s, s + p.dur_us(k) / 1e6


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)
