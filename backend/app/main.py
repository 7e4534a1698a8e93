"""The FastAPI application: wiring of settings, database, routers and background services."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app import clock
from app.config import Settings, get_settings
from app.db import Database
from app.errors import install_error_handlers
from app.logging_setup import configure_logging
from app.routers import auth, epg, health, tstv_playback
from app.services.archive_index import ArchiveIndex
from app.services.auth_service import LoginThrottle
from app.services.playback_service import PlaybackService
from app.services.schedule_service import fill_schedule
from app.services.seed import DEMO_ACCOUNTS, seed_all

log = logging.getLogger("tstv.app")
API_PREFIX = "/api/v1"


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

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings)
        app.state.db = db
        tasks: list[asyncio.Task[None]] = []
        # The archive index: one full scan now, then a cheap poll of the growing runs.
        archive: ArchiveIndex = app.state.archive
        await asyncio.to_thread(archive.rescan)
        tasks.append(asyncio.create_task(_every(1.0, lambda: asyncio.to_thread(archive.poll), "archive_poll")))
        if settings.seed_on_startup:
            async with db.sessionmaker() as session:
                await seed_all(session, settings)
            if settings.tstv_env == "development":
                for acct in DEMO_ACCOUNTS:
                    log.info(
                        "demo account", extra={"email": acct.email, "password": settings.tstv_demo_password}
                    )
        if settings.background_jobs:

            async def keep_schedule_filled() -> None:
                async with db.sessionmaker() as session:
                    await fill_schedule(session, clock.now())

            tasks.append(asyncio.create_task(_every(3600, keep_schedule_filled, "schedule_fill")))
        try:
            yield
        finally:
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await t
            await db.dispose()

    app = FastAPI(
        title="TSTV: Start Over and Catch-Up TV",
        version="0.1.0",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.login_throttle = LoginThrottle()
    app.state.archive = ArchiveIndex(settings.hls_segment_dir)
    app.state.playback = PlaybackService(settings, app.state.archive)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origin_list,
        allow_methods=["*"],
        allow_headers=["*"],
    )
    install_error_handlers(app)

    api = APIRouter(prefix=API_PREFIX)
    api.include_router(auth.router)
    api.include_router(epg.router)
    api.include_router(tstv_playback.router)
    app.include_router(api)
    app.include_router(health.router)
    return app


def app_factory() -> FastAPI:
    """Entry point for uvicorn (`--factory`): configures logging, then builds the app."""
    configure_logging()
    return create_app()
