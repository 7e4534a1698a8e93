"""Process roles (TSTV_ROLE, docs/SCALING.md), one entry module each:

- `app.roles.all`: the single process (HTTP, encoders, jobs; SQLite or PostgreSQL), `make run`;
- `app.roles.api`: HTTP only, any number of replicas (no encoders, no jobs; archive index from the
  shared archive, encoder control through the database: `app/services/encoders/cluster_control.py`);
- `app.roles.worker`: encoders and background jobs, serving /healthz and /metrics only (ownership
  by PostgreSQL advisory locks: `app/services/encoders/ownership.py`).

`python -m app.launcher` runs the role TSTV_ROLE names; `python -m app.roles.<role>` forces one
(migrates, then serves on PORT/HOST); `uvicorn --factory app.roles.<role>:app_factory` serves only.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
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


def app_factory_of(role: Role) -> Callable[[], FastAPI]:
    """The zero-argument factory an entry module exports as `app_factory`."""
    return functools.partial(factory_for, role)


def run_as(role: Role) -> None:
    """What `python -m app.roles.<role>` does: migrate, then serve."""
    from app.launcher import main

    main(role)
