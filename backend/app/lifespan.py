"""What each process role starts and stops (TSTV_ROLE: app/roles/__init__.py), one step per function.

Every role: the database, the catalogue version feed, the archive index (scan, then a poll) and the
seed (`start_common`). Roles that run encoders (all, worker) start the encoder supervisor, its
retention job, the backfill jobs and the first-run backfill (`start_local_encoders`); a worker
shares channels and the jobs with the other workers (`WorkerCoordinator`). The api role controls
the workers' encoders through the database and forgets what their retention deleted
(`start_remote_encoders`). The background jobs run in the single process (role all) at once, on
workers only on the jobs leader.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field

from fastapi import FastAPI

from app import clock
from app.catalogue_version import CatalogueFeed, CatalogueListener
from app.config import Settings
from app.db import Database, asyncpg_dsn
from app.services.accounts.user_state import CHANNEL as ACCOUNT_CHANGES
from app.services.archive import disk_budget, retention
from app.services.archive.archive_index import ArchiveIndex
from app.services.catalogue.seed import DEMO_ACCOUNTS, seed_all
from app.services.encoders.backfill_jobs import BackfillJobs, archive_is_empty, first_run_backfill
from app.services.encoders.cluster_control import ClusterEncoders
from app.services.encoders.ownership import (
    RETENTION_NS,
    SEED_NS,
    WorkerCoordinator,
    advisory_guard,
    default_worker_id,
)
from app.services.encoders.supervisor import EncoderSupervisor
from app.services.viewing.notification_service import run_expiry_notifications
from app.services.viewing.recording_service import schedule_job
from app.supervision import TaskSupervisor

log = logging.getLogger("tstv.app")

Job = tuple[float, Callable[[], Awaitable[object]], str]  # (every seconds, job, name)
Task = asyncio.Task[None]


async def every(seconds: float, job: Callable[[], Awaitable[object]]) -> None:
    """Run `job` now and then every `seconds`. A failure ends it: run it supervised
    (`TaskSupervisor.spawn`, app/supervision.py), which logs, counts and restarts it after a backoff."""
    while True:
        await job()
        await asyncio.sleep(seconds)


def spawn_job(tasks: TaskSupervisor, seconds: float, job: Callable[[], Awaitable[object]], name: str) -> Task:
    return tasks.spawn(f"job:{name}", lambda: every(seconds, job))


class JobRunner:
    """The background jobs of a worker, run while it is the jobs leader (`encoders/ownership.py`)."""

    def __init__(self, jobs: list[Job], tasks: TaskSupervisor) -> None:
        self.jobs = jobs
        self.supervisor = tasks
        self.tasks: list[asyncio.Task[None]] = []

    async def lead(self, leading: bool) -> None:
        if leading and not self.tasks:
            log.info("jobs: leading", extra={"jobs": [name for _, _, name in self.jobs]})
            self.tasks = [spawn_job(self.supervisor, seconds, job, name) for seconds, job, name in self.jobs]
        elif not leading and self.tasks:
            log.warning("jobs: leadership lost, cancelling")
            for t in self.tasks:
                t.cancel()
            for t in self.tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await t
            self.tasks = []


@dataclass
class Running:
    """What a process started, so that it stops it again."""

    db: Database
    listener: CatalogueListener | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)
    supervisor: EncoderSupervisor | None = None
    coordinator: WorkerCoordinator | None = None


async def start_common(app: FastAPI, settings: Settings, runs_http: bool) -> Running:
    """The database, the catalogue version feed, the archive index and the seed."""
    db = Database(settings)
    app.state.db = db
    running = Running(db)
    # The catalogue version: this process's writes are seen on its engines, everyone's pushed
    # by LISTEN/NOTIFY on PostgreSQL (SQLite cannot notify: requests read the version there).
    feed: CatalogueFeed = app.state.catalogue_feed
    feed.track_writes(db.engine)
    feed.track_writes(db.reader_engine)
    if not settings.is_sqlite and runs_http:
        running.listener = CatalogueListener(
            asyncpg_dsn(settings.database_url),
            feed,
            also={ACCOUNT_CHANGES: app.state.user_states.notified},
            tasks=app.state.tasks,
        )
        running.listener.start()
    app.state.catalogue_listener = running.listener
    # The archive index: one full scan now, then a cheap poll of the growing runs.
    archive: ArchiveIndex = app.state.archive
    await asyncio.to_thread(archive.rescan)
    running.tasks.append(
        app.state.tasks.spawn("archive_poll", lambda: every(1.0, lambda: asyncio.to_thread(archive.poll)))
    )
    if settings.seed_on_startup:
        # Several processes may start at once on one PostgreSQL database: one seeds at a time.
        async with advisory_guard(db.engine, SEED_NS), db.sessionmaker() as session:
            await seed_all(session, settings)
        if settings.tstv_env == "development":
            for acct in DEMO_ACCOUNTS:
                log.info("demo account", extra={"email": acct.email, "password": settings.demo_password})
    return running


def viewing_jobs(app: FastAPI, db: Database, settings: Settings) -> list[Job]:
    """The schedule fill (then series recordings) and the catch-up expiry notifications."""

    async def keep_schedule_filled() -> None:
        async with db.sessionmaker() as session:
            # Fills the schedule, then series recordings pick up the new episodes.
            await schedule_job(session, clock.now(), settings, app.state.archive)

    # Catch-up expiry notifications (docs/PRODUCT.md, J6): every minute by default, idempotent.
    async def expiry_notifications() -> None:
        await run_expiry_notifications(db.sessionmaker, clock.now(), app.state.archive)

    return [
        (3600, keep_schedule_filled, "schedule_fill"),
        (settings.expiry_notifications_every_seconds, expiry_notifications, "expiry_notifications"),
    ]


async def start_local_encoders(app: FastAPI, settings: Settings, running: Running) -> None:
    """The encoder supervisor (roles all and worker) and its retention job; then the backfills."""
    role = settings.tstv_role
    db, archive = running.db, app.state.archive
    worker_id = settings.tstv_worker_id or default_worker_id()
    supervisor = EncoderSupervisor(settings, db.sessionmaker, app.state.thumbnails, app.state.tasks)
    if role == "worker":
        supervisor.use_pidfile(f"pids.{worker_id}.json")
    app.state.simlive = supervisor
    running.supervisor = supervisor
    supervisor.add_retention_listener(archive.forget_before)  # the index drops what retention deleted

    async def retention_job() -> None:
        async with advisory_guard(db.engine, RETENTION_NS):
            await supervisor.cleanup()

    running.jobs.append((3600, retention_job, "retention"))
    budget = app.state.disk_budget
    budget.evicting = True  # recordings are refused only once nothing more may be evicted

    async def disk_budget_job() -> None:  # a statvfs; evicts only under ARCHIVE_DISK_FLOOR
        await supervisor.enforce_disk_budget(budget, archive.latest_end)

    running.jobs.append((settings.archive_disk_check_seconds, disk_budget_job, "disk_budget"))
    # Ends stale encoders now; counts the archive and (role all) autostarts channels in the
    # background (each channel's supervisor prepares its source, so the server answers at once).
    first_start = archive_is_empty(settings.hls_segment_dir)
    await supervisor.startup(autostart=settings.simlive_autostart and role == "all")
    backfills = BackfillJobs(settings, db, supervisor.sources, app.state.thumbnails, concurrency=2)
    app.state.backfills = backfills
    if first_start and settings.backfill_hours > 0 and (role == "worker" or settings.simlive_autostart):
        _first_run_backfill(settings, running, supervisor, backfills, archive)
    if role == "worker":
        # Channels and jobs by PostgreSQL advisory locks (docs/SCALING.md): encoders/ownership.py.
        runner = JobRunner(running.jobs if settings.background_jobs else [], app.state.tasks)
        running.coordinator = WorkerCoordinator(
            settings, supervisor, worker_id, runner.lead, tasks=app.state.tasks
        )
        app.state.coordinator = running.coordinator
        running.coordinator.start()


def _first_run_backfill(
    settings: Settings,
    running: Running,
    supervisor: EncoderSupervisor,
    backfills: BackfillJobs,
    archive: ArchiveIndex,
) -> None:
    """On a first start, the last BACKFILL_HOURS of every channel once it is on air."""
    live_slack = 3 * settings.hls_segment_duration + 10

    def on_air() -> list[str]:
        # From the archive index: in a cluster other workers run the encoders.
        now = time.time()
        return [k for k in supervisor.channels if (archive.latest_end(k) or 0) >= now - live_slack]

    done: set[str] = set()  # across restarts of the task

    async def first_run() -> None:
        hours = settings.backfill_hours
        await first_run_backfill(backfills, on_air, lambda: list(supervisor.channels), hours, done=done)

    if settings.tstv_role == "all":
        running.tasks.append(supervisor.tasks.spawn("first_run_backfill", first_run))
    else:  # the jobs leader does it, once
        running.jobs.append((10**9, first_run, "first_run_backfill"))


def start_remote_encoders(app: FastAPI, settings: Settings, running: Running) -> None:
    """The api role: encoder control through the database; the index forgets what retention deleted."""
    db, archive = running.db, app.state.archive
    app.state.backfills = BackfillJobs(settings, db, thumbnails=app.state.thumbnails)
    remote = ClusterEncoders(settings, db.sessionmaker, db.engine)
    remote.add_retention_listener(archive.forget_before)
    app.state.simlive = remote

    # The jobs leader deletes expired segments on the shared archive; this replica's index
    # (which only grows by polling) drops them with the same cutoffs and recording holds.
    async def forget_expired() -> None:
        await retention.forget_expired(settings, db.sessionmaker, archive.forget_before)

    running.tasks.append(spawn_job(app.state.tasks, 600, forget_expired, "archive_forget"))
    # ... and what the disk budget evicted (it records each channel's cut-off in the archive).
    seen: dict[str, float] = {}

    async def forget_evicted() -> None:
        await disk_budget.follow_evictions(settings, db.sessionmaker, archive.forget_before, seen)

    every_check = settings.archive_disk_check_seconds
    running.tasks.append(spawn_job(app.state.tasks, every_check, forget_evicted, "archive_forget_evicted"))


async def stop(app: FastAPI, running: Running) -> None:
    if running.coordinator is not None:
        await running.coordinator.stop()  # hands back its channels and leadership
    if running.supervisor is not None:
        await running.supervisor.shutdown()  # SimLive: TERM, then KILL every encoder
    await app.state.backfills.close()
    await app.state.thumbnails.close()  # a thumbnail build in progress is dropped
    for t in running.tasks:
        t.cancel()
    for t in running.tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await t
    if running.listener is not None:
        await running.listener.stop()
    await running.db.dispose()


def lifespan_for(settings: Settings) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    role = settings.tstv_role

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.role_error is not None:
            raise RuntimeError(settings.role_error)
        running = await start_common(app, settings, runs_http=role in ("all", "api"))
        running.jobs += viewing_jobs(app, running.db, settings)
        if role in ("all", "worker"):
            await start_local_encoders(app, settings, running)
        else:
            start_remote_encoders(app, settings, running)
        if role == "all" and settings.background_jobs:
            running.tasks += [spawn_job(app.state.tasks, s, job, name) for s, job, name in running.jobs]
        # Start-up leaves ~100k long-lived objects; without freezing them every full collection
        # rescans them and stalls all requests in flight for 50-100 ms (the catalogue's p95 tail).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await stop(app, running)

    return lifespan
