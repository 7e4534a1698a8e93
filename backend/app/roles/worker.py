"""TSTV_ROLE=worker. An encoder worker: the SimLive encoders it owns and, as jobs leader, the
background jobs; /healthz and /metrics only; PostgreSQL only. Entry points: `app/roles/__init__.py`."""

from __future__ import annotations

from app.roles import app_factory_of, run_as

app_factory = app_factory_of("worker")

if __name__ == "__main__":
    run_as("worker")
