"""The in-process segment index on its own: building, tailing FFmpeg's playlists, ranges, retention."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.services.archive_index import ArchiveIndex
from app.services.archive_layout import PLAYLIST_NAME, RENDITIONS, RunInfo, run_id_for, write_run_info
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
