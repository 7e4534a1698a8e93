"""The encoder's run planner without processes: anchor, pre-roll, loop offset, FFmpeg arguments."""

from __future__ import annotations

from pathlib import Path

from app.domain.schedule import SCHEDULE_EPOCH
from app.services.archive import archive_layout as layout
from app.services.archive.cenc_rekey import PLACEHOLDER_KEY_HEX
from app.services.encoders.run_plan import (
    ffmpeg_args,
    loop_offset_for,
    next_anchor,
    plan_run,
    playout_path,
)

EPOCH = SCHEDULE_EPOCH.timestamp()  # a multiple of every segment duration


def test_a_run_starts_on_the_next_segment_boundary_after_its_whole_second() -> None:
    plan = plan_run(EPOCH + 100.5, segment_duration=6, loop_seconds=30)
    assert plan.spawn_at == EPOCH + 101
    assert plan.anchor == EPOCH + 102 and plan.anchor % 6 == 0
    assert plan.preroll == 1
    assert plan.loop_offset == 102 % 30
    assert plan.playout_start == (102 - 1) % 30


def test_the_spawn_lead_moves_a_run_to_the_next_second_when_too_close() -> None:
    assert plan_run(EPOCH + 100.95, 6, 30).spawn_at == EPOCH + 102  # 0.05 s is too short to spawn
    on_boundary = plan_run(EPOCH + 101.5, 6, 30)
    assert on_boundary.anchor == on_boundary.spawn_at == EPOCH + 102 and on_boundary.preroll == 0


def test_the_loop_offset_follows_the_schedule_and_wraps() -> None:
    assert loop_offset_for(EPOCH, 30) == 0
    assert loop_offset_for(EPOCH + 3 * 30 + 7, 30) == 7
    assert loop_offset_for(EPOCH - 5, 30) == 25
    assert next_anchor(EPOCH + 6, 6) == EPOCH + 6 and next_anchor(EPOCH + 6.01, 6) == EPOCH + 12


def test_playout_lists_are_named_per_rung() -> None:
    rdir = Path("/a/run")
    assert playout_path(rdir, layout.BASE_VIDEO) == rdir / "playout.ffconcat"
    assert playout_path(rdir, "video_720p") == rdir / "playout_720p.ffconcat"


def test_ffmpeg_arguments_of_a_live_encrypted_two_rung_run() -> None:
    rdir = Path("/archive/ch/r1")
    playlists = [Path("/archive/ch/r1/playout.ffconcat"), Path("/archive/ch/r1/playout_720p.ffconcat")]
    stage = rdir / ".staging"
    args = ffmpeg_args("ffmpeg", 6, playlists, stage, "bb" * 16, 2, ("video", "video_720p"))
    assert args[0] == "ffmpeg" and args.count("-re") == 2
    assert args[args.index("-ss") + 1] == "2"
    assert args[args.index("-hls_time") + 1] == "6"
    assert args[args.index("-var_stream_map") + 1] == "v:0,name:video a:0,name:audio v:1,name:video_720p"
    options = args[args.index("-hls_segment_options") + 1]
    # The public placeholder key and the real KID: no content key on the command line.
    assert f"encryption_key={PLACEHOLDER_KEY_HEX}" in options and f"encryption_kid={'bb' * 16}" in options
    assert args[-1] == f"{stage}/%v/{layout.PLAYLIST_NAME}"


def test_ffmpeg_arguments_of_a_clear_backfill() -> None:
    args = ffmpeg_args("ffmpeg", 6, [Path("p.ffconcat")], Path("/r"), None, realtime=False)
    assert "-re" not in args and "-ss" not in args and "-hls_segment_options" not in args
