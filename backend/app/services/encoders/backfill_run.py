"""One backfilled run: encoded by FFmpeg (niced, faster than real time) into a hidden directory
next to the channel's runs, its segments renamed to the live encoder's names, then moved into place
(app/services/encoders/backfill.py plans which runs to write)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from app.config import Settings
from app.errors import ApiError
from app.ladder import Rung
from app.services.archive import archive_layout as layout
from app.services.archive.child_processes import die_with_parent_niced, ffmpeg_exe, follow_progress
from app.services.encoders.rekey_watcher import RekeyWatcher
from app.services.encoders.run_plan import ffmpeg_args, write_playouts
from app.services.encoders.sources import tail
from app.services.encoders.staging import StagedRun, make_staging, staging_dir

log = logging.getLogger("tstv.backfill")

TMP_PREFIX = ".backfill-"
REKEY_WAIT_S = 300.0  # after FFmpeg ended: far more than re-keying what it wrote last takes
LOG_NAME = "backfill.log"

Range = tuple[float, float]
ProgressFn = Callable[[float], None]


def _wall_name(ts: float) -> str:
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime(ts))


def _name_segments(rdir: Path, info: layout.RunInfo) -> dict[str, int]:
    """Rename FFmpeg's wall-clock segment names after their timeline start; rewrite FFmpeg's short
    playlists to match. Empty segments (duration 0) are dropped. Returns segments per rendition."""
    counts: dict[str, int] = {}
    for rendition in info.renditions:
        folder = rdir / rendition
        renamed: dict[str, str] = {}
        n = 0
        for name in sorted(os.listdir(folder)):
            seg = layout.parse_segment_name(name)
            if seg is None:
                continue
            if seg.duration_us == 0:
                (folder / name).unlink()
                continue
            start = info.anchor + seg.seq * info.segment_duration
            new = f"{_wall_name(start)}_{seg.seq:06d}_{seg.duration_us}.m4s"
            if new != name:
                os.rename(folder / name, folder / new)
            renamed[name] = new
            n += 1
        counts[rendition] = n
        playlist = folder / layout.PLAYLIST_NAME
        with contextlib.suppress(FileNotFoundError):
            lines = playlist.read_text().splitlines()
            playlist.write_text("\n".join(renamed.get(ln, ln) for ln in lines) + "\n")
    return counts


def _unique_run_id(cdir: Path, anchor: float) -> str:
    """Named after its anchor, so the channel's runs sort by time (the index numbers them so)."""
    ms = round(anchor * 1000)
    while (cdir / layout.run_id_for(ms / 1000)).exists() or any(
        e.name.startswith(f"{TMP_PREFIX}{layout.run_id_for(ms / 1000)}") for e in os.scandir(cdir)
    ):
        ms += 1
    return layout.run_id_for(ms / 1000)


@dataclass(frozen=True)
class RunSource:
    """What a run plays: per rung the conformed file, the loop it repeats and where the run starts."""

    files: list[tuple[Rung, Path]]
    loop_seconds: int
    offset_at: Callable[[float], int]  # loop position at an anchor


async def write_run(
    settings: Settings,
    channel_key: str,
    fill: Range,
    src: RunSource,
    kid_hex: str | None,
    key_hex: str | None,
    progress: ProgressFn | None,
) -> tuple[Path, Range]:
    root = Path(settings.hls_segment_dir)
    cdir = layout.channel_dir(root, channel_key)
    cdir.mkdir(parents=True, exist_ok=True)
    d = settings.hls_segment_duration
    anchor, stop = fill
    offset = src.offset_at(anchor)
    run_id = _unique_run_id(cdir, anchor)
    info = layout.RunInfo(
        run_id=run_id,
        channel_key=channel_key,
        anchor=anchor,
        segment_duration=d,
        kid=kid_hex,
        started_at=time.time(),
        loop_seconds=src.loop_seconds,
        loop_offset=float(offset),
        source=src.files[0][1].name,
        rungs=layout.run_rungs([(r.name, r.width, r.height, r.bitrate) for r, _ in src.files]),
        backfilled=True,
    )
    tmp = cdir / f"{TMP_PREFIX}{run_id}.{os.getpid()}"
    for r in info.renditions:
        (tmp / r).mkdir(parents=True, exist_ok=True)
    (tmp / layout.RUN_FILE).write_text(info.to_json())
    key = bytes.fromhex(key_hex) if key_hex and kid_hex else None
    try:
        playlists = write_playouts(tmp, info, [p for _, p in src.files], src.loop_seconds, offset)
        # Encrypting: FFmpeg writes to a private staging folder, re-keyed into `tmp` meanwhile.
        out_dir = make_staging(tmp, info.renditions) if key is not None else tmp
        args = ffmpeg_args(
            ffmpeg_exe(settings), d, playlists, out_dir, kid_hex, 0, info.video_renditions, realtime=False
        )
        at = next(i for i in range(len(args) - 1) if args[i] == "-f" and args[i + 1] == "hls")
        args[at:at] = ["-t", str(round(stop - anchor))]
        args[1:1] = ["-progress", "pipe:1"]
        what = f"backfill {run_id} anchor {anchor} until {stop} offset {offset} kid {kid_hex}"
        await _encode_and_rekey(
            args, cdir / LOG_NAME, what, stop - anchor, progress, channel_key, tmp, info, key
        )
        counts = await asyncio.to_thread(_name_segments, tmp, info)
        video = counts.get(layout.BASE_VIDEO, 0)
        if video == 0 or any(counts[r] != video for r in info.video_renditions):
            raise ApiError(500, "backfill_failed", reason=f"uneven renditions {counts}")
        final = layout.run_dir(root, channel_key, run_id)
        os.rename(tmp, final)
    finally:
        await asyncio.to_thread(shutil.rmtree, tmp, True)
    written_end = min(stop, anchor + video * d)
    return final, (anchor, written_end)


async def _encode_and_rekey(
    args: list[str],
    logpath: Path,
    what: str,
    seconds: float,
    progress: ProgressFn | None,
    channel_key: str,
    tmp: Path,
    info: layout.RunInfo,
    key: bytes | None,
) -> None:
    """Encode, re-keying finished segments while FFmpeg goes on (the other core); the run counts as
    written only once every segment is re-keyed and the staging folder is gone."""
    if key is None:
        await _encode(args, logpath, what, seconds, progress, channel_key)
        return
    ended = threading.Event()
    watcher = RekeyWatcher(StagedRun(tmp, info.renditions, key), ended.is_set).start()
    try:
        await _encode(args, logpath, what, seconds, progress, channel_key)
    finally:
        ended.set()
        await watcher.finished(REKEY_WAIT_S)
    if staging_dir(tmp).exists():
        error = watcher.error or "staged segments left"
        raise ApiError(500, "backfill_failed", reason=f"re-keying failed: {error}")


async def _encode(
    args: list[str], logpath: Path, what: str, seconds: float, progress: ProgressFn | None, channel_key: str
) -> None:
    """Run a backfill's FFmpeg (niced), its stderr appended to the channel's encoder log."""
    with logpath.open("ab") as logf:
        logf.write(f"--- {datetime.now(UTC).isoformat()} {what}\n".encode())
        logf.flush()
        proc = await asyncio.create_subprocess_exec(
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=logf,
            env={**os.environ, "TZ": "UTC"},
            preexec_fn=die_with_parent_niced,
        )
        try:
            await follow_progress(
                proc, seconds, progress, log, "backfill: progress", {"channel": channel_key}
            )
            rc = await proc.wait()
        finally:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
    if rc != 0:
        raise ApiError(500, "backfill_failed", reason=f"ffmpeg exited {rc}: {tail(logpath)}")
