"""Synthetic archives: runs laid out exactly as the SimLive encoders write them (see
app/services/archive/archive_layout.py), with empty (or `segment_bytes` long) segment files, for
tests and benchmarks that need "recorded" programmes without running FFmpeg."""

from __future__ import annotations

import math
import os
import secrets
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from app.models import Channel, DrmKey, ScheduleEntry
from app.services.archive.archive_layout import (
    INIT_NAMES,
    PLAYLIST_NAME,
    RENDITIONS,
    RunInfo,
    run_dir,
    run_id_for,
    write_run_info,
)


def days_ago(days: int, hour: int) -> datetime:
    """`hour`:00 UTC, `days` days ago: inside the seeded schedule and, for a morning hour, far from
    midnight (so a programme's day is unambiguous)."""
    return (datetime.now(UTC) - timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)


def write_run(
    root: Path,
    channel_key: str,
    start: datetime,
    end: datetime,
    *,
    segment_duration: int = 6,
    renditions: tuple[str, ...] = RENDITIONS,
    loop_seconds: int = 600,
    kid: str | None = None,
    started_at: float | None = None,
    segment_bytes: int = 0,
) -> RunInfo:
    """Write one encoder run covering [start, end) (rounded up to whole segments): run.json, the
    init segments and one media segment per slot (empty, or `segment_bytes` of zeros that take
    disk space), for each rendition. Idempotent."""
    anchor = start.timestamp()
    info = RunInfo(
        run_id=run_id_for(started_at if started_at is not None else anchor),
        channel_key=channel_key,
        anchor=anchor,
        segment_duration=segment_duration,
        kid=kid,
        started_at=started_at if started_at is not None else anchor,
        loop_seconds=loop_seconds,
        loop_offset=0.0,
    )
    run_path = write_run_info(root, info)
    count = max(1, math.ceil((end.timestamp() - anchor) / segment_duration))
    for rendition in renditions:
        (run_path / rendition / INIT_NAMES[rendition]).touch()
        _touch_segments(info, run_path / rendition, range(count), segment_bytes)
    return info


def _touch_segments(info: RunInfo, rendition_dir: Path, seqs: range, size: int = 0) -> list[str]:
    dur_us = info.segment_duration * 1_000_000
    names = []
    for seq in seqs:
        wall = time.strftime("%Y%m%dT%H%M%S", time.gmtime(info.anchor + seq * info.segment_duration))
        names.append(name := f"{wall}_{seq:06d}_{dur_us}.m4s")
        fd = os.open(rendition_dir / name, os.O_CREAT | os.O_WRONLY, 0o644)
        try:
            if size:
                os.write(fd, bytes(size))
        finally:
            os.close(fd)
    return names


def append_segments(
    root: Path, info: RunInfo, next_seq: int, until: float, renditions: tuple[str, ...] = RENDITIONS
) -> int:
    """Grow a run as its encoder would: segments `next_seq`, ... that end by `until` (epoch
    seconds), announced in FFmpeg's short playlist (what the index tails). Returns the next seq."""
    path = run_dir(root, info.channel_key, info.run_id)
    count = math.floor((until - info.anchor) / info.segment_duration)
    for rendition in renditions:
        names = _touch_segments(info, path / rendition, range(next_seq, count))
        if names:
            tmp = path / rendition / f".{PLAYLIST_NAME}.tmp"
            lines = "".join(f"#EXTINF:{info.segment_duration},\n{n}\n" for n in names[-5:])
            tmp.write_text("#EXTM3U\n" + lines)
            tmp.replace(path / rendition / PLAYLIST_NAME)
    return max(next_seq, count)


def index_channel(archive: Any, channel_key: str) -> None:
    """Make the app's archive index pick up what was written for a channel."""
    archive.rescan_channel(channel_key)


async def create_recorded_channel(
    app: Any,
    first_start: datetime,
    programme_seconds: int,
    count: int,
    *,
    recorded: tuple[int, int] | None = None,
    partial_seconds: int | None = None,
    genre: str = "Test",
    keyed: bool = False,
    **channel_fields: Any,
) -> tuple[Channel, list[ScheduleEntry]]:
    """A private TSTV channel (random key, so tests don't meet each other's data) with `count`
    back-to-back programmes from `first_start`; programmes `recorded[0]..recorded[1]-1` are in the
    archive (a synthetic run written to HLS_SEGMENT_DIR and indexed; with `partial_seconds`, one
    short run per programme holding only its first seconds, which is enough to be "recorded"). With
    `keyed`, the runs are under a content key of the KMS (the channel's active key), so licences of
    playbacks of them are given."""
    key = "c" + secrets.token_hex(4)
    async with app.state.db.sessionmaker() as session:
        channel = Channel(
            name=f"Catalogue {key}",
            number=2_000_000 + secrets.randbelow(1_000_000),
            cdn_channel_key=key,
            loop_seconds=programme_seconds,
            **channel_fields,
        )
        session.add(channel)
        await session.flush()
        entries = [
            ScheduleEntry(
                id=uuid.uuid4(),
                channel_id=channel.id,
                title=f"Show {i}",
                genre=genre,
                series_title="Northern Lights" if i % 2 else None,
                episode_number=i if i % 2 else None,
                start_time=first_start + timedelta(seconds=i * programme_seconds),
                end_time=first_start + timedelta(seconds=(i + 1) * programme_seconds),
            )
            for i in range(count)
        ]
        session.add_all(entries)
        kid = None
        if keyed:
            content_key = DrmKey(
                key_id=uuid.uuid4(),
                key_value=os.urandom(16),
                channel_id=channel.id,
                active=True,
                created_at=datetime.now(UTC),
            )
            session.add(content_key)
            kid = content_key.key_id.hex
        await session.commit()
    if recorded is not None:
        lo, hi = recorded
        spans = (
            [(entries[lo].start_time, entries[hi - 1].end_time)]
            if partial_seconds is None
            else [(e.start_time, e.start_time + timedelta(seconds=partial_seconds)) for e in entries[lo:hi]]
        )
        for start, end in spans:
            write_run(
                app.state.settings.hls_segment_dir,
                key,
                start,
                end,
                segment_duration=app.state.settings.hls_segment_duration,
                loop_seconds=programme_seconds,
                kid=kid,
            )
        index_channel(app.state.archive, key)
    return channel, entries
