"""Settings from environment variables (README, "Configuration"; docs/PRODUCT.md, 'Configuration')."""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.ladder import DEFAULT_LADDER, Rung, parse_ladder
from app.services.archive import disk_floor, url_signing
from app.supervision import parse_faults

BACKEND_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = BACKEND_DIR.parent
SECRET_FILE_NAME = "jwt-secret"
MIN_METRICS_TOKEN = 16


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    tstv_env: Literal["development", "production"] = "development"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    database_url: str = f"sqlite+aiosqlite:///{REPO_DIR / 'var' / 'tstv.db'}"
    jwt_secret: str = ""
    # Development without JWT_SECRET: where the install's generated secret is kept (default: beside
    # the SQLite database, else in var/). Never used in production, which requires JWT_SECRET.
    jwt_secret_file: Path | None = None
    jwt_expiry_minutes: int = Field(default=12 * 60, ge=1)
    # The demo accounts' password (development only); empty: generated once per install and kept
    # beside the secret, shown on the sign-in page and in the start-up log.
    tstv_demo_password: str = ""

    hls_segment_dir: Path = REPO_DIR / "var" / "hls"
    hls_sources_dir: Path = REPO_DIR / "media" / "sources"
    hls_segment_duration: int = Field(default=6, ge=1, le=30)
    # `{host}`: the host name the viewer reached the API with (localhost, 127.0.0.1, a LAN address).
    cdn_base_url: str = "http://{host}:8081/hls"
    # Signs the segment URLs playlists hand out (app/services/archive/url_signing.py); empty: derived
    # from JWT_SECRET. The CDN's rendered nginx configuration holds it.
    cdn_signing_secret: str = ""
    drm_enabled: bool = True
    # The service's public address for the absolute URLs of IPTV links (`https://tv.example.com`);
    # empty: the address the request reached the API with.
    public_base_url: str = ""
    ffmpeg_binary: str = ""
    # Adaptive bitrate ladder: `name:WIDTHxHEIGHT:BITRATE` rungs, comma-separated (app/ladder.py).
    abr_ladder: str = DEFAULT_LADDER
    # Programme stills (one JPEG per programme); default: `stills` next to the archive.
    stills_dir: Path | None = None
    live_window_minutes: int = Field(default=30, ge=1, le=24 * 60)
    # Free space the archive's filesystem keeps (app/services/archive/disk_budget.py): `5%` of the
    # disk or bytes (`500M`, `2G`); below it the oldest catch-up is evicted, new recordings refused.
    archive_disk_floor: str = "5%"
    # How often free space is looked at (a statvfs); under pressure the check itself evicts.
    archive_disk_check_seconds: float = Field(default=2.0, gt=0, le=3600)
    cors_origins: str = "http://localhost:5173,http://localhost:8000"
    # Gzip HLS playlists too (JSON always is): see docs/PERFORMANCE.md, "Compression", for its cost.
    gzip_playlists: bool = False

    # The web app: where its build is, and when the Start Over prompt shows (tests shorten it).
    web_app_dir: Path = REPO_DIR / "frontend" / "dist"
    startover_prompt_after_seconds: int = Field(default=180, ge=0, le=24 * 3600)

    # How often the catch-up expiry notifications are looked for (new ones show within a minute).
    expiry_notifications_every_seconds: int = Field(default=60, ge=5, le=24 * 3600)

    # Cloud recordings (network PVR): kept this long after the programme ended; hours per user.
    recording_retention_days: int = Field(default=90, ge=1, le=3650)
    recording_quota_hours: float = Field(default=20, gt=0, le=100_000)

    # Bearer token Prometheus scrapes /metrics with (besides an admin's JWT); empty: admins only.
    metrics_token: str = ""

    # Process role (docs/SCALING.md): `all` is the single process (HTTP, encoders, jobs); `api` serves HTTP
    # only; `worker` runs encoders and jobs (serving /healthz and /metrics). api/worker need PostgreSQL.
    tstv_role: Literal["all", "api", "worker"] = "all"
    # A worker's name in the cluster (its pidfile and status rows); default: host name and pid.
    tstv_worker_id: str = Field(default="", max_length=100)

    # Start-up behaviour (the run command wants all on; tests switch pieces off).
    seed_on_startup: bool = True
    background_jobs: bool = True
    simlive_autostart: bool = True
    # On an empty archive, backfill this many past hours of every channel once it is on air, so
    # Catch-Up has programmes at once (app/services/encoders/backfill_jobs.py); 0 disables.
    backfill_hours: float = Field(default=2.0, ge=0, le=168)
    # Tests only: `name=count,...` makes the supervised task `name` raise its first `count` runs
    # (app/supervision.py), to show it is restarted, counted and reported.
    task_faults: str = ""

    @field_validator("abr_ladder")
    @classmethod
    def _check_ladder(cls, value: str) -> str:
        parse_ladder(value)  # a bad ladder stops the start-up with the reason
        return value

    @field_validator("task_faults")
    @classmethod
    def _check_faults(cls, value: str) -> str:
        parse_faults(value)
        return value

    @property
    def task_fault_counts(self) -> dict[str, int]:
        return parse_faults(self.task_faults)

    @field_validator("archive_disk_floor")
    @classmethod
    def _check_disk_floor(cls, value: str) -> str:
        disk_floor.parse(value)  # a bad floor stops the start-up with the reason
        return value

    @property
    def ladder(self) -> tuple[Rung, ...]:
        return parse_ladder(self.abr_ladder)

    @model_validator(mode="after")
    def _check_secret(self) -> Settings:
        if self.tstv_env != "development" and len(self.jwt_secret) < 32:
            raise ValueError("JWT_SECRET must be set to at least 32 characters outside development")
        if not self.jwt_secret:
            self.jwt_secret = install_secret(self.secret_path, "jwt")
        if self.cdn_signing_secret and not url_signing.SECRET_RE.match(self.cdn_signing_secret):
            raise ValueError("CDN_SIGNING_SECRET must be 32-128 characters of A-Z, a-z, 0-9, _ and -")
        if self.metrics_token and len(self.metrics_token) < MIN_METRICS_TOKEN:
            raise ValueError(f"METRICS_TOKEN must be empty or at least {MIN_METRICS_TOKEN} characters")
        self.database_url = normalise_database_url(self.database_url)
        return self

    @property
    def secret_path(self) -> Path:
        """The install's generated secrets (development): beside the SQLite file, else in var/."""
        if self.jwt_secret_file is not None:
            return self.jwt_secret_file
        if self.is_sqlite:
            path = self.database_url.split("///", 1)[-1]
            if path and path != ":memory:":
                return Path(path).resolve().parent / SECRET_FILE_NAME
        return REPO_DIR / "var" / SECRET_FILE_NAME

    @property
    def demo_password(self) -> str:
        """The demo accounts' password (development only): TSTV_DEMO_PASSWORD, else this install's."""
        return self.tstv_demo_password or install_secret(self.secret_path.with_name("demo-password"), "demo")

    @property
    def url_signing_secret(self) -> str:
        """The secret segment URLs are signed with (CDN_SIGNING_SECRET, else derived from JWT_SECRET)."""
        return self.cdn_signing_secret or url_signing.derive_secret(self.jwt_secret)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def role_error(self) -> str | None:
        """Why this role cannot start with these settings (None when it can)."""
        if self.tstv_role != "all" and self.is_sqlite:
            return (
                f"TSTV_ROLE={self.tstv_role} needs PostgreSQL (shared encoder ownership, wanted state and "
                "jobs leadership live there): set DATABASE_URL=postgresql://..., or use TSTV_ROLE=all "
                "for the single process on SQLite"
            )
        return None

    @property
    def stills_path(self) -> Path:
        return self.stills_dir or self.hls_segment_dir.parent / "stills"

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]


def install_secret(path: Path, what: str) -> str:
    """A random secret generated on first use and kept in `path` (0600, its directory 0700 when we
    create it): a restart reads the same one, another install (another path) has its own."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    value = secrets.token_urlsafe(32 if what == "jwt" else 12)
    try:
        # O_EXCL: two processes starting at once agree on the first one written.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as out:
        out.write(value + "\n")
    return value


def normalise_database_url(url: str) -> str:
    """Accept the plain driver names operators type and pick the async drivers."""
    for plain, async_ in (
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
        ("sqlite:///", "sqlite+aiosqlite:///"),
    ):
        if url.startswith(plain):
            return async_ + url[len(plain) :]
    return url


@lru_cache
def get_settings() -> Settings:
    return Settings()
