"""Process roles (TSTV_ROLE, issue 13), one entry module each:

- `app.roles.all`: the single process (HTTP, encoders, jobs; SQLite or PostgreSQL), `make run`;
- `app.roles.api`: HTTP only, any number of replicas (no encoders, no jobs; archive index from the
  shared archive, encoder control through the database: `services/encoder_control`);
- `app.roles.worker`: encoders and background jobs, serving /healthz and /metrics only (ownership
  by PostgreSQL advisory locks: `services/encoder_ownership`).

`python -m app.launcher` runs the role TSTV_ROLE names; `python -m app.roles.<role>` forces one.
"""

from __future__ import annotations

from typing import Literal

from fastapi import FastAPI

from app.config import get_settings
from app.logging_setup import configure_logging

Role = Literal["all", "api", "worker"]


def factory_for(role: Role) -> FastAPI:
    """The app of one role (uvicorn `--factory`); exits with status 2 when the role cannot run."""
    from app.main import build_for_role

    settings = get_settings().model_copy(update={"tstv_role": role})
    configure_logging(settings.log_level)
    return build_for_role(settings)
