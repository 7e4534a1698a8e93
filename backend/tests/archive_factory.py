"""Writes synthetic archive runs in the real on-disk layout (app.services.archive_layout).

Tests and benchmarks use it to give the real index a recorded past without waiting for FFmpeg:
segment files are empty, names and run metadata are exactly what the encoders write.
"""

from __future__ import annotations

import os
import secrets
import time
from datetime import UTC, datetime
from pathlib import Path

from app.services.archive_layout import INIT_NAMES, RENDITIONS, RunInfo, run_id_for, write_run_info


def write_synthetic_run(
    root: Path,
    channel_key: str,
    start: datetime,
    end: datetime,
    *,
    segment_duration: int = 6,
    kid: str | None = None,
    started_at: float | None = None,
    loop_seconds: int = 600,
) -> RunInfo:
    """A run whose segments cover [start, end) (start should sit on a segment boundary)."""
    anchor = start.timestamp()
    count = int((end - start).total_seconds() // segment_duration)
    info = RunInfo(
        run_id=run_id_for(started_at if started_at is not None else anchor),
        channel_key=channel_key,
        anchor=anchor,
        segment_duration=segment_duration,
        kid=kid if kid is not None else secrets.token_hex(16),
        started_at=started_at if started_at is not None else anchor,
        loop_seconds=loop_seconds,
        loop_offset=0.0,
    )
    run_path = write_run_info(root, info)
    dur_us = segment_duration * 1_000_000
    for rendition in RENDITIONS:
        folder = run_path / rendition
        (folder / INIT_NAMES[rendition]).write_bytes(b"")
        for seq in range(count):
            wall = time.strftime("%Y%m%dT%H%M%S", time.gmtime(anchor + seq * segment_duration))
            fd = os.open(folder / f"{wall}_{seq:06d}_{dur_us}.m4s", os.O_CREAT | os.O_WRONLY, 0o644)
            os.close(fd)
    return info


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]
