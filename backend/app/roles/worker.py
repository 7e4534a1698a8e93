"""TSTV_ROLE=worker. An encoder worker: the SimLive encoders it owns and, as jobs leader, the
background jobs; /healthz and /metrics only; PostgreSQL only.

`python -m app.roles.worker` migrates and serves (PORT/HOST);
`uvicorn --factory app.roles.worker:app_factory` serves only."""

from __future__ import annotations

from fastapi import FastAPI

from app.roles import factory_for


def app_factory() -> FastAPI:
    return factory_for("worker")


if __name__ == "__main__":
    from app.launcher import main

    main("worker")
