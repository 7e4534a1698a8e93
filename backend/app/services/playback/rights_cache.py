"""What a master playlist needs from the database (the channel's and the programme's rights),
kept in the process for one catalogue version at a time.

A master request asks for (channel, programme): the row pair is read once per catalogue version
and then served from memory; with the version pushed by `CatalogueFeed` (PostgreSQL LISTEN/NOTIFY)
a master needs no database round trip at all, and while the feed is not current it reads the
version (one cheap query) before using what is kept, so a rights change is never missed.
Unknown channels and programmes are kept too (as None): creating them moves the version.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.catalogue_version import CatalogueFeed
from app.db import Database
from app.models import Channel, ScheduleEntry


@dataclass(frozen=True, slots=True)
class ChannelRow:
    """A channel as the rights read it (`rights.ChannelRights`)."""

    id: uuid.UUID
    cdn_channel_key: str | None
    tstv_enabled: bool
    startover_enabled: bool
    catchup_enabled: bool
    cutv_window_hours: int


@dataclass(frozen=True, slots=True)
class EntryRow:
    """A programme as the rights read it (`rights.EntryRights`)."""

    id: uuid.UUID
    channel_id: uuid.UUID
    start_time: datetime
    end_time: datetime
    catchup_eligible: bool
    startover_eligible: bool


Rows = tuple[ChannelRow | None, EntryRow | None]
RangeRows = tuple[ChannelRow | None, tuple[EntryRow, ...]]

_c = Channel.__table__.c
_e = ScheduleEntry.__table__.c
# One round trip for both rows (a live request passes no programme: the join finds none).
_ROWS = (
    select(
        _c.id,
        _c.cdn_channel_key,
        _c.tstv_enabled,
        _c.startover_enabled,
        _c.catchup_enabled,
        _c.cutv_window_hours,
        _e.id,
        _e.channel_id,
        _e.start_time,
        _e.end_time,
        _e.catchup_eligible,
        _e.startover_eligible,
    )
    .select_from(
        Channel.__table__.outerjoin(ScheduleEntry.__table__, _e.id == bindparam("e", type_=_e.id.type))
    )
    .where(_c.id == bindparam("c"))
)

# A time range: the channel and every programme the range [s, t) touches, in time order.
_RANGE_ROWS = (
    select(*_ROWS.selected_columns)
    .select_from(
        Channel.__table__.outerjoin(
            ScheduleEntry.__table__,
            (_e.channel_id == _c.id)
            & (_e.start_time < bindparam("t", type_=_e.start_time.type))
            & (_e.end_time > bindparam("s", type_=_e.end_time.type)),
        )
    )
    .where(_c.id == bindparam("c"))
    .order_by(_e.start_time)
)


def _channel_row(row: Any) -> ChannelRow:
    return ChannelRow(*row[:6])


def _entry_row(row: Any) -> EntryRow | None:
    return EntryRow(*row[6:]) if row[6] is not None else None


class RightsCache:
    """(channel id, programme id or None) -> the two rows, for the feed's current version.

    Bounded to `max_entries` pairs (the oldest go first); emptied whenever the version moves."""

    def __init__(self, feed: CatalogueFeed, max_entries: int = 32_768) -> None:
        self.feed = feed
        self.max_entries = max_entries
        self.version: int | None = None
        self.reads = 0  # row pairs read from the database
        self._rows: dict[tuple[uuid.UUID, uuid.UUID | None], Rows] = {}
        self._ranges: dict[tuple[uuid.UUID, datetime, datetime], RangeRows] = {}
        feed.add_observer(self.observe)

    def observe(self, version: int | None) -> None:
        if version != self.version:
            self.version = version
            self._rows.clear()
            self._ranges.clear()

    async def rows(self, db: Database, channel_id: uuid.UUID, entry_id: uuid.UUID | None) -> Rows:
        key = (channel_id, entry_id)
        if self.feed.current():
            found = self._rows.get(key)
            if found is not None:
                return found
            async with db.reader_engine.connect() as conn:
                return await self._read(conn, key)
        async with db.reader_engine.connect() as conn:
            await self.feed.read_version(conn)
            found = self._rows.get(key)
            if found is not None:
                return found
            return await self._read(conn, key)

    async def _read(self, conn: AsyncConnection, key: tuple[uuid.UUID, uuid.UUID | None]) -> Rows:
        version = self.version  # committed before the read below starts: the rows are at least as new
        row = (await conn.execute(_ROWS, {"c": key[0], "e": key[1]})).first()
        self.reads += 1
        found: Rows = (None, None) if row is None else (_channel_row(row), _entry_row(row))
        if version is not None and version == self.version:
            _keep(self._rows, key, found, self.max_entries)
        return found

    async def range_rows(
        self, db: Database, channel_id: uuid.UUID, start: datetime, end: datetime
    ) -> RangeRows:
        """The channel and the programmes [start, end) touches, as `rows` keeps a pair."""
        key = (channel_id, start, end)
        if self.feed.current() and (found := self._ranges.get(key)) is not None:
            return found
        async with db.reader_engine.connect() as conn:
            if not self.feed.current():
                await self.feed.read_version(conn)
                if (found := self._ranges.get(key)) is not None:
                    return found
            version = self.version
            rows = (await conn.execute(_RANGE_ROWS, {"c": channel_id, "s": start, "t": end})).all()
        self.reads += 1
        entries = tuple(e for row in rows if (e := _entry_row(row)) is not None)
        found = (_channel_row(rows[0]), entries) if rows else (None, ())
        if version is not None and version == self.version:
            _keep(self._ranges, key, found, self.max_entries)
        return found


def _keep(cache: dict[Any, Any], key: Any, value: Any, max_entries: int) -> None:
    if len(cache) >= max_entries:
        del cache[next(iter(cache))]
    cache[key] = value
