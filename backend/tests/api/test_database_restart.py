"""PostgreSQL stopped and started again under requests (a private cluster: tests/private_pg.py): while
it is down every answer is 200 or 503 `database_unavailable` (never a 500), and within 2 s of it
accepting connections again every route is served, on fresh connections (app/db.py); and the
driver-level query path on a connection the server ended."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterator

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from app.config import Settings
from app.db import Database, DriverQuery, asyncpg_dsn, database_unavailable
from app.main import create_app
from app.models import CatalogueState
from tests.conftest import login, make_settings, migrate
from tests.private_pg import PrivatePostgres, accepts_connections, private_postgres

# The writer pool (a session), the reader pool with `DriverQuery` (a catch-up listing and its
# bookmark positions) and the health check.
PATHS = ("/healthz", "/api/v1/epg/channels", "/api/v1/tstv/recently-aired")
SERVED_WITHIN = 2.0
VERSION_QUERY = DriverQuery(select(CatalogueState.version).where(CatalogueState.id == 1))

Answer = tuple[float, str, int, str | None]  # (monotonic time, path, status, detail)


@pytest.fixture(scope="module")
def pg() -> Iterator[PrivatePostgres]:
    with private_postgres() as server:
        yield server


@pytest.fixture(scope="module")
async def pg_app(pg: PrivatePostgres, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FastAPI]:
    name = f"tstv_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(pg.server_url)
    try:
        await conn.execute(f"CREATE DATABASE {name}")
    finally:
        await conn.close()
    url = pg.url(name)
    await migrate(url)
    app = create_app(make_settings(url, tmp_path_factory.mktemp("pg-restart-hls")))
    async with app.router.lifespan_context(app):
        yield app


async def _answered(client: httpx.AsyncClient, path: str, headers: dict[str, str]) -> Answer:
    r = await client.get(path, headers=headers)
    body = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
    detail = body.get("detail") if isinstance(body, dict) else None
    return time.monotonic(), path, r.status_code, detail


async def _until(check: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(0.05)


async def test_requests_through_a_postgresql_stop_and_start(pg: PrivatePostgres, pg_app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=pg_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        headers = await login(client, "viewer@tstv.local")
        answers: list[Answer] = []
        done = asyncio.Event()

        async def keep_asking(path: str) -> None:
            while not done.is_set():
                answers.append(await _answered(client, path, headers))
                await asyncio.sleep(0.02)

        askers = [asyncio.create_task(keep_asking(p)) for p in PATHS]
        try:

            def each_path(status: int, since: float) -> bool:
                return all(
                    any(a[1] == p and a[2] == status and a[0] >= since for a in answers) for p in PATHS
                )

            await _until(lambda: each_path(200, 0), 10, "every route served before the stop")
            await pg.actl("-m", "fast", "-w", "stop")
            stopped = time.monotonic()
            await _until(lambda: each_path(503, stopped), 10, "every route answering 503 while down")
            starting = asyncio.create_task(pg.actl("-w", "start"))
            accepted = await accepts_connections(pg, 30)
            await starting
            await _until(lambda: each_path(200, accepted), 10, "every route served again")
            served_again = max(
                min(a[0] for a in answers if a[1] == p and a[2] == 200 and a[0] >= accepted) for p in PATHS
            )
            # And stays served: every answer from then on.
            await _until(
                lambda: sum(1 for a in answers if a[0] > served_again) >= 3 * len(PATHS), 10, "answers"
            )
        finally:
            done.set()
            await asyncio.gather(*askers)

    print(f"\nevery route served {served_again - accepted:.2f} s after PostgreSQL accepted connections")
    assert served_again - accepted <= SERVED_WITHIN
    outage = [a for a in answers if stopped <= a[0] <= accepted]
    assert outage and {a[2] for a in answers} <= {200, 503}, {a[2] for a in answers}
    for _, path, status, detail in answers:
        if status == 503:
            # /healthz says it its own way (`status: unavailable`); every API route the same way.
            assert detail == "database_unavailable" or path == "/healthz", (path, detail)
    assert all(a[2] == 200 for a in answers if a[0] > served_again)


async def test_first_request_after_a_quiet_restart_is_served(pg: PrivatePostgres, pg_app: FastAPI) -> None:
    """No request during a `pg_ctl restart`: the pools still hold the connections the server
    closed, and the first request on each is served all the same (replaced on checkout)."""
    transport = httpx.ASGITransport(app=pg_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        headers = await login(client, "viewer@tstv.local")
        for path in PATHS:  # every pool holds a connection
            assert (await client.get(path, headers=headers)).status_code == 200
        await pg.actl("-m", "fast", "-w", "restart")
        await accepts_connections(pg, 30)
        for path in PATHS:
            r = await client.get(path, headers=headers)
            assert r.status_code == 200, (path, r.status_code, r.text)


async def test_driver_query_on_a_connection_the_server_ended(database_url: str) -> None:
    """`DriverQuery` runs on the driver, past SQLAlchemy's disconnect handling: a connection found
    dead is invalidated (the pool replaces it) and the failure is SQLAlchemy's, which requests
    answer with 503 `database_unavailable`."""
    db = Database(Settings(database_url=database_url, jwt_secret="unused-" + "x" * 32))
    try:
        async with db.reader_engine.connect() as conn:
            raw = await conn.get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None
            other = await asyncpg.connect(asyncpg_dsn(database_url))
            try:
                assert await other.fetchval("SELECT pg_terminate_backend($1)", driver.get_server_pid())
            finally:
                await other.close()
            with pytest.raises(OperationalError) as failed:
                await VERSION_QUERY.rows(conn, {})
            assert failed.value.connection_invalidated and database_unavailable(failed.value)
        async with db.reader_engine.connect() as conn:  # a new connection
            assert len(await VERSION_QUERY.rows(conn, {})) == 1
    finally:
        await db.dispose()
