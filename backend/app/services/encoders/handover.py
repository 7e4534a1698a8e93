"""Make-before-break handover between two runs of a channel's encoder (operator restart, key rotation).

The new run is started while the old one keeps encoding. Its anchor A (the programme-date-time of its
first kept frame) is a segment boundary in the future, so the old run can still complete the segment
that ends at A; only then is it stopped. As it stops, FFmpeg writes a partial "tail" segment starting
at A, which the playlists drop in favour of the new run (`manifest_generator.select_segments`): the
archive has no gap and the playlists no repeat. This module decides *when* the old encoder may be
stopped; the manager stops it and keeps the books.

Measured with the bundled FFmpeg (n9.0.2): `-re` reads ahead of the wall clock, so the segments
ending at A are listed about 0.5 s before A, and a TERM right then leaves a tail of about 0.5 s. The
old encoder is stopped no earlier than A + TAIL_MIN_S, which makes the tail about 1.5 s.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from app.services.archive import archive_layout as layout

POLL_S = 0.25
# The old run is late if the segment ending at A is not there one segment and this long after A:
# stop it anyway (the archive then has a gap, as after a crash).
GIVE_UP_AFTER_S = 2.0
# Never stop the old run before A + this (wall clock): its tail from A is then comfortably longer than
# the playlists' 0.25 s overlap tolerance, so `select_segments` recognises and drops it.
TAIL_MIN_S = 0.5


def boundary_seq(old_anchor: float, segment_duration: int, successor_anchor: float) -> int:
    """Seq of the old run's segment that ends at the successor's anchor (old_anchor + (seq + 1) * D = A).

    -1 when the old run has no frame before A (restarted again before its own anchor).
    """
    return max(-1, round((successor_anchor - old_anchor) / segment_duration) - 1)


def last_listed_seq(rendition_dir: Path) -> int:
    """Highest segment seq in FFmpeg's own short playlist of a rendition (-1: none yet).

    FFmpeg lists a segment only once it is complete and renamed into place; reading this small file
    is cheap however long the run (listing the directory is not).
    """
    try:
        text = (rendition_dir / layout.PLAYLIST_NAME).read_text()
    except OSError:
        return -1
    best = -1
    for line in text.splitlines():
        seg = layout.parse_segment_name(line.strip())
        if seg is not None:
            best = max(best, seg.seq)
    return best


def boundary_written(run_dir: Path, seq: int, renditions: tuple[str, ...] = layout.RENDITIONS) -> bool:
    """Every rendition of the run (each ladder rung and audio) holds segment `seq` (or later)."""
    return all(last_listed_seq(run_dir / r) >= seq for r in renditions)


async def wait_for_handover_point(
    proc: asyncio.subprocess.Process,
    run: layout.RunInfo,
    run_dir: Path,
    successor_anchor: float,
    stop: asyncio.Event,
    clock: Callable[[], float] = time.time,
) -> str:
    """Wait until the outgoing encoder `proc` (writing `run` into `run_dir`) may be stopped.

    Returns why: "boundary" (its video and audio segments ending at `successor_anchor` are written),
    "late" (they were not by A + D + GIVE_UP_AFTER_S), "nothing_to_finish" (its own anchor is not
    before A: it is still in its pre-roll and everything it would write the new run writes too),
    "exited" (the process ended by itself) or "stopped" (`stop` was set: stop at once).
    """
    target = boundary_seq(run.anchor, run.segment_duration, successor_anchor)
    if target < 0:
        return "nothing_to_finish"
    give_up_at = successor_anchor + run.segment_duration + GIVE_UP_AFTER_S
    not_before = successor_anchor + TAIL_MIN_S
    exited = asyncio.ensure_future(proc.wait())
    stopped = asyncio.ensure_future(stop.wait())
    try:
        written = False
        while True:
            now = clock()
            written = written or boundary_written(run_dir, target, run.renditions)
            if (written and now >= not_before) or now >= give_up_at:
                return "boundary" if written else "late"
            pause = POLL_S if not written else not_before - now
            await asyncio.wait(
                {exited, stopped}, timeout=min(pause, give_up_at - now), return_when=asyncio.FIRST_COMPLETED
            )
            if exited.done():
                return "exited"
            if stopped.done():
                return "stopped"
    finally:
        for fut in (exited, stopped):
            if not fut.done():
                fut.cancel()
