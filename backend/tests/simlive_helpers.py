"""Helpers for the tests that run real SimLive encoders: short test channels, polling, decoding."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import httpx
from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.domain.schedule import SCHEDULE_EPOCH
from app.models import Channel, ScheduleEntry
from app.services.archive import archive_layout as layout
from app.services.encoders.sources import GEN_HEIGHT, GEN_WIDTH, decode_marker

T = TypeVar("T")


async def add_channel(
    sessionmaker: async_sessionmaker[AsyncSession],
    key: str,
    number: int,
    loop_seconds: int = 30,
    **extra: Any,
) -> uuid.UUID:
    async with sessionmaker() as session:
        ch = Channel(
            name=f"Test {key}",
            number=number,
            cdn_channel_key=key,
            loop_seconds=loop_seconds,
            genre="Test",
            **extra,
        )
        session.add(ch)
        await session.commit()
        return ch.id


@dataclass(frozen=True)
class Programme:
    id: uuid.UUID
    start: float  # epoch seconds
    end: float


async def add_programmes(
    sessionmaker: async_sessionmaker[AsyncSession],
    channel_id: uuid.UUID,
    loop_seconds: int,
    around: float,
    minutes: int = 30,
) -> list[Programme]:
    """Programmes of `loop_seconds` each, aligned on the schedule epoch like the seed (programme k
    starts at SCHEDULE_EPOCH + k * loop), from a minute before `around` for `minutes`."""
    first = int(around - 60 - SCHEDULE_EPOCH.timestamp()) // loop_seconds
    epoch = SCHEDULE_EPOCH.timestamp()
    programmes = [
        Programme(uuid.uuid4(), epoch + k * loop_seconds, epoch + (k + 1) * loop_seconds)
        for k in range(first, first + minutes * 60 // loop_seconds)
    ]
    async with sessionmaker() as session:
        await session.execute(
            insert(ScheduleEntry),
            [
                {
                    "id": p.id,
                    "channel_id": channel_id,
                    "title": f"Short programme {p.start - epoch:.0f}",
                    "genre": "Test",
                    "start_time": SCHEDULE_EPOCH + timedelta(seconds=p.start - epoch),
                    "end_time": SCHEDULE_EPOCH + timedelta(seconds=p.end - epoch),
                    "catchup_eligible": True,
                    "startover_eligible": True,
                }
                for p in programmes
            ],
        )
        await session.commit()
    return programmes


async def sleep_until(ts: float) -> None:
    """Wait for a wall-clock instant (programme times are wall-clock times)."""
    await asyncio.sleep(max(0.0, ts - time.time()))


async def remove_channels(sessionmaker: async_sessionmaker[AsyncSession], keys: list[str]) -> None:
    async with sessionmaker() as session:
        await session.execute(delete(Channel).where(Channel.cdn_channel_key.in_(keys)))
        await session.commit()


async def poll(fn: Callable[[], Awaitable[T | None]], within: float, what: str, every: float = 0.25) -> T:
    """Call `fn` until it returns something truthy; fail after `within` seconds."""
    deadline = time.monotonic() + within
    last: T | None = None
    while time.monotonic() < deadline:
        last = await fn()
        if last:
            return last
        await asyncio.sleep(every)
    raise AssertionError(f"timed out after {within} s waiting for {what} (last: {last!r})")


async def status_of(client: httpx.AsyncClient, headers: dict[str, str], key: str) -> dict[str, Any]:
    r = await client.get("/api/v1/admin/simlive/status", headers=headers)
    assert r.status_code == 200, r.text
    rows = [c for c in r.json()["channels"] if c["channel_key"] == key]
    assert rows, f"{key} not in status"
    row: dict[str, Any] = rows[0]
    return row


def segments(run_dir: Path, rendition: str) -> list[Path]:
    out = [p for p in (run_dir / rendition).iterdir() if layout.parse_segment_name(p.name)]
    return sorted(out, key=lambda p: layout.parse_segment_name(p.name).seq)  # type: ignore[union-attr]


def pid_alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def decode(
    ffmpeg: str, init: Path, segment: Path, key_hex: str | None, tmp: Path, video: bool = True
) -> subprocess.CompletedProcess[bytes]:
    """Decode init + segment (optionally with the CENC key); video comes out as raw grey frames."""
    joined = tmp / f"joined-{segment.parent.name}-{segment.name}.mp4"
    joined.write_bytes(init.read_bytes() + segment.read_bytes())
    args = [ffmpeg, "-v", "error", "-nostdin"]
    if key_hex:
        args += ["-decryption_key", key_hex]
    args += ["-i", str(joined)]
    if video:
        args += ["-f", "rawvideo", "-pix_fmt", "gray", "-"]
    else:
        args += ["-f", "s16le", "-"]
    return subprocess.run(args, capture_output=True, timeout=60, check=False)


def first_frame_marker(raw: bytes) -> int:
    assert len(raw) >= GEN_WIDTH * GEN_HEIGHT, "no frame decoded"
    return decode_marker(raw[: GEN_WIDTH * GEN_HEIGHT])


def frame_count(raw: bytes) -> int:
    return len(raw) // (GEN_WIDTH * GEN_HEIGHT)


class FFmpegProcess(NamedTuple):
    pid: int
    parent: int
    cmd: str


def ffmpeg_processes(under: Path) -> list[FFmpegProcess]:
    """Live (not zombie) FFmpeg processes whose command line names a path under `under`, from
    /proc (state and parent pid from the one `stat` line)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ")"
            state, ppid = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[:2]
        except (OSError, ValueError):  # gone meanwhile, or a stat line cut short
            continue
        if "ffmpeg" in cmd and f"{under}/" in cmd and state != "Z":
            found.append(FFmpegProcess(int(entry), int(ppid), cmd))
    return found
