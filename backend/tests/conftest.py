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
TESTS_DIR = BACKEND_DIR / "tests"
# The tiers: each a folder of tests/ whose tests get its marker; pyproject.toml's markers say what
# each tier's tests start. `make test-fast` runs the first two (scripts/test_fast.sh).
TIERS = ("unit", "api", "media", "web", "cluster")
# The modules that take longest, longest first (most of their time is spent waiting for programmes
# to air in real time, not on the CPU): `make test` runs modules side by side (pytest-xdist) and
# hands these out first, so that none of them starts last. See scripts/test.sh.
LONGEST_MODULES = (
    "cluster/test_cluster_web",
    "web/test_web_player",
    "web/test_e2e_playback",
    "cluster/test_cluster",  # after test_cluster_web, whose set-up prepares the seeded channels' sources
    "media/test_simlive",
    "web/test_backfill",
    "web/test_web_admin",
    "web/test_web_browse",
    "media/test_accounts",
    "media/test_abuse",
    "media/test_deploy",
    "media/test_handover",
    "media/test_thumbnails",
    "web/test_thumbnails_in_chromium",
    "media/test_openapi_conformance",
    "web/test_web_recordings",
    "web/test_web_live_gap",
    "api/test_recordings",
    "media/test_stills",
    "media/test_ladder",
)
API = "/api/v1"
DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEMO_PASSWORD = "tstv-demo-test"


def _module(item: pytest.Item) -> str:
    """The item's module as its path under tests/ without the suffix (`web/test_web_player`)."""
    return item.path.relative_to(TESTS_DIR).with_suffix("").as_posix()


@pytest.hookimpl(tryfirst=True)  # before `-m` selects by the markers given here
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Each test is marked with its tier (its folder). On a pytest-xdist worker, the longest
    modules come first: with `--dist loadfile --no-loadscope-reorder` (scripts/test.sh) the workers
    take whole modules in this order (a module's tests share its module fixtures: a running stack,
    a browser; some follow on)."""
    for item in items:
        tier = _module(item).split("/", 1)[0]
        if tier in TIERS:
            item.add_marker(tier)
    if not hasattr(config, "workerinput"):
        return
    rank = {name: i for i, name in enumerate(LONGEST_MODULES)}
    order = {id(item): i for i, item in enumerate(items)}
    items.sort(key=lambda item: (rank.get(_module(item), len(rank)), order[id(item)]))


# When each module ran and on which worker (start of its first step to the end of its last), printed
# after the slowest steps: the batch's wall time is the busiest worker's chain of modules.
_module_spans: dict[tuple[str, str], list[float]] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    worker = getattr(getattr(getattr(report, "node", None), "gateway", None), "id", "main")
    key = (str(worker), report.nodeid.split("::", 1)[0])
    span = _module_spans.setdefault(key, [report.start, report.stop])
    span[0], span[1] = min(span[0], report.start), max(span[1], report.stop)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if len(_module_spans) < 2:
        return
    t0 = min(start for start, _ in _module_spans.values())
    terminalreporter.section("modules of 5 s or more, by worker (seconds from the first step)")
    ends: dict[str, float] = {}
    for (worker, module), (start, stop) in sorted(_module_spans.items(), key=lambda kv: (kv[0][0], kv[1][0])):
        ends[worker] = max(ends.get(worker, 0.0), stop - t0)
        if stop - start >= 5:
            terminalreporter.write_line(
                f"{worker:>5} {start - t0:6.0f} -> {stop - t0:6.0f} ({stop - start:4.0f} s) {module}"
            )
    last = ", ".join(f"{w} {e:.0f} s" for w, e in sorted(ends.items()))
    terminalreporter.write_line(f"last step ends: {last}")


def server_url() -> str:
    return os.environ.get("TEST_DATABASE_URL", DEFAULT_SERVER_URL)


def asyncpg_dsn(url: str) -> str:
    u = make_url(url).set(drivername="postgresql")
    return u.render_as_string(hide_password=False)


async def create_database(name: str, server: str | None = None) -> str:
    """A new database on `server` (default: the test server) as the app's URL."""
    server = server or server_url()
    conn = await asyncpg.connect(asyncpg_dsn(server))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return (
        make_url(server)
        .set(drivername="postgresql+asyncpg", database=name)
        .render_as_string(hide_password=False)
    )


async def drop_database(name: str, server: str | None = None) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(server or server_url()))
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
def shared_sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache of prepared channel sources for every stack and cluster of the run, on every
    pytest-xdist worker (they share their base temp's parent): sources are cached by content (the
    channel's key and name, loop, rung: app/services/encoders/sources.py), so the stacks and
    clusters that run the same channels encode their loops once."""
    base = tmp_path_factory.getbasetemp()
    path = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "shared-sources-cache"
    path.mkdir(exist_ok=True)
    return path


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
