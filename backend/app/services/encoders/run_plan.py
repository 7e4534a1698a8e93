"""When and how an encoder run starts, computed without processes or clocks of its own.

A run's first kept frame leaves exactly on a segment boundary (`anchor`, a multiple of the segment
duration since the Unix epoch) and shows the loop position the EPG dictates for that instant
(`loop_offset_for`). FFmpeg is spawned on the whole second before (`spawn_at`) and reads the
`preroll` seconds in between in real time, discarding them (output `-ss`), so the pid exists at once
and the first frame still leaves on time. `ffmpeg_args` is the command line of a run (and of a
backfill, `realtime=False`); `write_playouts` writes the playout lists it reads (`playout_list`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from app.domain.schedule import SCHEDULE_EPOCH
from app.services.archive import archive_layout as layout
from app.services.archive.cenc_rekey import PLACEHOLDER_KEY_HEX

SPAWN_LEAD = 0.1  # start FFmpeg this long before its whole second (process start-up)
PLAYOUT_FILE = "playout.ffconcat"


@dataclass(frozen=True)
class RunPlan:
    spawn_at: int  # the whole second FFmpeg is spawned at (epoch seconds)
    anchor: int  # the first kept frame: a segment boundary
    preroll: int  # seconds read and dropped between spawn and anchor
    loop_offset: int  # where in the loop the EPG is at the anchor
    playout_start: int  # where in the loop the playout list starts (preroll included)


def loop_offset_for(anchor: float, loop_seconds: int) -> int:
    """Where in the loop the EPG is at `anchor` (programme k starts at SCHEDULE_EPOCH + k * loop)."""
    return round(anchor - SCHEDULE_EPOCH.timestamp()) % loop_seconds


def next_anchor(now: float, segment_duration: int) -> int:
    return math.ceil(now / segment_duration) * segment_duration


def plan_run(now: float, segment_duration: int, loop_seconds: int) -> RunPlan:
    """The run that starts as soon as possible after `now`."""
    spawn_at = math.ceil(now + SPAWN_LEAD)
    anchor = next_anchor(spawn_at, segment_duration)
    preroll = anchor - spawn_at
    offset = loop_offset_for(anchor, loop_seconds)
    return RunPlan(spawn_at, anchor, preroll, offset, (offset - preroll) % loop_seconds)


def playout_list(source: Path, loop_seconds: int, loop_offset: int, horizon_seconds: int = 8 * 86400) -> str:
    """An ffconcat list that starts `loop_offset` into the loop and then repeats it whole.

    (`-ss X -stream_loop -1` would loop back to X, not to 0, and break the EPG; verified.)
    """
    path = str(source).replace("'", "'\\''")
    lines = ["ffconcat version 1.0"]
    if loop_offset:
        lines += [f"file '{path}'", f"inpoint {loop_offset}", f"duration {loop_seconds - loop_offset}"]
    repeats = min(50_000, horizon_seconds // loop_seconds + 1)
    for _ in range(repeats):
        lines += [f"file '{path}'", f"duration {loop_seconds}"]
    return "\n".join(lines) + "\n"


def playout_path(rdir: Path, rendition: str) -> Path:
    """`playout.ffconcat` for the base rung (as before the ladder), `playout_{rung}.ffconcat` above."""
    suffix = "" if rendition == layout.BASE_VIDEO else rendition[len(layout.BASE_VIDEO) :]
    return rdir / PLAYOUT_FILE.replace(".ffconcat", f"{suffix}.ffconcat")


def write_playouts(
    rdir: Path, info: layout.RunInfo, sources: Sequence[Path], loop_seconds: int, start: int
) -> list[Path]:
    """One playout list per video rendition of the run, each starting `start` into its rung's source."""
    out = []
    for rendition, source in zip(info.video_renditions, sources, strict=True):
        path = playout_path(rdir, rendition)
        path.write_text(playout_list(source, loop_seconds, start))
        out.append(path)
    return out


def ffmpeg_args(
    ffmpeg: str,
    segment_duration: int,
    playlists: Sequence[Path],
    out_dir: Path,
    kid_hex: str | None,
    preroll: int = 0,
    renditions: Sequence[str] = (layout.BASE_VIDEO,),
    realtime: bool = True,
) -> list[str]:
    """One FFmpeg for every rung: input i is rung i's playout list (identical timelines, key
    frames at the same instants), each stream-copied to its own video rendition, plus the base
    input's audio. Audio is the second variant stream (init_1.mp4), as before the ladder.
    `realtime=False` (backfill) reads the inputs as fast as they come.

    With a KID, FFmpeg encrypts with the public placeholder key and that (real, not secret) KID:
    the content key is never on a command line, where any local user could read it in /proc.
    `out_dir` is then the run's private staging folder (app/services/encoders/staging.py), from
    which the segments are re-keyed into the archive (app/services/archive/cenc_rekey.py)."""
    d = segment_duration
    args = [ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "warning"]
    for playlist in playlists:
        args += ["-re"] if realtime else []
        args += ["-f", "concat", "-safe", "0", "-i", str(playlist)]
    for i in range(len(playlists)):
        args += ["-map", f"{i}:v:0"]
    args += ["-map", "0:a:0", "-c", "copy"]
    if preroll:
        args += ["-ss", str(preroll)]  # output option: read in real time, then dropped
    args += ["-f", "hls", "-hls_time", str(d), "-hls_list_size", "10", "-hls_segment_type", "fmp4"]
    args += ["-hls_flags", "second_level_segment_duration+second_level_segment_index+temp_file"]
    streams = [f"v:0,name:{renditions[0]}", f"a:0,name:{layout.AUDIO}"]
    streams += [f"v:{i},name:{r}" for i, r in enumerate(renditions[1:], start=1)]
    args += ["-strftime", "1", "-var_stream_map", " ".join(streams)]
    args += ["-hls_fmp4_init_filename", "init.mp4"]
    if kid_hex:
        # Not the content key: FFmpeg n9 takes a muxer's options only on its command line (its
        # `-/option` files and `-fpre` presets do not reach the HLS muxer; docs/MEDIA.md, M18).
        args += [
            "-hls_segment_options",
            f"encryption_scheme=cenc-aes-ctr:encryption_key={PLACEHOLDER_KEY_HEX}:encryption_kid={kid_hex}",
        ]
    args += ["-hls_segment_filename", f"{out_dir}/%v/{layout.FFMPEG_SEGMENT_PATTERN}"]
    args += [f"{out_dir}/%v/{layout.PLAYLIST_NAME}"]
    return args
