"""Backfill jobs: operator requests ("Fill from source" on the coverage page) and the first run's
backfill of the last `BACKFILL_HOURS`, run in the background one at a time (low priority: serving
and the live encoders come first), each with its progress for the console to poll.

Jobs live in the memory of the process that started them (the one that answered the request);
the archive they write is shared, so any process serves the result.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from app.config import Settings
from app.db import Database
from app.errors import ApiError
from app.services.archive import archive_layout as layout
from app.services.archive.thumbnails import ThumbnailStore
from app.services.encoders.backfill import BackfillResult, backfill_range
from app.services.encoders.sources import SourceCache

log = logging.getLogger("tstv.backfill")

KEEP_JOBS = 200  # finished jobs kept for the console (oldest dropped first)
State = Literal["queued", "running", "done", "failed"]
Origin = Literal["operator", "first_run"]


@dataclass
class BackfillJob:
    id: str
    channel_key: str
    start: datetime
    end: datetime
    origin: Origin
    created_at: datetime
    state: State = "queued"
    progress: float = 0.0
    result: BackfillResult | None = None
    error: str | None = None
    finished_at: datetime | None = None
    task: asyncio.Task[None] | None = field(default=None, repr=False)


class BackfillJobs:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        sources: SourceCache | None = None,
        thumbnails: ThumbnailStore | None = None,
        concurrency: int = 1,
    ) -> None:
        self.settings = settings
        self.db = db
        self.sources = sources
        self.thumbnails = thumbnails
        self._gate = asyncio.Semaphore(concurrency)
        self.jobs: dict[str, BackfillJob] = {}

    def start(
        self,
        channel_key: str,
        start: datetime,
        end: datetime,
        origin: Origin = "operator",
        wait_for_rungs: bool = True,
    ) -> BackfillJob:
        if end <= start:
            raise ApiError(422, "empty_range")
        job = BackfillJob(
            id=secrets.token_hex(8),
            channel_key=channel_key,
            start=start,
            end=end,
            origin=origin,
            created_at=datetime.now(UTC),
        )
        self.jobs[job.id] = job
        job.task = asyncio.create_task(self._run(job, wait_for_rungs), name=f"backfill-{job.id}")
        for old in [j for j in self.jobs.values() if j.finished_at is not None][:-KEEP_JOBS]:
            del self.jobs[old.id]
        return job

    def get(self, job_id: str) -> BackfillJob | None:
        return self.jobs.get(job_id)

    def list(self) -> list[BackfillJob]:
        return sorted(self.jobs.values(), key=lambda j: j.created_at)

    async def _run(self, job: BackfillJob, wait_for_rungs: bool) -> None:
        def progress(frac: float) -> None:
            job.progress = round(frac, 3)

        async with self._gate:
            job.state = "running"
            try:
                job.result = await backfill_range(
                    self.settings,
                    self.db,
                    job.channel_key,
                    job.start,
                    job.end,
                    progress=progress,
                    wait_for_rungs=wait_for_rungs,
                    sources=self.sources,
                    thumbnails=self.thumbnails,
                )
                job.state = "done"
                job.progress = 1.0
            except asyncio.CancelledError:
                job.state, job.error = "failed", "cancelled"
                raise
            except ApiError as exc:
                job.state, job.error = "failed", f"{exc.detail} {exc.extra.get('reason', '')}".strip()
            except Exception as exc:
                log.exception("backfill: failed", extra={"channel": job.channel_key, "job": job.id})
                job.state, job.error = "failed", repr(exc)[:500]
            finally:
                job.finished_at = datetime.now(UTC)

    async def close(self) -> None:
        tasks = [j.task for j in self.jobs.values() if j.task is not None and not j.task.done()]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def archive_is_empty(root: Path) -> bool:
    """No channel folder holds a run: a first start (the first-run backfill is for that alone)."""
    try:
        channels = [e for e in os.scandir(root) if e.is_dir() and layout.is_channel_key(e.name)]
    except FileNotFoundError:
        return True
    for ch in channels:
        try:
            if any(layout.RUN_ID_RE.match(e.name) for e in os.scandir(ch.path)):
                return False
        except FileNotFoundError:
            continue
    return True


async def first_run_backfill(
    jobs: BackfillJobs,
    on_air: Callable[[], list[str]],
    wanted: Callable[[], list[str]],
    hours: float,
    give_up_after: float = 3600.0,
    done: set[str] | None = None,
) -> None:
    """Backfill the last `hours` of each channel once it is on air (`on_air()`: channel keys whose
    encoder runs), with the rungs already prepared, until every wanted channel had its turn.
    `done`: the channels already backfilled, kept by the caller so that a restart (a supervised
    task: app/supervision.py) never backfills a channel twice."""
    since = datetime.now(UTC) - timedelta(hours=hours)
    done = set() if done is None else done
    deadline = time.monotonic() + give_up_after
    log.info("backfill: first run", extra={"hours": hours, "since": since.isoformat()})
    while time.monotonic() < deadline:
        for key in on_air():
            if key not in done:
                done.add(key)
                jobs.start(key, since, datetime.now(UTC), origin="first_run", wait_for_rungs=False)
        want = set(wanted())
        if want and want <= done:
            return
        await asyncio.sleep(1.0)
