"""The migration chain: upgrade, downgrade and upgrade again on PostgreSQL and on SQLite, and the
models agree with what the migrations build (nothing left for autogenerate to find)."""

from __future__ import annotations

import itertools
import secrets
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import IntegrityError

from app.config import Settings
from app.db import make_engine
from app.models import Base
from tests.conftest import create_database, downgrade, drop_database, migrate

EXPECTED_TABLES = {
    "users",
    "profiles",
    "channels",
    "schedule_entries",
    "bookmarks",
    "notifications",
    "tstv_sessions",
    "recordings",
    "series_recordings",
    "drm_keys",
    "catalogue_state",
}


def _state(conn: Connection) -> tuple[set[str], list[object]]:
    tables = set(inspect(conn).get_table_names()) - {"alembic_version"}
    diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    return tables, diff


async def _round_trip(url: str) -> None:
    engine = make_engine(Settings(database_url=url))
    try:
        await migrate(url)
        async with engine.connect() as conn:
            tables, diff = await conn.run_sync(_state)
        assert EXPECTED_TABLES <= tables
        assert diff == [], f"models and migrations disagree: {diff}"
        await downgrade(url)
        async with engine.connect() as conn:
            tables, _ = await conn.run_sync(_state)
        assert tables == set()
        await migrate(url)
        async with engine.connect() as conn:
            tables, _ = await conn.run_sync(_state)
        assert EXPECTED_TABLES <= tables
    finally:
        await engine.dispose()


async def test_round_trip_postgresql() -> None:
    name = f"tstv_migr_{secrets.token_hex(4)}"
    url = await create_database(name)
    try:
        await _round_trip(url)
    finally:
        await drop_database(name)


async def test_round_trip_sqlite(tmp_path: Path) -> None:
    await _round_trip(f"sqlite+aiosqlite:///{tmp_path / 'round-trip.db'}")


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
async def test_constraints_protect_the_data(backend: str, tmp_path: Path) -> None:
    """Unique cdn key, unique bookmark, allowed content types: enforced by the database itself."""
    name = f"tstv_cons_{secrets.token_hex(4)}"
    url = (
        await create_database(name) if backend == "postgresql" else f"sqlite+aiosqlite:///{tmp_path / 'c.db'}"
    )
    engine = make_engine(Settings(database_url=url))
    try:
        await migrate(url)
        ch = "INSERT INTO channels (id, name, number, cdn_channel_key, tstv_enabled, startover_enabled, "
        ch += "catchup_enabled, catchup_window_hours, cutv_window_hours) VALUES (:id, 'x', :n, 'k1', "
        ch += "true, true, true, 168, 168)"
        async with engine.begin() as conn:
            await conn.execute(text(ch), {"id": secrets.token_hex(16), "n": 1})
        with pytest.raises(IntegrityError):
            async with engine.begin() as conn:
                await conn.execute(text(ch), {"id": secrets.token_hex(16), "n": 2})
        # 32 hex digits: how SQLite stores a UUID, and valid uuid input for PostgreSQL.
        user, profile = secrets.token_hex(16), secrets.token_hex(16)
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO users (id, email, password_hash, role, subscription_active, created_at) "
                    "VALUES (:u, 'a@b.c', 'h', 'viewer', true, CURRENT_TIMESTAMP)"
                ),
                {"u": user},
            )
            await conn.execute(
                text(
                    "INSERT INTO profiles (id, user_id, name, is_default, created_at) "
                    "VALUES (:p, :u, 'P', true, CURRENT_TIMESTAMP)"
                ),
                {"p": profile, "u": user},
            )
        bookmark = (
            "INSERT INTO bookmarks (id, profile_id, content_id, content_type, position_seconds, updated_at) "
            "VALUES (:id, :p, :c, :t, 1, CURRENT_TIMESTAMP)"
        )
        content = profile
        async with engine.begin() as conn:
            await conn.execute(text(bookmark), {"id": user, "p": profile, "c": content, "t": "movie"})
        for values in ({"t": "movie"}, {"t": "podcast"}):
            with pytest.raises(IntegrityError):
                async with engine.begin() as conn:
                    await conn.execute(
                        text(bookmark), {"id": secrets.token_hex(16), "p": profile, "c": content, **values}
                    )
    finally:
        await engine.dispose()
        if backend == "postgresql":
            await drop_database(name)


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
async def test_catalogue_version_moves_with_every_write(backend: str, tmp_path: Path) -> None:
    """Triggers bump `catalogue_state.version` on every insert, update and delete of channels and
    schedule entries, in the writer's transaction (a rolled-back write leaves it alone)."""
    name = f"tstv_ver_{secrets.token_hex(4)}"
    url = (
        await create_database(name) if backend == "postgresql" else f"sqlite+aiosqlite:///{tmp_path / 'v.db'}"
    )
    engine = make_engine(Settings(database_url=url))
    channel, entry = secrets.token_hex(16), secrets.token_hex(16)
    writes = [
        "INSERT INTO channels (id, name, number, tstv_enabled, startover_enabled, catchup_enabled, "
        "catchup_window_hours, cutv_window_hours) VALUES (:c, 'x', 1, true, true, true, 168, 168)",
        "INSERT INTO schedule_entries (id, channel_id, title, start_time, end_time, catchup_eligible, "
        "startover_eligible) VALUES (:e, :c, 't', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, true, true)",
        "UPDATE schedule_entries SET catchup_eligible = false WHERE id = :e",
        "UPDATE channels SET cutv_window_hours = 48 WHERE id = :c",
        "DELETE FROM schedule_entries WHERE id = :e",
        "DELETE FROM channels WHERE id = :c",
    ]
    try:
        await migrate(url)

        async def version() -> int:
            async with engine.connect() as conn:
                return int(
                    (
                        await conn.execute(text("SELECT version FROM catalogue_state WHERE id = 1"))
                    ).scalar_one()
                )

        seen = [await version()]
        for sql in writes:
            async with engine.begin() as conn:
                await conn.execute(text(sql), {"c": channel, "e": entry})
            seen.append(await version())
        assert all(b > a for a, b in itertools.pairwise(seen)), seen
        async with engine.connect() as conn:
            await conn.execute(text(writes[0]), {"c": channel})
            await conn.rollback()
        assert await version() == seen[-1]
    finally:
        await engine.dispose()
        if backend == "postgresql":
            await drop_database(name)
