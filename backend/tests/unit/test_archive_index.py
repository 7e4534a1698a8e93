"""The in-process segment index on its own: building, tailing FFmpeg's playlists, ranges, retention."""

from __future__ import annotations

import bisect
import math
import random
import secrets
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.services.archive import archive_index
from app.services.archive.archive_index import ArchiveIndex
from app.services.archive.archive_layout import PLAYLIST_NAME, RENDITIONS, RunInfo, run_id_for, write_run_info
from tests.archive_factory import write_run

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _seconds(dt: datetime) -> float:
    return dt.timestamp()


def test_rescan_ranges_and_lookups(tmp_path: Path) -> None:
    write_run(tmp_path, "ch9", T0, T0 + timedelta(minutes=10))
    write_run(tmp_path, "ch9", T0 + timedelta(minutes=10), T0 + timedelta(minutes=20))  # seamless restart
    write_run(tmp_path, "ch9", T0 + timedelta(minutes=30), T0 + timedelta(minutes=31))  # after a gap
    (tmp_path / "ch9" / "not-a-run").mkdir()
    (tmp_path / "..hidden").mkdir()
    index = ArchiveIndex(tmp_path)
    index.rescan()
    assert index.segment_count("ch9") == 100 + 100 + 10
    assert index.covered_ranges("ch9") == [
        (_seconds(T0), _seconds(T0 + timedelta(minutes=20))),
        (_seconds(T0 + timedelta(minutes=30)), _seconds(T0 + timedelta(minutes=31))),
    ]
    assert index.holds("ch9", T0 + timedelta(minutes=19), T0 + timedelta(minutes=25))
    assert not index.holds("ch9", T0 + timedelta(minutes=20), T0 + timedelta(minutes=30))
    assert not index.holds("ch9", T0 - timedelta(minutes=5), T0)
    segs = list(index.iter_range("ch9", "audio", _seconds(T0) + 7, _seconds(T0) + 20))
    assert [s.start - _seconds(T0) for s in segs] == [6, 12, 18]
    assert segs[0].path.startswith("ch9/r") and segs[0].path.endswith(".m4s")
    assert (tmp_path / segs[0].path).exists(), "names are rebuilt exactly"
    assert index.latest_end("ch9") == _seconds(T0 + timedelta(minutes=31))
    assert index.segment_count("nope") == 0 and not index.holds("nope", T0, T0 + timedelta(hours=1))


def _live_run(root: Path, anchor: datetime) -> RunInfo:
    info = RunInfo(
        run_id=run_id_for(time.time()),
        channel_key="live1",
        anchor=anchor.timestamp(),
        segment_duration=6,
        kid=secrets.token_hex(16),
        started_at=time.time(),
        loop_seconds=600,
        loop_offset=0,
    )
    write_run_info(root, info)
    return info


def _ffmpeg_writes(root: Path, info: RunInfo, seqs: range, listed: int = 10) -> None:
    """Completed segments under their final names, and FFmpeg's short list of the last `listed`."""
    for rendition in RENDITIONS:
        folder = root / info.channel_key / info.run_id / rendition
        names = []
        for seq in seqs:
            wall = time.strftime("%Y%m%dT%H%M%S", time.gmtime(info.anchor + seq * 6))
            names.append(f"{wall}_{seq:06d}_6000000.m4s")
            (folder / names[-1]).touch()
        listing = sorted(p.name for p in folder.glob("*.m4s"))[-listed:]
        body = "".join(f"#EXTINF:6.000000,\n{n}\n" for n in listing)
        (folder / PLAYLIST_NAME).write_text("#EXTM3U\n#EXT-X-TARGETDURATION:6\n" + body)


def test_poll_follows_ffmpeg_playlists_and_catches_up(tmp_path: Path) -> None:
    index = ArchiveIndex(tmp_path)
    info = _live_run(tmp_path, T0)
    _ffmpeg_writes(tmp_path, info, range(2))
    # A segment still being written has a temporary name: never indexed.
    (tmp_path / "live1" / info.run_id / "video" / "20261120T120012_000002_%t.m4s.tmp").touch()
    # FFmpeg stopped in its pre-roll writes an empty segment: never indexed.
    (tmp_path / "live1" / info.run_id / "video" / "20261120T120000_000000_0.m4s").touch()
    index.poll()
    assert index.segment_count("live1") == 2
    version = index.version("live1")
    index.poll()
    assert index.version("live1") == version, "an unchanged playlist costs nothing"

    _ffmpeg_writes(tmp_path, info, range(2, 20))  # fell behind: the short list no longer reaches seq 2
    index.poll()
    assert index.segment_count("live1") == 20
    assert index.segment_count("live1", "audio") == 20
    starts = [s.start for s in index.iter_range("live1", "video", 0, 2e9)]
    assert starts == [info.anchor + 6 * i for i in range(20)]

    index.forget_before("live1", T0 + timedelta(seconds=60))
    assert index.segment_count("live1") == 10
    assert not index.holds("live1", T0, T0 + timedelta(seconds=60))
    assert index.history_version("live1") > 0


def test_covered_ranges_follow_the_live_edge_and_retention(tmp_path: Path) -> None:
    """Ranges extended segment by segment (and after a gap, and after retention) are exactly the
    ranges a fresh index computes from disk."""

    def fresh() -> list[tuple[float, float]]:
        other = ArchiveIndex(tmp_path)
        other.rescan()
        return other.covered_ranges("live1")

    index = ArchiveIndex(tmp_path)
    info = _live_run(tmp_path, T0)
    _ffmpeg_writes(tmp_path, info, range(5))
    index.poll()
    assert index.covered_ranges("live1") == [(_seconds(T0), _seconds(T0) + 30)]
    for seqs in (range(5, 6), range(6, 9), range(12, 14), range(14, 15)):  # 9-11 never written: a gap
        _ffmpeg_writes(tmp_path, info, seqs, listed=2)
        index.poll()
        assert index.covered_ranges("live1") == fresh()
    assert index.covered_ranges("live1") == [
        (_seconds(T0), _seconds(T0) + 54),
        (_seconds(T0) + 72, _seconds(T0) + 90),
    ]
    index.forget_before("live1", T0 + timedelta(seconds=60))
    assert index.covered_ranges("live1") == [(_seconds(T0) + 72, _seconds(T0) + 90)]


def test_run_spans_carry_each_runs_key_and_follow_the_live_edge_and_retention(tmp_path: Path) -> None:
    first = write_run(tmp_path, "ch9", T0, T0 + timedelta(minutes=10), kid="aa" * 16)
    second = write_run(tmp_path, "ch9", T0 + timedelta(minutes=12), T0 + timedelta(minutes=20), kid="bb" * 16)
    index = ArchiveIndex(tmp_path)
    index.rescan()
    spans = index.run_spans("ch9")
    assert [(s.run.run_id, s.run.kid) for s in spans] == [
        (first.run_id, "aa" * 16),
        (second.run_id, "bb" * 16),
    ]
    assert [(s.start, s.end) for s in spans] == [
        (_seconds(T0), _seconds(T0) + 600),
        (_seconds(T0) + 720, _seconds(T0) + 1200),
    ]
    # A run still being written: its span grows with what the poll picks up.
    live = _live_run(tmp_path, T0)
    _ffmpeg_writes(tmp_path, live, range(3))
    index.poll()
    assert [(s.start, s.end) for s in index.run_spans("live1")] == [(_seconds(T0), _seconds(T0) + 18)]
    _ffmpeg_writes(tmp_path, live, range(3, 5), listed=2)
    index.poll()
    assert [(s.start, s.end) for s in index.run_spans("live1")] == [(_seconds(T0), _seconds(T0) + 30)]
    # Retention: a run partly deleted starts where the archive now starts; one wholly deleted is gone.
    index.forget_before("ch9", T0 + timedelta(minutes=15))
    assert [(s.run.run_id, s.start, s.end) for s in index.run_spans("ch9")] == [
        (second.run_id, _seconds(T0) + 900, _seconds(T0) + 1200)
    ]
    assert index.run_spans("nope") == []


# ---- the compact representation: what it makes special ---------------------------------------


def _names(
    info: RunInfo, seqs: Iterable[int], dur_us: Callable[[int], int], clock_shift: Callable[[int], int]
) -> list[str]:
    out = []
    for seq in seqs:
        wall = time.strftime(
            "%Y%m%dT%H%M%S", time.gmtime(math.floor(info.anchor + seq * 6) + clock_shift(seq))
        )
        out.append(f"{wall}_{seq:06d}_{dur_us(seq)}.m4s")
    return out


def _feed(
    index: ArchiveIndex, info: RunInfo, names: list[str], renditions: Iterable[str] = RENDITIONS
) -> None:
    """What a rescan of the run does, with `names` as its directory listing."""
    with index._lock:
        ch = index._channels.setdefault(info.channel_key, archive_index._Channel())
        run = index._run_index(ch, info.channel_key, info.run_id)
        assert run is not None
        for rendition in renditions:
            index._add_names(ch, run, rendition, names)


def _run(root: Path, key: str, anchor: float) -> RunInfo:
    info = RunInfo(run_id_for(anchor), key, anchor, 6, None, anchor, 600, 0.0)
    write_run_info(root, info)
    return info


def _bytes_per_segment(index: ArchiveIndex, key: str) -> float:
    ch = index._channels[key]
    return sum(t.nbytes() for t in ch.tracks.values()) / sum(len(t) for t in ch.tracks.values())


def test_a_lost_file_in_the_middle_of_a_run(tmp_path: Path) -> None:
    info = write_run(tmp_path, "ch9", T0, T0 + timedelta(minutes=10))
    video = tmp_path / "ch9" / info.run_id / "video"
    lost = next(p for p in video.iterdir() if "_000050_" in p.name)
    lost.unlink()
    index = ArchiveIndex(tmp_path)
    index.rescan()
    assert index.segment_count("ch9") == 99 and index.segment_count("ch9", "audio") == 100
    segs = list(index.iter_range("ch9", "video", _seconds(T0) + 6 * 48, _seconds(T0) + 6 * 53))
    assert [s.seq for s in segs] == [48, 49, 51, 52]
    assert all((tmp_path / s.path).exists() for s in index.iter_range("ch9", "video", 0, 2e9))
    assert index.covered_ranges("ch9") == [
        (_seconds(T0), _seconds(T0) + 300),
        (_seconds(T0) + 306, _seconds(T0) + 600),
    ]
    assert not index.holds("ch9", T0 + timedelta(seconds=300), T0 + timedelta(seconds=306))


def test_a_partial_last_segment_and_jittering_names(tmp_path: Path) -> None:
    """A stopped run's short last segment; audio durations of whole AAC frames; 1-second name clocks
    that jitter off the timeline: every name is rebuilt exactly, at a few bytes a segment."""
    info = _run(tmp_path, "ch8", _seconds(T0) + 0.4)
    n = 2000
    index = ArchiveIndex(tmp_path)
    _feed(
        index,
        info,
        _names(info, range(n), lambda s: 2_500_000 if s == n - 1 else 6_000_000, lambda s: 0),
        ["video"],
    )
    audio = _names(info, range(n), lambda s: 6_016_000 if s % 3 else 5_995_000, lambda s: (s * 7) % 3 // 2)
    _feed(index, info, audio, ["audio"])
    video = list(index.iter_range("ch8", "video", 0, 2e9))
    assert video[-1].duration == 2.5 and index.latest_end("ch8") == info.anchor + 6 * (n - 1) + 2.5
    assert index.covered_ranges("ch8") == [(info.anchor, info.anchor + 6 * (n - 1) + 2.5)]
    assert [s.name for s in index.iter_range("ch8", "audio", 0, 2e9)] == sorted(audio)
    assert _bytes_per_segment(index, "ch8") < 3


def test_out_of_order_runs_and_a_handover_overlap_keep_timeline_order(tmp_path: Path) -> None:
    later = _run(tmp_path, "ch7", _seconds(T0) + 600)
    index = ArchiveIndex(tmp_path)
    _feed(index, later, _names(later, range(100), lambda s: 6_000_000, lambda s: 0))
    history = index.history_version("ch7")
    earlier = _run(tmp_path, "ch7", _seconds(T0))  # found later (a late rescan)
    _feed(index, earlier, _names(earlier, range(100), lambda s: 6_000_000, lambda s: 0))
    assert index.history_version("ch7") > history
    # A make-before-break handover: the next run starts 20 s before the last one stopped.
    overlap = _run(tmp_path, "ch7", _seconds(T0) + 1200 - 20 + 0.25)
    _feed(index, overlap, _names(overlap, range(10), lambda s: 6_000_000, lambda s: 0))
    segs = list(index.iter_range("ch7", "video", 0, 2e9))
    assert [s.start for s in segs] == sorted(s.start for s in segs) and len(segs) == 210
    assert [s.run.run_id for s in segs[:100]] == [earlier.run_id] * 100
    assert {s.run.run_id for s in segs[-13:]} == {later.run_id, overlap.run_id}
    assert all(s.name.endswith(f"_{s.seq:06d}_6000000.m4s") for s in segs)
    assert index.run_ordinal("ch7", later.run_id) == 0 and index.run_ordinal("ch7", earlier.run_id) == 1
    assert index.covered_ranges("ch7") == [(_seconds(T0), overlap.anchor + 60)]


def test_forget_before_with_kept_ranges_leaves_holes_and_the_live_edge_grows(tmp_path: Path) -> None:
    info = _live_run(tmp_path, T0)
    _ffmpeg_writes(tmp_path, info, range(100))
    index = ArchiveIndex(tmp_path)
    index.rescan()
    t0 = _seconds(T0)
    history = index.history_version("live1")
    index.forget_before("live1", T0 + timedelta(seconds=480), kept=[(t0 + 61, t0 + 70), (t0 + 200, t0 + 240)])
    assert index.history_version("live1") > history
    held = [s.seq for s in index.iter_range("live1", "video", 0, 2e9)]
    assert held[:10] == [10, 11, 33, 34, 35, 36, 37, 38, 39, 80] and held[-1] == 99
    assert index.segment_count("live1") == len(held) == 2 + 7 + 20
    assert index.covered_ranges("live1") == [(t0 + 60, t0 + 72), (t0 + 198, t0 + 240), (t0 + 480, t0 + 600)]
    assert not index.holds("live1", T0 + timedelta(seconds=72), T0 + timedelta(seconds=198))
    index.forget_before("live1", T0 + timedelta(seconds=480), kept=[(t0 + 61, t0 + 70), (t0 + 200, t0 + 240)])
    assert index.segment_count("live1") == 29, "forgetting again what is kept changes nothing"
    _ffmpeg_writes(tmp_path, info, range(100, 103), listed=3)
    index.poll()
    assert index.latest_end("live1") == t0 + 618 and index.segment_count("live1", "audio") == 32
    assert all((tmp_path / s.path).exists() for s in index.iter_range("live1", "audio", 0, 2e9))


def test_a_week_costs_under_a_byte_a_segment(tmp_path: Path) -> None:
    """Structural bound, not a timing: what the tracks hold (stretches and their arrays) per segment."""
    info = _run(tmp_path, "ch6", _seconds(T0))
    index = ArchiveIndex(tmp_path)
    _feed(index, info, _names(info, range(7 * 14_400), lambda s: 6_000_000, lambda s: 0))
    assert index.segment_count("ch6") == 100_800
    assert _bytes_per_segment(index, "ch6") < 0.01
    # Live growth segment by segment stays in one stretch.
    live = _live_run(tmp_path, T0)
    for seq in range(0, 300, 3):
        _ffmpeg_writes(tmp_path, live, range(seq, seq + 3), listed=3)
        index.poll()
    assert index.segment_count("live1") == 300 and len(index._channels["live1"].tracks["video"].parts) == 1


class _Reference:
    """The index as it was: one flat, start-sorted list of segments per rendition."""

    def __init__(self) -> None:
        self.segs: list[tuple[float, int, str, int, str]] = []

    def add(self, info: RunInfo, names: list[str]) -> None:
        last = max((s[3] for s in self.segs if s[2] == info.run_id), default=-1)
        for name in sorted(names):
            seq, dur = int(name[16:22]), int(name[23:-4])
            if seq <= last:
                continue
            row = (info.anchor + info.segment_duration * seq, dur, info.run_id, seq, name)
            if not self.segs or row[0] >= self.segs[-1][0]:
                self.segs.append(row)
            else:
                self.segs.insert(bisect.bisect_right([s[0] for s in self.segs], row[0]), row)

    def forget(self, ts: float, kept: list[tuple[float, float]]) -> None:
        n, keep = 0, []
        while n < len(self.segs) and (end := self.segs[n][0] + self.segs[n][1] / 1e6) <= ts:
            if any(s < end and e > self.segs[n][0] for s, e in kept):
                keep.append(self.segs[n])
            n += 1
        self.segs[:n] = keep

    def ranges(self) -> list[tuple[float, float]]:
        out: list[tuple[float, float]] = []
        cur_s = cur_e = -math.inf
        for s, d, *_ in self.segs:
            e = s + d / 1e6
            if s <= cur_e + 0.5:
                cur_e = max(cur_e, e)
                continue
            if cur_e > cur_s:
                out.append((cur_s, cur_e))
            cur_s, cur_e = s, e
        if cur_e > cur_s:
            out.append((cur_s, cur_e))
        return out


@pytest.mark.parametrize("seed", range(12))
def test_random_archives_index_exactly_as_a_flat_list_would(tmp_path: Path, seed: int) -> None:
    rnd = random.Random(seed)
    index, ref = ArchiveIndex(tmp_path), _Reference()
    t = _seconds(T0)
    runs: list[tuple[RunInfo, int]] = []
    for step in range(25):
        op = rnd.random()
        if op < 0.45 or not runs:  # a new run: after the last, overlapping it, or long before
            anchor = t + rnd.choice([0, 0.3, -20.7, -3000.2, 40]) + step * 1e-3
            t = max(t, anchor)
            info = _run(tmp_path, "rnd", anchor)
            runs.append((info, 0))
        elif op < 0.85:  # a run grows: lost files, odd durations and clocks, a partial last segment
            i = rnd.randrange(len(runs))
            info, next_seq = runs[i]
            count = rnd.choice([1, 3, 70, 200])
            seqs = [s for s in range(next_seq, next_seq + count) if rnd.random() > 0.05]
            odd, jump = rnd.random(), next_seq + rnd.randrange(count)  # the clock steps forward at `jump`
            durations = [6_000_000, 6_016_000, 5_995_000, 2_000_000] if odd < 0.3 else [6_000_000]
            shifts = [0, 0, 1] if odd > 0.7 else [0]
            step_up = 200 if odd > 0.8 else 0
            dur_of = {s: rnd.choice(durations) for s in seqs}
            shift_of = {s: rnd.choice(shifts) + (step_up if s >= jump else 0) for s in seqs}
            names = _names(info, seqs, dur_of.__getitem__, shift_of.__getitem__)
            ref.add(info, names)
            _feed(index, info, names, ["video"])
            runs[i] = (info, next_seq + count)
            t = max(t, info.anchor + 6 * (next_seq + count))
        else:  # retention with recordings holding some ranges
            ref_starts = [s[0] for s in ref.segs] or [t]
            cutoff = rnd.uniform(min(ref_starts), max(ref_starts) + 10)
            kept = sorted(rnd.uniform(min(ref_starts), cutoff) for _ in range(4))
            ranges = [(kept[0], kept[1]), (kept[2], kept[3])]
            ref.forget(cutoff, ranges)
            index.forget_before("rnd", datetime.fromtimestamp(cutoff, UTC), ranges)
        got = [
            (s.start, round(s.duration * 1e6), s.run.run_id, s.seq, s.name)
            for s in index.iter_range("rnd", "video", 0, 2e9)
        ]
        assert got == ref.segs, f"step {step}"
        assert index.covered_ranges("rnd") == ref.ranges()
        assert index.segment_count("rnd") == len(ref.segs)
        assert index.latest_end("rnd") == (ref.segs[-1][0] + ref.segs[-1][1] / 1e6 if ref.segs else None)
        if ref.segs:
            lo = rnd.uniform(ref.segs[0][0] - 10, ref.segs[-1][0] + 10)
            hi = lo + rnd.uniform(0, 900)
            window = [(s.start, s.seq) for s in index.iter_range("rnd", "video", lo, hi)]
            assert window == [(s[0], s[3]) for s in ref.segs if s[0] < hi and s[0] + s[1] / 1e6 > lo]


def test_a_listing_with_a_far_off_duration_a_clock_step_and_a_bad_name(tmp_path: Path) -> None:
    info = _run(tmp_path, "ch5", _seconds(T0) + 0.7)
    names = _names(
        info, range(200), lambda s: 3_000_000 if s == 100 else 6_000_000, lambda s: 300 if s >= 150 else 0
    )
    index, ref = ArchiveIndex(tmp_path), _Reference()
    ref.add(info, names)
    _feed(index, info, [*names, "20261120T126000_000999_6000000.m4s"], ["video"])  # minute 60: no time
    got = [
        (s.start, round(s.duration * 1e6), s.run.run_id, s.seq, s.name)
        for s in index.iter_range("ch5", "video", 0, 2e9)
    ]
    assert got == ref.segs and len(got) == 200
    assert index.covered_ranges("ch5") == ref.ranges() and len(ref.ranges()) == 2
    assert len(index._channels["ch5"].tracks["video"].parts) <= 4
