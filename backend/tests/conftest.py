"""Shared fixtures: a throwaway PostgreSQL database per run, the app, and logged-in clients.

The database comes from TEST_DATABASE_URL (a server URL; a fresh database is created on it and
dropped afterwards), defaulting to the local server on 127.0.0.1:5432.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from alembic import command
from alembic.config import Config
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from app import clock
from app.config import Settings
from app.main import create_app

BACKEND_DIR = Path(__file__).resolve().parent.parent
DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEMO_PASSWORD = "tstv-demo-test"


def server_url() -> str:
    return os.environ.get("TEST_DATABASE_URL", DEFAULT_SERVER_URL)


def asyncpg_dsn(url: str) -> str:
    u = make_url(url).set(drivername="postgresql")
    return u.render_as_string(hide_password=False)


async def create_database(name: str) -> str:
    conn = await asyncpg.connect(asyncpg_dsn(server_url()))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return (
        make_url(server_url())
        .set(drivername="postgresql+asyncpg", database=name)
        .render_as_string(hide_password=False)
    )


async def drop_database(name: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(server_url()))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def alembic_config(database_url: str) -> Config:
    cfg = Config(str(BACKEND_DIR / "alembic.ini"))
    cfg.attributes["database_url"] = database_url
    cfg.attributes["skip_logging_config"] = True
    return cfg


async def migrate(database_url: str, revision: str = "head") -> None:
    # env.py runs its own event loop, so run Alembic in a worker thread.
    await asyncio.to_thread(command.upgrade, alembic_config(database_url), revision)


async def downgrade(database_url: str, revision: str = "base") -> None:
    await asyncio.to_thread(command.downgrade, alembic_config(database_url), revision)


@pytest.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    name = f"tstv_test_{os.getpid()}_{secrets.token_hex(4)}"
    url = await create_database(name)
    await migrate(url)
    try:
        yield url
    finally:
        await drop_database(name)


@pytest.fixture(scope="session")
def hls_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hls")


def make_settings(database_url: str, hls_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "tstv_env": "development",
        "jwt_secret": "test-secret-" + "x" * 40,
        "tstv_demo_password": DEMO_PASSWORD,
        "hls_segment_dir": hls_dir,
        "hls_sources_dir": hls_dir.parent / "sources",
        "seed_on_startup": True,
        "background_jobs": False,
        "simlive_autostart": False,
        **overrides,
    }
    return Settings(**values)


@pytest.fixture(scope="session")
def settings(database_url: str, hls_dir: Path) -> Settings:
    return make_settings(database_url, hls_dir)


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def login(client: httpx.AsyncClient, email: str, password: str = DEMO_PASSWORD) -> dict[str, str]:
    r = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture
async def viewer_headers(client: httpx.AsyncClient) -> dict[str, str]:
    return await login(client, "viewer@tstv.local")


@pytest.fixture
async def nosub_headers(client: httpx.AsyncClient) -> dict[str, str]:
    return await login(client, "nosub@tstv.local")


@pytest.fixture
async def admin_headers(client: httpx.AsyncClient) -> dict[str, str]:
    return await login(client, "admin@tstv.local")


@pytest.fixture
def frozen_clock() -> Iterator[Callable[[Any], None]]:
    """Install a fixed clock: call the fixture's value with a datetime to move it."""
    current: list[Any] = []

    def set_to(at: Any) -> None:
        current[:] = [at]
        clock.set_clock(lambda: current[0])

    yield set_to
    clock.set_clock(None)
