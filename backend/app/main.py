"""The FastAPI application: wiring of settings, database, routers and background services."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Container
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app import clock
from app.config import Settings, get_settings
from app.db import Database
from app.errors import install_error_handlers
from app.http_metrics import HttpMetricsMiddleware
from app.logging_setup import configure_logging
from app.routers import (
    admin_archive,
    admin_rules,
    admin_simlive,
    app_config,
    auth,
    catalogue,
    cdn_fallback,
    drm,
    epg,
    health,
    logos,
    metrics,
    notifications,
    recordings,
    sessions,
    tstv_playback,
    viewing,
    web_app,
)
from app.services.accounts.auth_service import LoginThrottle, SharedLoginThrottle
from app.services.catalogue.catalogue_cache import ListingCache
from app.services.catalogue.catalogue_feed import CatalogueFeed, CatalogueListener, FeedCollector, asyncpg_dsn
from app.services.catalogue.seed import DEMO_ACCOUNTS, seed_all
from app.services.media import retention
from app.services.media.archive_index import ArchiveIndex
from app.services.media.encoder_control import RemoteEncoders
from app.services.media.encoder_ownership import (
    RETENTION_NS,
    SEED_NS,
    WorkerCoordinator,
    advisory_guard,
    default_worker_id,
)
from app.services.media.simlive_manager import SimliveManager
from app.services.media.thumbnails import ThumbnailStore
from app.services.metrics import ChannelsCollector, Metrics
from app.services.playback.playback_service import PlaybackService
from app.services.viewing.notification_service import run_expiry_notifications
from app.services.viewing.recording_service import schedule_job

log = logging.getLogger("tstv.app")
API_PREFIX = "/api/v1"


class JobRunner:
    """The background jobs of a worker, run while it is the jobs leader (`encoder_ownership`)."""

    def __init__(self, jobs: list[tuple[float, Callable[[], Awaitable[object]], str]]) -> None:
        self.jobs = jobs
        self.tasks: list[asyncio.Task[None]] = []

    async def lead(self, leading: bool) -> None:
        if leading and not self.tasks:
            log.info("jobs: leading", extra={"jobs": [name for _, _, name in self.jobs]})
            self.tasks = [asyncio.create_task(_every(every, job, name)) for every, job, name in self.jobs]
        elif not leading and self.tasks:
            log.warning("jobs: leadership lost, cancelling")
            for t in self.tasks:
                t.cancel()
            for t in self.tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await t
            self.tasks = []


async def _every(seconds: float, job: Callable[[], Awaitable[object]], name: str) -> None:
    """Run `job` now and then every `seconds`, logging (not propagating) failures."""
    while True:
        try:
            await job()
        except Exception:
            log.exception("background job failed", extra={"job": name})
        await asyncio.sleep(seconds)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    role = settings.tstv_role
    runs_http = role in ("all", "api")
    runs_encoders = role in ("all", "worker")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.role_error is not None:
            raise RuntimeError(settings.role_error)
        db = Database(settings)
        app.state.db = db
        # The catalogue version: this process's writes are seen on its engines, everyone's pushed
        # by LISTEN/NOTIFY on PostgreSQL (SQLite cannot notify: requests read the version there).
        feed: CatalogueFeed = app.state.catalogue_feed
        feed.track_writes(db.engine)
        feed.track_writes(db.reader_engine)
        listener: CatalogueListener | None = None
        if not settings.is_sqlite and runs_http:
            listener = CatalogueListener(asyncpg_dsn(settings.database_url), feed)
            listener.start()
        app.state.catalogue_listener = listener
        tasks: list[asyncio.Task[None]] = []
        # The archive index: one full scan now, then a cheap poll of the growing runs.
        archive: ArchiveIndex = app.state.archive
        await asyncio.to_thread(archive.rescan)
        tasks.append(
            asyncio.create_task(_every(1.0, lambda: asyncio.to_thread(archive.poll), "archive_poll"))
        )
        if settings.seed_on_startup:
            # Several processes may start at once on one PostgreSQL database: one seeds at a time.
            async with advisory_guard(db.engine, SEED_NS), db.sessionmaker() as session:
                await seed_all(session, settings)
            if settings.tstv_env == "development":
                for acct in DEMO_ACCOUNTS:
                    log.info(
                        "demo account", extra={"email": acct.email, "password": settings.tstv_demo_password}
                    )
        jobs: list[tuple[float, Callable[[], Awaitable[object]], str]] = []

        async def keep_schedule_filled() -> None:
            async with db.sessionmaker() as session:
                # Fills the schedule, then series recordings pick up the new episodes (issue 12).
                await schedule_job(session, clock.now(), settings, app.state.archive)

        # Catch-up expiry notifications (SPEC J6): every minute by default, idempotent.
        async def expiry_notifications() -> None:
            await run_expiry_notifications(db.sessionmaker, clock.now(), app.state.archive)

        jobs.append((3600, keep_schedule_filled, "schedule_fill"))
        jobs.append(
            (settings.expiry_notifications_every_seconds, expiry_notifications, "expiry_notifications")
        )
        coordinator: WorkerCoordinator | None = None
        simlive: SimliveManager | None = None
        if runs_encoders:
            # --- SimLive encoders and retention (issue 3) ---
            worker_id = settings.tstv_worker_id or default_worker_id()
            simlive = SimliveManager(settings, db.sessionmaker, app.state.thumbnails)
            if role == "worker":
                simlive.use_pidfile(f"pids.{worker_id}.json")
            app.state.simlive = simlive
            simlive.add_retention_listener(archive.forget_before)  # the index drops what retention deleted

            async def retention_job() -> None:
                assert simlive is not None
                async with advisory_guard(db.engine, RETENTION_NS):
                    await simlive.cleanup()

            jobs.append((3600, retention_job, "retention"))
            # Ends stale encoders now; counts the archive and (role all) autostarts channels in the
            # background (each channel's supervisor prepares its source, so the server answers at once).
            await simlive.startup(autostart=settings.simlive_autostart and role == "all")
            if role == "worker":
                # Channels and jobs by PostgreSQL advisory locks (issue 13): encoder_ownership.
                runner = JobRunner(jobs if settings.background_jobs else [])
                coordinator = WorkerCoordinator(settings, simlive, worker_id, runner.lead)
                app.state.coordinator = coordinator
                coordinator.start()
            # --- end SimLive ---
        else:
            remote = RemoteEncoders(settings, db.sessionmaker, db.engine)
            remote.add_retention_listener(archive.forget_before)
            app.state.simlive = remote

            # The jobs leader deletes expired segments on the shared archive; this replica's index
            # (which only grows by polling) drops them with the same cutoffs and recording holds.
            async def forget_expired() -> None:
                await retention.forget_expired(settings, db.sessionmaker, archive.forget_before)

            tasks.append(asyncio.create_task(_every(600, forget_expired, "archive_forget")))
        if role == "all" and settings.background_jobs:
            tasks += [asyncio.create_task(_every(every, job, name)) for every, job, name in jobs]
        # Start-up leaves ~100k long-lived objects; without freezing them every full collection
        # rescans them and stalls all requests in flight for 50-100 ms (the catalogue's p95 tail).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            if coordinator is not None:
                await coordinator.stop()  # hands back its channels and leadership
            if simlive is not None:
                await simlive.shutdown()  # SimLive: TERM, then KILL every encoder
            await app.state.thumbnails.close()  # a thumbnail build in progress is dropped
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await t
            if listener is not None:
                await listener.stop()
            await db.dispose()

    app = FastAPI(
        title="TSTV: Start Over and Catch-Up TV",
        version="0.1.0",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        lifespan=lifespan,
    )
    app.state.settings = settings
    # API replicas count failed logins together (issue 13); the single process keeps them in memory.
    app.state.login_throttle = SharedLoginThrottle() if role == "api" else LoginThrottle()
    app.state.archive = ArchiveIndex(settings.hls_segment_dir)
    app.state.catalogue_feed = CatalogueFeed()
    app.state.catalogue_cache = ListingCache()
    # Listing pages of an older version are dropped as soon as a newer one is pushed.
    app.state.catalogue_feed.add_observer(app.state.catalogue_cache.observe)
    app.state.thumbnails = ThumbnailStore(settings, builds=settings.tstv_role != "api")
    app.state.playback = PlaybackService(
        settings, app.state.archive, app.state.catalogue_feed, app.state.thumbnails
    )
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origin_list,
        allow_methods=["*"],
        allow_headers=["*"],
    )
    # Prometheus (issue 11): outermost, so every answer is counted.
    app.state.metrics = Metrics()

    def channels_here() -> Container[str] | None:
        """A worker reports the channels it owns (the other workers report theirs), so summing a
        series over the workers counts each channel once."""
        if settings.tstv_role != "worker":
            return None
        coordinator = getattr(app.state, "coordinator", None)
        return coordinator.owned if coordinator is not None else ()

    app.state.metrics.watch_channels(
        ChannelsCollector(lambda: getattr(app.state, "simlive", None), app.state.archive, channels_here)
    )
    app.state.metrics.watch_channels(FeedCollector(app.state.catalogue_feed))
    app.add_middleware(HttpMetricsMiddleware, metrics=app.state.metrics)
    install_error_handlers(app)

    if not runs_http:
        # A worker: encoders and jobs; HTTP only for the orchestrator and Prometheus.
        app.include_router(health.router)
        app.include_router(metrics.router)
        return app
    api = APIRouter(prefix=API_PREFIX)
    api.include_router(app_config.router)
    api.include_router(auth.router)
    api.include_router(epg.router)
    # Catalogue, viewing, sessions, notifications, TSTV rules (issue 5).
    for r in (catalogue.router, viewing.router, sessions.router, notifications.router, admin_rules.router):
        api.include_router(r)
    api.include_router(tstv_playback.router)
    api.include_router(recordings.router)  # cloud recordings (issue 12)
    # SimLive control and the ClearKey KMS (issue 3)
    for r in (admin_simlive.router, drm.router, drm.admin_router):
        api.include_router(r)
    api.include_router(admin_archive.router)  # operator console (issue 11)
    app.include_router(api)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(logos.router)
    app.include_router(cdn_fallback.router)  # /hls/ when nginx is not running (development)
    app.include_router(web_app.router)  # last: the app's history fallback takes what is left
    return app


def app_factory() -> FastAPI:
    """Entry point for uvicorn (`--factory`): configures logging, then builds the app for the
    process role TSTV_ROLE (api and worker refuse SQLite: exit status 2 with the reason)."""
    settings = get_settings()
    configure_logging(settings.log_level)
    return build_for_role(settings)


def build_for_role(settings: Settings) -> FastAPI:
    if settings.role_error is not None:
        log.error(settings.role_error)
        print(settings.role_error, file=sys.stderr, flush=True)
        raise SystemExit(2)
    return create_app(settings)
