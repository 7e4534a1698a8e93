"""In-process index of the encrypted archive: which segments exist, on which timeline, per
channel and rendition. Built once from disk at start-up, then kept current by a cheap poll of the
live runs (FFmpeg's own short playlists) and by retention telling it what it deleted.

Lookups by time are a bisect plus a walk over the k segments returned: O(log n + k). The storage is
column arrays (about 30 bytes a segment) so a 7-day archive of five channels stays small.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import math
import operator
import os
import re
import threading
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from app.services.archive_layout import (
    INIT_NAMES,
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
        return f"{self.run.channel_key}/{self.run.run_id}/{self.rendition}/{INIT_NAMES[self.rendition]}"


@dataclass
class _Track:
    """Segments of one channel and rendition, sorted by start time, as parallel arrays."""

    starts: array[float] = field(default_factory=lambda: array("d"))
    durs_us: array[int] = field(default_factory=lambda: array("l"))
    runs: array[int] = field(default_factory=lambda: array("l"))
    seqs: array[int] = field(default_factory=lambda: array("l"))
    walls: array[int] = field(default_factory=lambda: array("q"))
    history: int = 0  # bumped when already-indexed time changes (retention, late inserts)

    def __len__(self) -> int:
        return len(self.starts)

    def add(self, start: float, dur_us: int, run: int, seq: int, wall: int) -> None:
        if not self.starts or start >= self.starts[-1]:
            i = len(self.starts)
        else:  # a run that overlaps the previous one's tail, or a late rescan: rare, keep order
            i = bisect_right(self.starts, start)
            self.history += 1
        self.starts.insert(i, start)
        self.durs_us.insert(i, dur_us)
        self.runs.insert(i, run)
        self.seqs.insert(i, seq)
        self.walls.insert(i, wall)

    def add_run(self, anchor: float, duration: int, run: int, parsed: _Parsed) -> None:
        """Segments of one run: appended in bulk when they follow the track's end (the usual case)."""
        starts = array("d", map(anchor.__add__, map(duration.__mul__, parsed.seqs)))
        if self.starts and starts[0] < self.starts[-1]:
            for i in range(len(parsed)):
                self.add(starts[i], parsed.durs_us[i], run, parsed.seqs[i], parsed.walls[i])
            return
        self.starts.extend(starts)
        self.durs_us.extend(parsed.durs_us)
        self.runs.extend(array("l", [run]) * len(parsed))
        self.seqs.extend(parsed.seqs)
        self.walls.extend(parsed.walls)

    def drop_first(self, n: int) -> None:
        self.history += 1
        for arr in (self.starts, self.durs_us, self.runs, self.seqs, self.walls):
            del arr[:n]

    def drop_first_except(self, n: int, keep: list[int]) -> None:
        """Drop the first `n` segments but those at the (sorted) indices `keep`."""
        self.history += 1
        self.starts[:n] = array("d", [self.starts[i] for i in keep])
        for ints in (self.durs_us, self.runs, self.seqs, self.walls):
            ints[:n] = array(ints.typecode, [ints[i] for i in keep])


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


# One pass of the C regex engine over a whole directory listing, then C-level conversions, is
# several times faster than parsing 100,000 names one by one (the index build is dominated by this).
# A duration of 0 (the empty segment FFmpeg writes when stopped before its first frame) never matches.
_SEGMENT_NAMES = re.compile(r"^(\d{8})T(\d{6})_(\d+)_([1-9]\d*)\.m4s$", re.MULTILINE)


@dataclass(frozen=True)
class _Parsed:
    """Segment names of one run and rendition as columns, sorted by seq."""

    seqs: array[int]
    durs_us: array[int]
    walls: array[int]

    def __len__(self) -> int:
        return len(self.seqs)


def _parse_names(names: list[str], after_seq: int = -1) -> _Parsed:
    """The segments among `names` (anything else is ignored) with seq > `after_seq`.

    Names sort by their wall clock, then seq, and the wall clock never goes back within a run:
    sorting the names sorts the segments.
    """
    found = _SEGMENT_NAMES.findall("\n".join(sorted(names)))
    if not found:
        return _Parsed(array("l"), array("l"), array("q"))
    days, clocks, seq_s, dur_s = zip(*found, strict=True)
    seqs = array("l", map(int, seq_s))
    durs = array("l", map(int, dur_s))
    walls = array("q", map(int, map(operator.add, days, clocks)))
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
                for rendition in RENDITIONS:
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
        for rendition in RENDITIONS:
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
        ch.tracks[rendition].add_run(info.anchor, info.segment_duration, run_idx, parsed)
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
                n = 0
                keep: list[int] = []
                while n < len(track) and (end := track.starts[n] + track.durs_us[n] / 1e6) <= ts:
                    # The last held range starting before the segment's end: does it reach into it?
                    i = bisect_left(starts_kept, end)
                    if i and kept[i - 1][1] > track.starts[n]:
                        keep.append(n)
                    n += 1
                if n > len(keep):
                    if keep:
                        track.drop_first_except(n, keep)
                    else:
                        track.drop_first(n)
                    ch.version += 1

    # ---- queries -----------------------------------------------------------------------------

    def version(self, channel_key: str) -> int:
        ch = self._channels.get(channel_key)
        return ch.version if ch else 0

    def history_version(self, channel_key: str) -> int:
        """Changes only when time already indexed changes: closed playlists of the past stay valid."""
        ch = self._channels.get(channel_key)
        return sum(t.history for t in ch.tracks.values()) if ch else 0

    def segment_count(self, channel_key: str, rendition: str = "video") -> int:
        ch = self._channels.get(channel_key)
        return len(ch.tracks[rendition]) if ch else 0

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
            # Segments appended at the end (the live edge, every few seconds) extend the last
            # computed ranges; anything else (retention, an out-of-order insert) recomputes them.
            if cached is not None and cached[0] == history and cached[1] <= count:
                ranges, first = cached[2][:], cached[1]
            else:
                ranges, first = [], 0
            cur_s, cur_e = ranges.pop() if ranges else (-math.inf, -math.inf)
            for s, d in zip(t.starts[first:], t.durs_us[first:], strict=True):
                e = s + d / 1e6
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
            first = t.starts[0]
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
            t = ch.tracks[rendition]
            # A segment is at most a few durations long: start the walk a little before `start`.
            lo = bisect_left(t.starts, start - 120.0)
            hi = bisect_left(t.starts, end)
            rows = [(t.starts[i], t.durs_us[i], t.runs[i], t.seqs[i], t.walls[i]) for i in range(lo, hi)]
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
            t = ch.tracks[rendition]
            return t.starts[-1] + t.durs_us[-1] / 1e6 if len(t) else None


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)
