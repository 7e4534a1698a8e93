"""The archive index's storage: per channel and rendition a `Track` of `Stretch`es, runs of segments
whose start, duration and wall-clock name follow their nominal values, kept as column arrays of the
small deviations (about 30 bytes a segment); and the parser of a run's directory listing.
`app/services/archive/archive_index.py` is the index built on them."""

from __future__ import annotations

import copy
import functools
import math
import operator
import re
import sys
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date

# Two segments closer than this count as one continuous recording.
SEAM_TOLERANCE_S = 0.5


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


class Stretch:
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

    def piece(self, lo: int, hi: int) -> Stretch:
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
    def build(cls, run: int, anchor: float, sd: int, parsed: Parsed) -> list[Stretch]:
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


class Track:
    """Segments of one channel and rendition, sorted by start time, as stretches (`parts`, with
    their first starts in `firsts` for bisecting). A position is (stretch, offset in it)."""

    def __init__(self) -> None:
        self.parts: list[Stretch] = []
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
            self.parts.insert(j, Stretch(run, anchor, sd, seq, dur_us, wall_s))
            self.firsts.insert(j, self.parts[j].start(0))
        self.count += 1

    def add_run(self, anchor: float, duration: int, run: int, parsed: Parsed) -> None:
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
        new = Stretch.build(run, anchor, duration, parsed)
        self.parts.extend(new)
        self.firsts.extend(p.start(0) for p in new)
        self.count += len(parsed)

    def forget(self, ts: float, kept: Sequence[tuple[float, float]], starts_kept: list[float]) -> bool:
        """Drop the leading segments that end by `ts` but those overlapping a `kept` range."""
        out: list[Stretch] = []
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


# One pass of the C regex engine over a whole directory listing, then C-level conversions, is
# several times faster than parsing 100,000 names one by one (the index build is dominated by this).
# A duration of 0 (the empty segment FFmpeg writes when stopped before its first frame) never matches.
_SEGMENT_NAMES = re.compile(r"^(\d{8})T(\d{6})_(\d+)_([1-9]\d*)\.m4s$", re.MULTILINE)


@dataclass(frozen=True)
class Parsed:
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


def parse_names(names: list[str], after_seq: int = -1) -> Parsed:
    """The segments among `names` (anything else is ignored, as is a name whose clock is no real
    UTC time: it could not be rebuilt from the timeline) with seq > `after_seq`.

    Names sort by their wall clock, then seq, and the wall clock never goes back within a run:
    sorting the names sorts the segments.
    """
    found = _SEGMENT_NAMES.findall("\n".join(sorted(names)))
    if not found:
        return Parsed(array("q"), array("q"), array("q"))
    days, clocks, seq_s, dur_s = zip(*found, strict=True)
    # A week holds 8 days and 14,400 clock values: convert each distinct one once.
    day_s = {d: _day_seconds(d) for d in set(days)}
    clock_s = {c: _clock_seconds(c) for c in set(clocks)}
    if None in day_s.values() or None in clock_s.values():
        found = [f for f in found if day_s[f[0]] is not None and clock_s[f[1]] is not None]
        if not found:
            return Parsed(array("q"), array("q"), array("q"))
        days, clocks, seq_s, dur_s = zip(*found, strict=True)
    seqs = array("q", map(int, seq_s))
    durs = array("q", map(int, dur_s))
    walls = array("q", map(operator.add, map(day_s.__getitem__, days), map(clock_s.__getitem__, clocks)))
    first = bisect_right(seqs, after_seq)
    if first:
        seqs, durs, walls = seqs[first:], durs[first:], walls[first:]
    return Parsed(seqs, durs, walls)


def pieces(t: Track) -> Iterator[tuple[float, float]]:
    """(start, end) spans whose merging (within the seam tolerance) gives the same ranges as merging
    the track's segments one by one: a stretch whose segments abut is one span to its last but one
    segment (their ends only grow), then its last."""
    for p in t.parts:
        shortest = p.dur + (min(p.ddev) if p.ddev is not None else 0) if p.n > 1 else p.last
        if p.n > 1 and p.sd < shortest / 1e6 + SEAM_TOLERANCE_S - 1e-3:
            yield p.start(0), p.start(p.n - 2) + p.dur_us(p.n - 2) / 1e6
            yield p.start(p.n - 1), p.end()
        else:
            for k in range(p.n):
                s = p.start(k)
                yield s, s + p.dur_us(k) / 1e6
