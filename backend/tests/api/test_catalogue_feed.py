"""The catalogue version pushed by LISTEN/NOTIFY (docs/PERFORMANCE.md, 'Masters without a
database round trip'): a master playlist makes no
database round trip while the listener is subscribed; a change by plain SQL on another connection
is honoured within 1 s through the notification; with the listener's connection killed, requests
read the version (a change made meanwhile is honoured) until it has resubscribed; this process's
own writes are honoured on its next request; SQLite (no notifications) reads the version."""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, update

from app.catalogue_version import CatalogueFeed, CatalogueListener
from app.config import Settings
from app.db import asyncpg_dsn, make_engine
from app.main import create_app
from app.models import ScheduleEntry
from tests.archive_factory import create_recorded_channel
from tests.conftest import API, login, make_settings, migrate

Clock = Callable[[Any], None]
SET_ELIGIBLE = "UPDATE schedule_entries SET catchup_eligible = $1 WHERE id = $2"


async def until(what: str, check: Callable[[], Awaitable[bool]], within: float) -> float:
    """Poll `check` until true; the seconds it took (fails after `within`)."""
    start = time.monotonic()
    while not await check():
        if time.monotonic() - start > within:
            raise AssertionError(f"not {what} within {within} s")
        await asyncio.sleep(0.002)
    return time.monotonic() - start


def feed_of(app: FastAPI) -> CatalogueFeed:
    feed: CatalogueFeed = app.state.catalogue_feed
    return feed


async def subscribed(app: FastAPI) -> None:
    async def check() -> bool:
        return feed_of(app).subscribed

    await until("subscribed", check, 10)


async def settled(app: FastAPI, client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> None:
    """Until the feed is current: a notification of this test's own set-up writes that arrives while a
    request reads the version leaves it unverified until a later request reads it again."""

    async def check() -> bool:
        assert await status(client, url, headers) == 200
        return feed_of(app).current()

    await until("current", check, 10)


async def recorded_programmes(app: FastAPI, clock: Clock) -> list[str]:
    """Master URLs of three recorded programmes, all on catch-up now."""
    first = datetime.fromtimestamp(math.floor(time.time() / 600) * 600 - 4 * 3600, UTC)
    ch, es = await create_recorded_channel(app, first, 600, 3, recorded=(0, 3))
    clock(es[-1].end_time + timedelta(minutes=5))
    return [f"{API}/tstv/catchup/{ch.id}/manifest?schedule_entry_id={e.id}" for e in es]


def entry_of(url: str) -> uuid.UUID:
    return uuid.UUID(url.rsplit("=", 1)[1])


async def status(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> int:
    return (await client.get(url, headers=headers)).status_code


async def test_masters_make_no_database_round_trip_while_subscribed(
    app: FastAPI, client: httpx.AsyncClient, viewer_headers: dict[str, str], frozen_clock: Clock
) -> None:
    urls = await recorded_programmes(app, frozen_clock)
    await subscribed(app)
    for url in urls:
        assert await status(client, url, viewer_headers) == 200  # the first of each reads its rows
    await settled(app, client, urls[0], viewer_headers)
    checkouts: list[object] = []
    pools = [app.state.db.engine.sync_engine.pool, app.state.db.reader_engine.sync_engine.pool]
    record = lambda *_: checkouts.append(1)  # noqa: E731
    for pool in pools:
        event.listen(pool, "checkout", record)
    try:
        feed = feed_of(app)
        reads = feed.version_reads
        for _ in range(3):
            for url in urls:
                assert await status(client, url, viewer_headers) == 200
    finally:
        for pool in pools:
            event.remove(pool, "checkout", record)
    assert checkouts == [] and feed.version_reads == reads


async def test_a_change_by_sql_elsewhere_is_honoured_within_a_second(
    app: FastAPI,
    settings: Settings,
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    frozen_clock: Clock,
) -> None:
    url = (await recorded_programmes(app, frozen_clock))[1]
    await subscribed(app)
    await settled(app, client, url, viewer_headers)
    feed = feed_of(app)
    reads = feed.version_reads
    conn = await asyncpg.connect(asyncpg_dsn(settings.database_url))
    delays = []
    try:
        for eligible, expected in ((False, 403), (True, 200), (False, 403), (True, 200)):
            await conn.execute(SET_ELIGIBLE, eligible, entry_of(url))

            async def honoured(expected: int = expected) -> bool:
                return await status(client, url, viewer_headers) == expected

            delays.append(await until("honoured", honoured, 1.0))
    finally:
        await conn.close()
    # Through the notification: no request read the version.
    assert feed.version_reads == reads
    print(f"write -> master honoured: {', '.join(f'{d * 1000:.1f} ms' for d in delays)}")


async def test_this_process_writes_are_honoured_on_its_next_request(
    app: FastAPI, client: httpx.AsyncClient, viewer_headers: dict[str, str], frozen_clock: Clock
) -> None:
    url = (await recorded_programmes(app, frozen_clock))[0]
    await subscribed(app)
    assert await status(client, url, viewer_headers) == 200
    feed = feed_of(app)
    for eligible, expected in ((False, 403), (True, 200)):
        reads = feed.version_reads
        async with app.state.db.sessionmaker() as session:
            stmt = update(ScheduleEntry).where(ScheduleEntry.id == entry_of(url))
            await session.execute(stmt.values(catchup_eligible=eligible))
            await session.commit()
        # Not waiting for the notification: the write was seen, the next request reads the version.
        assert not feed.current()
        assert await status(client, url, viewer_headers) == expected
        assert feed.version_reads > reads


async def test_a_lost_listener_falls_back_to_reading_the_version_and_resubscribes(
    app: FastAPI,
    settings: Settings,
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    frozen_clock: Clock,
) -> None:
    url = (await recorded_programmes(app, frozen_clock))[2]
    listener: CatalogueListener = app.state.catalogue_listener
    feed = feed_of(app)
    await subscribed(app)
    assert await status(client, url, viewer_headers) == 200
    subscriptions, pid = feed.subscriptions, listener.server_pid
    listener.retry_delay = 1.0  # long enough to observe the fallback, short enough to wait for
    conn = await asyncpg.connect(asyncpg_dsn(settings.database_url))
    try:
        assert await conn.fetchval("SELECT pg_terminate_backend($1)", pid)

        async def gone() -> bool:
            return not feed.subscribed

        await until("unsubscribed", gone, 5)
        reads = feed.version_reads
        # A change meanwhile: no notification can reach this process, the request reads the version.
        await conn.execute(SET_ELIGIBLE, False, entry_of(url))
        assert await status(client, url, viewer_headers) == 403
        assert feed.version_reads > reads and not feed.subscribed

        async def back() -> bool:
            return feed.subscriptions > subscriptions and feed.current()

        await until("resubscribed", back, 10)
        assert listener.server_pid not in (None, pid)
        metrics = (await client.get("/metrics", headers=await login(client, "admin@tstv.local"))).text
        assert "tstv_catalogue_subscribed 1.0" in metrics
        # Notifications again.
        reads = feed.version_reads
        await conn.execute(SET_ELIGIBLE, True, entry_of(url))

        async def honoured() -> bool:
            return await status(client, url, viewer_headers) == 200

        await until("honoured", honoured, 1.0)
        assert feed.version_reads == reads
    finally:
        listener.retry_delay = 0.1
        await conn.close()


@pytest.mark.parametrize("writer", ["this process", "another connection"])
async def test_sqlite_reads_the_version_per_request(
    tmp_path: Path, hls_dir: Path, frozen_clock: Clock, writer: str
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'feed.db'}"
    await migrate(url)
    application = create_app(make_settings(url, hls_dir))
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://test") as client,
    ):
        assert application.state.catalogue_listener is None
        headers = await login(client, "viewer@tstv.local")
        master = (await recorded_programmes(application, frozen_clock))[1]
        assert await status(client, master, headers) == 200
        engine = make_engine(Settings(database_url=url)) if writer != "this process" else None
        try:
            for eligible, expected in ((False, 403), (True, 200)):
                stmt = update(ScheduleEntry).where(ScheduleEntry.id == entry_of(master))
                if engine is None:
                    async with application.state.db.sessionmaker() as session:
                        await session.execute(stmt.values(catchup_eligible=eligible))
                        await session.commit()
                else:
                    async with engine.begin() as conn:
                        await conn.execute(stmt.values(catchup_eligible=eligible))
                assert await status(client, master, headers) == expected
        finally:
            if engine is not None:
                await engine.dispose()
        assert not feed_of(application).current()
