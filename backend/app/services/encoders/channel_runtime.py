"""One channel's encoder while it is wanted: its state between runs, and what a run being replaced
needs until its handover point (`app/services/encoders/handover.py`)."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from app.services.archive import archive_layout as layout
from app.services.encoders.encoder_status import ChannelEncoderStatus
from app.services.encoders.rekey_watcher import RekeyWatcher
from app.services.encoders.segment_counters import Counters

log = logging.getLogger("tstv.simlive")


async def settle(task: asyncio.Task[Any] | None, what: str, channel_key: str) -> None:
    """Wait for a finishing task; its own cancellation or failure is logged, never raised here."""
    if task is None:
        return
    try:
        await task
    except asyncio.CancelledError:
        if not task.cancelled():
            raise  # we were cancelled ourselves
    except Exception:
        log.exception(f"{what} failed", extra={"channel": channel_key})


@dataclass(eq=False)
class RetiringRun:
    """An encoder being replaced: it runs on until its handover point, then is stopped."""

    proc: asyncio.subprocess.Process
    run: layout.RunInfo
    task: asyncio.Task[None] | None = None  # the handover; None until the successor is spawned


class _Replace:
    """What `_watch` returns when an operator asked for the encoder to be replaced."""


REPLACE = _Replace()


@dataclass
class ChannelRuntime:
    key: str
    name: str
    loop_seconds: int
    wanted: bool = False
    state: str = "stopped"  # stopped | starting | running | error
    proc: asyncio.subprocess.Process | None = None
    run: layout.RunInfo | None = None
    started_mono: float | None = None
    started_at: float | None = None
    restarts: int = 0
    last_error: str | None = None
    last_exit_code: int | None = None
    task: asyncio.Task[None] | None = None
    stop_event: asyncio.Event = field(default_factory=asyncio.Event)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    source: str | None = None
    source_progress: float | None = None
    counters: Counters = field(default_factory=Counters)
    last_segment_mono: float | None = None
    # Make-before-break restarts: the request, its outcome (resolved when the new run is spawned)
    # and the runs being replaced.
    replace_event: asyncio.Event = field(default_factory=asyncio.Event)
    replacement: asyncio.Future[None] | None = None
    retiring: list[RetiringRun] = field(default_factory=list)
    # Preparing the upper ladder rungs this channel started without, to join them (`_join_rungs`).
    join_task: asyncio.Task[None] | None = None
    # The re-keying watcher of each run whose FFmpeg encrypts (app/services/encoders/rekey_watcher.py),
    # by run id, until its last segments are in the archive.
    rekeyers: dict[str, RekeyWatcher] = field(default_factory=dict)

    def status(self) -> ChannelEncoderStatus:
        running = self.proc is not None and self.proc.returncode is None and self.state == "running"
        uptime = round(time.monotonic() - self.started_mono, 1) if running and self.started_mono else None
        started_at = self.started_at if running else None
        return ChannelEncoderStatus(
            channel_key=self.key,
            channel_name=self.name,
            loop_seconds=self.loop_seconds,
            wanted=self.wanted,
            state=self.state,
            running=running,
            pid=self.proc.pid if running and self.proc is not None else None,
            uptime_seconds=uptime,
            started_at=datetime.fromtimestamp(started_at, UTC).isoformat() if started_at else None,
            restarts=self.restarts,
            last_error=self.last_error,
            last_exit_code=self.last_exit_code,
            run_id=self.run.run_id if self.run else None,
            kid=self.run.kid if self.run else None,
            loop_offset=self.run.loop_offset if self.run else None,
            source=self.source,
            source_progress=self.source_progress,
            segment_count=self.counters.segments,
            disk_bytes=self.counters.bytes,
            segments_written=self.counters.written,
        )
