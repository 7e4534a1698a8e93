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
import os
import threading
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from app.services.archive.archive_layout import (
    PLAYLIST_NAME,
    RENDITIONS,
    RUN_ID_RE,
    RunInfo,
    is_channel_key,
    read_run_info,
)
from app.services.archive.segment_columns import SEAM_TOLERANCE_S, Track, parse_names, pieces

log = logging.getLogger("tstv.archive_index")


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
    tracks: dict[str, Track] = field(default_factory=lambda: {r: Track() for r in RENDITIONS})
    version: int = 0  # bumped on every change, so playlist caches know when to rebuild
    next_ordinal: int = 0
    # (video history, video segment count, covered ranges) when they were last computed
    ranges: tuple[int, int, list[tuple[float, float]]] | None = None

    def track(self, rendition: str) -> Track:
        """The track of a rendition, created when its first segments arrive (upper ladder rungs)."""
        t = self.tracks.get(rendition)
        if t is None:
            t = self.tracks[rendition] = Track()
        return t


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
                    idx = self._run_index(ch, channel_key, run_id)
                if idx is not None:
                    # A new run is listed once: a live one holds a file or two by now, a backfilled
                    # one (renamed into place complete, possibly far in the past) all of its segments.
                    self._list_run(ch, cdir, idx)
            # Only the newest runs can still be growing (a handover overlaps two, a crash in it a third).
            for run_id in run_ids[-3:]:
                self._poll_run(ch, cdir, run_id)

    def _list_run(self, ch: _Channel, cdir: Path, idx: int) -> None:
        info = ch.runs[idx].info
        for rendition in info.renditions:
            try:
                names = os.listdir(cdir / info.run_id / rendition)
            except FileNotFoundError:
                continue
            with self._lock:
                self._add_names(ch, idx, rendition, names)

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
                parsed = parse_names(names)
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
        parsed = parse_names(names, state.last_seq.get(rendition, -1))
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
            for s, e in pieces(t):
                if s <= cur_e + SEAM_TOLERANCE_S:
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

    def kids_between(self, channel_key: str, start: float, end: float, tolerance: float) -> frozenset[str]:
        """The KIDs of the runs whose media plays in [start, end): video overlapping it by more than
        `tolerance`, or, for a run whose first video segment is not indexed yet (its audio may be,
        a playlist may list it), a run that starts in it. O(runs)."""
        ch = self._channels.get(channel_key)
        if ch is None:
            return frozenset()
        with self._lock:
            runs = [(r.info, r.video_start, r.video_end, r.ordinal) for r in ch.runs]
        kids = set()
        for info, v_start, v_end, ordinal in runs:
            if info.kid is None or ordinal is None:
                continue
            if v_start is None:
                if start - tolerance <= info.anchor < end:
                    kids.add(info.kid)
            elif min(end, v_end) - max(start, v_start) > tolerance:
                kids.add(info.kid)
        return frozenset(kids)

    def iter_range(self, channel_key: str, rendition: str, start: float, end: float) -> Iterator[Segment]:
        """Segments overlapping [start, end) in timeline order."""
        ch = self._channels.get(channel_key)
        if ch is None:
            return
        with self._lock:
            t = ch.tracks.get(rendition) or Track()
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


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)
