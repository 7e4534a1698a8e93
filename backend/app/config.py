"""Settings from environment variables (SPEC §7)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.ladder import DEFAULT_LADDER, Rung, parse_ladder

BACKEND_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = BACKEND_DIR.parent
DEV_JWT_SECRET = "development-only-secret-do-not-use-in-production"
MIN_METRICS_TOKEN = 16


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    tstv_env: Literal["development", "production"] = "development"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    database_url: str = f"sqlite+aiosqlite:///{REPO_DIR / 'var' / 'tstv.db'}"
    jwt_secret: str = ""
    jwt_expiry_minutes: int = Field(default=12 * 60, ge=1)
    tstv_demo_password: str = "tstv-demo"

    hls_segment_dir: Path = REPO_DIR / "var" / "hls"
    hls_sources_dir: Path = REPO_DIR / "media" / "sources"
    hls_segment_duration: int = Field(default=6, ge=1, le=30)
    # `{host}`: the host name the viewer reached the API with (localhost, 127.0.0.1, a LAN address).
    cdn_base_url: str = "http://{host}:8081/hls"
    drm_enabled: bool = True
    ffmpeg_binary: str = ""
    # Adaptive bitrate ladder: `name:WIDTHxHEIGHT:BITRATE` rungs, comma-separated (app/ladder.py).
    abr_ladder: str = DEFAULT_LADDER
    # Programme stills (one JPEG per programme); default: `stills` next to the archive.
    stills_dir: Path | None = None
    live_window_minutes: int = Field(default=30, ge=1, le=24 * 60)
    cors_origins: str = "http://localhost:5173,http://localhost:8000"

    # The web app: where its build is, and when the Start Over prompt shows (tests shorten it).
    web_app_dir: Path = REPO_DIR / "frontend" / "dist"
    startover_prompt_after_seconds: int = Field(default=180, ge=0, le=24 * 3600)

    # How often the catch-up expiry notifications are looked for (J6: new ones show within a minute).
    expiry_notifications_every_seconds: int = Field(default=60, ge=5, le=24 * 3600)

    # Cloud recordings (network PVR): kept this long after the programme ended; hours per user.
    recording_retention_days: int = Field(default=90, ge=1, le=3650)
    recording_quota_hours: float = Field(default=20, gt=0, le=100_000)

    # Bearer token Prometheus scrapes /metrics with (besides an admin's JWT); empty: admins only.
    metrics_token: str = ""

    # Process role (issue 13): `all` is the single process (HTTP, encoders, jobs); `api` serves HTTP
    # only; `worker` runs encoders and jobs (serving /healthz and /metrics). api/worker need PostgreSQL.
    tstv_role: Literal["all", "api", "worker"] = "all"
    # A worker's name in the cluster (its pidfile and status rows); default: host name and pid.
    tstv_worker_id: str = Field(default="", max_length=100)

    # Start-up behaviour (the run command wants all on; tests switch pieces off).
    seed_on_startup: bool = True
    background_jobs: bool = True
    simlive_autostart: bool = True

    @field_validator("abr_ladder")
    @classmethod
    def _check_ladder(cls, value: str) -> str:
        parse_ladder(value)  # a bad ladder stops the start-up with the reason
        return value

    @property
    def ladder(self) -> tuple[Rung, ...]:
        return parse_ladder(self.abr_ladder)

    @model_validator(mode="after")
    def _check_secret(self) -> Settings:
        if self.tstv_env != "development" and len(self.jwt_secret) < 32:
            raise ValueError("JWT_SECRET must be set to at least 32 characters outside development")
        if not self.jwt_secret:
            self.jwt_secret = DEV_JWT_SECRET
        if self.metrics_token and len(self.metrics_token) < MIN_METRICS_TOKEN:
            raise ValueError(f"METRICS_TOKEN must be empty or at least {MIN_METRICS_TOKEN} characters")
        self.database_url = normalise_database_url(self.database_url)
        return self

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
