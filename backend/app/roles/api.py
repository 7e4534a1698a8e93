"""TSTV_ROLE=api. An API replica: HTTP only (no encoders, no jobs); PostgreSQL only.

`python -m app.roles.api` migrates and serves (PORT/HOST); `uvicorn --factory app.roles.api:app_factory`
serves only."""

from __future__ import annotations

from fastapi import FastAPI

from app.roles import factory_for


def app_factory() -> FastAPI:
    return factory_for("api")


if __name__ == "__main__":
    from app.launcher import main

    main("api")
