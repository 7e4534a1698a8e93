"""Async engine and session factory shared by the app, jobs and tests.

PostgreSQL restarts: every connection the server closed is noticed by asyncpg (the server says so
and closes the socket) and replaced when it is next checked out of a pool (`_replace_closed`, no
round trip, unlike SQLAlchemy's pre-ping); a statement that still meets a dead connection
invalidates it (SQLAlchemy does so itself, `DriverQuery` below the same way), and requests
answer 503 `database_unavailable` (`database_unavailable`, app/errors.py) until the server
accepts connections again, then are served on fresh ones.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Sequence
from typing import Any

import asyncpg
from sqlalchemy import CompoundSelect, Select, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

from app.config import Settings


def asyncpg_dsn(database_url: str) -> str:
    """The SQLAlchemy URL as asyncpg takes it, for LISTEN/NOTIFY and advisory-lock connections."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


class Base(DeclarativeBase):
    pass


def make_engine(
    settings: Settings, pool_size: int = 10, max_overflow: int = 10, **options: Any
) -> AsyncEngine:
    if settings.is_sqlite:
        path = settings.database_url.split("///", 1)[-1]
        if path and path != ":memory:":
            from pathlib import Path

            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(settings.database_url, connect_args={"timeout": 30}, **options)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    engine = create_async_engine(
        settings.database_url, pool_size=pool_size, max_overflow=max_overflow, pool_recycle=1800, **options
    )
    event.listen(engine.sync_engine.pool, "checkout", _replace_closed)
    return engine


def _replace_closed(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
    """A pooled connection the server closed (a restart) is replaced on checkout: raising
    DisconnectionError makes the pool open a new one. asyncpg knows without a round trip."""
    driver = getattr(dbapi_conn, "driver_connection", None)
    if driver is not None and driver.is_closed():
        raise sa_exc.DisconnectionError("the server closed this pooled connection")


# Connection failures that mean "no database now" when they reach a request: PostgreSQL's own
# refusals (starting up, shutting down, too many clients), a lost connection, a refused socket.
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,  # class 08
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
    asyncpg.ConnectionDoesNotExistError,
    ConnectionRefusedError,
    ConnectionResetError,
    ConnectionAbortedError,
    socket.gaierror,
)


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` (or what caused it) says the database cannot be reached, rather than that a
    statement failed: the request answers 503 and may be retried."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, sa_exc.DBAPIError) and cur.connection_invalidated:
            return True
        if isinstance(cur, _UNAVAILABLE):
            return True
        if isinstance(cur, asyncpg.InterfaceError) and "connection is closed" in str(cur):
            return True
        cur = cur.__cause__ or cur.__context__
    return False


async def close_session(session: AsyncSession) -> None:
    """Close a request's session after its answer was sent: its rollback on a connection the
    server has just ended fails, and that is no error (nothing to roll back; the pool replaces the
    connection), where raising it would fail a request already answered."""
    try:
        await asyncio.shield(session.close())
    except Exception as exc:
        if not database_unavailable(exc):
            raise


class Database:
    """Holds the engine and session factory for one process."""

    def __init__(self, settings: Settings) -> None:
        self.engine = make_engine(settings)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        # Hot read-only lookups get their own autocommit pool: no BEGIN/ROLLBACK round trips
        # around a single SELECT (a shared pool would reset the isolation level on every return).
        # Connections beyond pool_size are closed on return, and opening one starts a PostgreSQL
        # backend (milliseconds of CPU): the hot read pool keeps enough for 32 requests in flight
        # (playlists at 32 clients went from 880 to 1,400 per second).
        self.reader_engine = make_engine(settings, pool_size=32, max_overflow=0, isolation_level="AUTOCOMMIT")
        self.reader = async_sessionmaker(self.reader_engine, expire_on_commit=False)

    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessionmaker() as session:
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
        await self.reader_engine.dispose()


class DriverQuery:
    """A Core SELECT compiled once per dialect and, on asyncpg, run on the pooled connection's
    driver directly (asyncpg prepares and caches it per connection). For the hottest per-request
    query: SQLAlchemy's per-execution work (parameter processing, result wrapping) costs about
    0.14 ms of CPU, as much as the rest of such a query. Rows come back as plain tuples with the
    driver's own values; other drivers run the statement through SQLAlchemy as usual.

    Run it on an autocommit connection: on asyncpg it bypasses SQLAlchemy's transaction handling,
    and its disconnect handling, so a connection found dead here is invalidated here (as SQLAlchemy
    would: the pool replaces it) and the failure raised as SQLAlchemy raises it."""

    def __init__(self, statement: Select[Any] | CompoundSelect[Any]) -> None:
        self.statement = statement
        self._compiled: tuple[str, tuple[str, ...], dict[str, Any]] | None = None

    async def rows(self, conn: AsyncConnection, params: dict[str, Any]) -> list[Sequence[Any]]:
        if conn.dialect.driver != "asyncpg":
            return list((await conn.execute(self.statement, params)).all())
        if self._compiled is None:
            compiled = self.statement.compile(dialect=conn.dialect)
            self._compiled = (compiled.string, tuple(compiled.positiontup or ()), dict(compiled.params))
        sql, names, defaults = self._compiled
        values = {**defaults, **params}
        raw = await conn.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        try:
            return list(await driver.fetch(sql, *(values[n] for n in names)))
        except Exception as exc:
            # SQLAlchemy's own test (its asyncpg dialect's is_disconnect), or the server's word for it
            # (its FATAL may come before the socket closes).
            if not (driver.is_closed() or isinstance(exc, _UNAVAILABLE)):
                raise
            await conn.invalidate(exc)
            raise sa_exc.OperationalError(sql, None, exc, connection_invalidated=True) from exc
