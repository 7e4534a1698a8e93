"""TSTV_ROLE=api. An API replica: HTTP only (no encoders, no jobs); PostgreSQL only. Entry points:
`app/roles/__init__.py`."""

from __future__ import annotations

from app.roles import app_factory_of, run_as

app_factory = app_factory_of("api")

if __name__ == "__main__":
    run_as("api")
