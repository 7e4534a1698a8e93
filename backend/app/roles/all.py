"""TSTV_ROLE=all. The single process: HTTP, SimLive encoders and background jobs (SQLite or
PostgreSQL).

`python -m app.roles.all` migrates and serves (PORT/HOST); `uvicorn --factory app.roles.all:app_factory`
serves only."""

from __future__ import annotations

from fastapi import FastAPI

from app.roles import factory_for


def app_factory() -> FastAPI:
    return factory_for("all")


if __name__ == "__main__":
    from app.launcher import main

    main("all")
