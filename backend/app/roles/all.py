"""TSTV_ROLE=all. The single process: HTTP, SimLive encoders and background jobs (SQLite or
PostgreSQL). Entry points: `app/roles/__init__.py`."""

from __future__ import annotations

from app.roles import app_factory_of, run_as

app_factory = app_factory_of("all")

if __name__ == "__main__":
    run_as("all")
