"""The FastAPI application, one builder per process role (TSTV_ROLE: app/roles/__init__.py).

Every role gets the same long-lived services on `app.state` (`_install_services`, reached by the
routers through app/deps.py) and the same middleware; what it serves (`_api_routes`,
`_worker_routes`) and what it starts (app/lifespan.py) depend on the role.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Container

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app.catalogue_version import CatalogueFeed, FeedCollector
from app.config import Settings, get_settings
from app.errors import install_error_handlers
from app.http_compression import JSON_TYPES, PLAYLIST_TYPES, CompressionMiddleware
from app.http_guards import BodyLimitMiddleware, SecurityHeadersMiddleware
from app.http_metrics import HttpMetricsMiddleware
from app.lifespan import lifespan_for
from app.logging_setup import configure_logging
from app.routers import (
    admin_archive,
    admin_rules,
    admin_simlive,
    admin_users,
    app_config,
    auth,
    catalogue,
    cdn_fallback,
    drm,
    epg,
    health,
    iptv,
    logos,
    metrics,
    notifications,
    recordings,
    sessions,
    tstv_playback,
    viewing,
    web_app,
)
from app.routers.auth import LoginFloodGuard
from app.services.accounts.auth_service import LoginThrottle, SharedLoginThrottle
from app.services.accounts.user_state import UserStateCache
from app.services.archive.archive_index import ArchiveIndex
from app.services.archive.disk_budget import DiskBudget
from app.services.archive.thumbnails import ThumbnailStore
from app.services.catalogue.catalogue_cache import ListingCache
from app.services.metrics import ChannelsCollector, DiskCollector, Metrics
from app.services.playback.playback_service import PlaybackService
from app.services.playback.playlist_requests import PlaylistRequests
from app.supervision import TaskCollector, TaskSupervisor

log = logging.getLogger("tstv.app")
API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    return ROLE_BUILDERS[settings.tstv_role](settings)


def build_http(settings: Settings) -> FastAPI:
    """Roles all and api: the whole HTTP API and the web app. Whether the encoders run here (all) or
    on workers controlled through the database (api) is the lifespan's (app/lifespan.py)."""
    app = _base_app(settings)
    _api_routes(app)
    return app


def build_worker(settings: Settings) -> FastAPI:
    """A worker: encoders and jobs; HTTP only for the orchestrator and Prometheus."""
    app = _base_app(settings)
    _worker_routes(app)
    return app


ROLE_BUILDERS: dict[str, Callable[[Settings], FastAPI]] = {
    "all": build_http,
    "api": build_http,
    "worker": build_worker,
}


def _base_app(settings: Settings) -> FastAPI:
    app = FastAPI(
        title="TSTV: Start Over and Catch-Up TV",
        version="0.1.0",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        lifespan=lifespan_for(settings),
    )
    app.state.settings = settings
    _install_services(app, settings)
    _install_middleware(app, settings)
    install_error_handlers(app)
    return app


def _install_services(app: FastAPI, settings: Settings) -> None:
    """The long-lived services every role keeps; the lifespan adds the database and the encoders."""
    # Every long-running task is started through it: restarted when it fails, shown on /healthz.
    app.state.tasks = TaskSupervisor(settings.task_fault_counts)
    # API replicas count failed logins together (docs/SCALING.md); the single process keeps them in memory.
    app.state.login_throttle = SharedLoginThrottle() if settings.tstv_role == "api" else LoginThrottle()
    app.state.archive = ArchiveIndex(settings.hls_segment_dir)
    # Free space against ARCHIVE_DISK_FLOOR; evicts where retention runs (app/lifespan.py).
    app.state.disk_budget = DiskBudget(settings)
    app.state.catalogue_feed = CatalogueFeed()
    app.state.catalogue_cache = ListingCache()
    # Who may do what, read from the database and cached while changes are pushed (user_state.py).
    app.state.user_states = UserStateCache(app.state.catalogue_feed)
    # Listing pages of an older version are dropped as soon as a newer one is pushed.
    app.state.catalogue_feed.add_observer(app.state.catalogue_cache.observe)
    app.state.thumbnails = ThumbnailStore(settings, builds=settings.tstv_role != "api", tasks=app.state.tasks)
    app.state.playback = PlaybackService(
        settings, app.state.archive, app.state.catalogue_feed, app.state.thumbnails
    )
    app.state.playlists = PlaylistRequests(app.state.playback, app.state.user_states)


def _install_middleware(app: FastAPI, settings: Settings) -> None:
    # Innermost: gzip of JSON (and playlists if configured) over 1 KB (app/http_compression.py).
    compressed = JSON_TYPES | PLAYLIST_TYPES if settings.gzip_playlists else JSON_TYPES
    app.add_middleware(CompressionMiddleware, types=compressed)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origin_list,
        allow_methods=["*"],
        allow_headers=["*"],
    )
    # Prometheus (README, "Metrics"): outermost, so every answer is counted.
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
    app.state.metrics.watch_channels(TaskCollector(app.state.tasks))
    app.state.metrics.watch_channels(DiskCollector(app.state.disk_budget))
    # A login flood from one address is refused before routing (app/routers/auth.py).
    app.add_middleware(LoginFloodGuard, throttle=app.state.login_throttle, path=f"{API_PREFIX}/auth/login")
    # Security headers on every answer; bodies over 1 MB refused (app/http_guards.py).
    app.add_middleware(SecurityHeadersMiddleware, cdn_base_url=settings.cdn_base_url)
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(HttpMetricsMiddleware, metrics=app.state.metrics)


def _worker_routes(app: FastAPI) -> None:
    app.include_router(health.router)
    app.include_router(metrics.router)


def _api_routes(app: FastAPI) -> None:
    api = APIRouter(prefix=API_PREFIX)
    api.include_router(app_config.router)
    api.include_router(auth.router)
    api.include_router(epg.router)
    # Catalogue, viewing, sessions, notifications, TSTV rules.
    for r in (catalogue.router, viewing.router, sessions.router, notifications.router, admin_rules.router):
        api.include_router(r)
    api.include_router(tstv_playback.router)
    api.include_router(recordings.router)  # cloud recordings
    api.include_router(iptv.router)  # IPTV links, M3U and XMLTV
    # SimLive control and the ClearKey KMS
    for r in (admin_simlive.router, drm.router, drm.admin_router):
        api.include_router(r)
    api.include_router(admin_archive.router)  # operator console
    api.include_router(admin_users.router)  # accounts
    app.include_router(api)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(logos.router)
    app.include_router(cdn_fallback.router)  # /hls/ when nginx is not running (development)
    app.include_router(web_app.router)  # last: the app's history fallback takes what is left


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
