"""Bookmarks (resume positions) and the Continue Watching rail (docs/PRODUCT.md, J4).

For the TSTV types the furthest position wins, decided by the database in the one upsert statement,
so concurrent writers (two devices, a heartbeat racing a pause) can never move a position back.
For `movie` and `episode` the last write wins.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import func

from app.domain import rights
from app.domain.bookmarks import TSTV_TYPES
from app.errors import ApiError
from app.models import Bookmark, Channel, ScheduleEntry

FINISHED_RATIO = 0.95
Playback = Literal["catchup", "startover"]
BOOKMARK_NOT_FOUND = "bookmark_not_found"
ENTRY_NOT_FOUND = "schedule_entry_not_found"


class PositionBeyondDuration(ValueError):
    """The position is past the end of the content."""


@dataclass(frozen=True)
class BookmarkRow:
    content_type: str
    content_id: uuid.UUID
    position_seconds: float
    duration_seconds: float | None
    updated_at: datetime


# The columns of a BookmarkRow, in its field order.
_ROW_COLUMNS = (
    Bookmark.content_type,
    Bookmark.content_id,
    Bookmark.position_seconds,
    Bookmark.duration_seconds,
    Bookmark.updated_at,
)


def programme_duration(entry: ScheduleEntry) -> float:
    return (entry.end_time - entry.start_time).total_seconds()


def upsert_statement(dialect: str, bookmark: dict[str, Any]) -> Any:
    """INSERT .. ON CONFLICT (profile_id, content_id, content_type) DO UPDATE, one statement, of
    `bookmark`'s columns.

    TSTV types keep GREATEST(stored, new) (SQLite: the two-argument max()), so the stored position
    only ever grows, whatever the interleaving of writers; other types take the new value."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(Bookmark).values(id=uuid.uuid4(), **bookmark)
    new = stmt.excluded
    if bookmark["content_type"] in TSTV_TYPES:
        greatest = func.greatest if dialect == "postgresql" else func.max
        values: dict[str, Any] = {
            "position_seconds": greatest(Bookmark.position_seconds, new.position_seconds),
            "duration_seconds": new.duration_seconds,
            "updated_at": greatest(Bookmark.updated_at, new.updated_at),
        }
    else:
        values = {
            "position_seconds": new.position_seconds,
            "duration_seconds": new.duration_seconds,
            "updated_at": new.updated_at,
        }
    return stmt.on_conflict_do_update(
        index_elements=[Bookmark.profile_id, Bookmark.content_id, Bookmark.content_type], set_=values
    ).returning(*_ROW_COLUMNS)


async def save_bookmark(
    session: AsyncSession,
    profile_id: uuid.UUID,
    content_type: str,
    content_id: uuid.UUID,
    position: float,
    duration: float | None,
    now: datetime,
    *,
    commit: bool = True,
) -> BookmarkRow:
    """Store a position. TSTV types: `content_id` is a schedule entry (404 if unknown) and the
    duration is the programme's. Raises PositionBeyondDuration when the position is past the end."""
    if content_type in TSTV_TYPES:
        entry = await session.get(ScheduleEntry, content_id)
        if entry is None:
            raise ApiError(404, ENTRY_NOT_FOUND)
        duration = programme_duration(entry)
    if duration is not None and position > duration:
        raise PositionBeyondDuration(f"position_seconds is beyond the duration ({duration:g} s)")
    ids = {"profile_id": profile_id, "content_id": content_id, "content_type": content_type}
    bookmark = {**ids, "position_seconds": position, "duration_seconds": duration, "updated_at": now}
    row = (await session.execute(upsert_statement(session.get_bind().dialect.name, bookmark))).one()
    if commit:
        await session.commit()
    return BookmarkRow(*row)


async def get_bookmark(
    session: AsyncSession, profile_id: uuid.UUID, content_type: str, content_id: uuid.UUID
) -> BookmarkRow:
    row = (
        await session.execute(
            select(*_ROW_COLUMNS).where(
                Bookmark.profile_id == profile_id,
                Bookmark.content_type == content_type,
                Bookmark.content_id == content_id,
            )
        )
    ).one_or_none()
    if row is None:
        raise ApiError(404, BOOKMARK_NOT_FOUND)
    return BookmarkRow(*row)


@dataclass
class RailItem:
    bookmark: BookmarkRow
    position_seconds: float
    duration_seconds: float | None
    entry: ScheduleEntry | None = None
    channel: Channel | None = None
    expires_at: datetime | None = None
    playback: Playback | None = None


def _tstv_playback(
    channel: Channel, entry: ScheduleEntry, now: datetime, archive: rights.ArchiveView
) -> tuple[Playback, datetime] | None:
    """How a TSTV item plays now (start-over while on air, catch-up after), or None if it cannot."""
    expires_at = rights.catchup_expires_at(channel, entry)
    if now < entry.end_time:
        return ("startover", expires_at) if rights.startover_decision(channel, entry, now).allowed else None
    decision = rights.catchup_decision(channel, entry, now, archive)
    if not decision.allowed:
        return None
    return "catchup", decision.expires_at or expires_at


async def continue_watching(
    session: AsyncSession,
    archive: rights.ArchiveView,
    profile_id: uuid.UUID,
    now: datetime,
    limit: int,
    batch: int = 200,
) -> list[RailItem]:
    """Partly watched items, most recently watched first, without the finished (>= 95 %),
    expired and revoked ones. One item per programme for the two TSTV types (furthest position)."""
    items: list[RailItem] = []
    by_entry: dict[uuid.UUID, RailItem] = {}
    offset = 0
    while len(items) < limit:
        rows = [
            BookmarkRow(*r)
            for r in (
                await session.execute(
                    select(*_ROW_COLUMNS)
                    .where(Bookmark.profile_id == profile_id, Bookmark.position_seconds > 0)
                    .order_by(Bookmark.updated_at.desc(), Bookmark.id)
                    .limit(batch)
                    .offset(offset)
                )
            ).all()
        ]
        if not rows:
            break
        offset += len(rows)
        entry_ids = {r.content_id for r in rows if r.content_type in TSTV_TYPES}
        entries: dict[uuid.UUID, tuple[ScheduleEntry, Channel]] = {}
        if entry_ids:
            result = await session.execute(
                select(ScheduleEntry, Channel)
                .join(Channel, Channel.id == ScheduleEntry.channel_id)
                .where(ScheduleEntry.id.in_(entry_ids))
            )
            entries = {e.id: (e, c) for e, c in result}
        for r in rows:
            if r.content_type not in TSTV_TYPES:
                if r.duration_seconds is None or r.position_seconds < FINISHED_RATIO * r.duration_seconds:
                    items.append(RailItem(r, r.position_seconds, r.duration_seconds))
                continue
            seen = by_entry.get(r.content_id)
            if seen is not None:  # the other TSTV type of a programme already on the rail
                seen.position_seconds = max(seen.position_seconds, r.position_seconds)
                continue
            found = entries.get(r.content_id)
            if found is None:
                continue
            entry, channel = found
            duration = programme_duration(entry)
            playable = _tstv_playback(channel, entry, now, archive)
            item = RailItem(r, r.position_seconds, duration, entry, channel)
            by_entry[r.content_id] = item
            if playable is None:
                continue
            item.playback, item.expires_at = playable
            items.append(item)
        if len(rows) < batch:
            break
    # A programme whose furthest position (either type) is finished leaves the rail.
    return [
        i
        for i in items
        if i.duration_seconds is None or i.position_seconds < FINISHED_RATIO * i.duration_seconds
    ][:limit]
