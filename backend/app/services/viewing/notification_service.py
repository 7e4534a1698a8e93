"""In-app notifications, and the expiry job (docs/PRODUCT.md, J6).

The job finds catch-up programmes a profile started and has not finished that have less than 24 h
left, and creates one notification per profile and programme. "Never twice" is the database's
unique constraint (profile_id, kind, schedule_entry_id) with ON CONFLICT DO NOTHING, so runs can
repeat or overlap (two processes) safely.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, exists, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.domain import rights
from app.domain.bookmarks import TSTV_TYPES
from app.errors import ApiError
from app.models import Bookmark, Channel, Notification, Profile, ScheduleEntry
from app.services.viewing.bookmark_service import FINISHED_RATIO, programme_duration

log = logging.getLogger("tstv.notifications")

KIND_EXPIRING = "catchup_expiring"
NOTICE_BEFORE = timedelta(hours=24)
NOTIFICATION_NOT_FOUND = "notification_not_found"
# Longest viewer window (rules allow up to 168 h): bounds the candidate scan.
MAX_WINDOW = timedelta(hours=168)


def time_left_text(left: timedelta) -> str:
    hours = int(left.total_seconds() // 3600)
    if hours >= 1:
        return f"{hours} h"
    return f"{max(1, int(left.total_seconds() // 60))} min"


def expiry_body(entry: ScheduleEntry, left: timedelta) -> str:
    if entry.series_title and entry.episode_number:
        what = f"Episode {entry.episode_number} of {entry.series_title}"
    else:
        what = entry.title
    return f"{what} expires in {time_left_text(left)}"


def watch_link(channel: Channel, entry: ScheduleEntry) -> str:
    return f"/watch/catchup/{channel.id}/{entry.id}"


@dataclass(frozen=True)
class _Candidate:
    user_id: uuid.UUID
    profile_id: uuid.UUID
    entry: ScheduleEntry
    channel: Channel
    position: float


async def _candidates(session: AsyncSession, now: datetime) -> list[_Candidate]:
    """Started TSTV bookmarks of programmes that ended within the longest window (cheap SQL bound;
    the exact rule is applied by the caller through the rights function)."""
    position = func.max(Bookmark.position_seconds)
    rows = (
        await session.execute(
            select(Profile.user_id, Bookmark.profile_id, Bookmark.content_id, position)
            .join(Profile, Profile.id == Bookmark.profile_id)
            .join(ScheduleEntry, ScheduleEntry.id == Bookmark.content_id)
            .where(
                Bookmark.content_type.in_(TSTV_TYPES),
                Bookmark.position_seconds > 0,
                ScheduleEntry.end_time <= now,
                ScheduleEntry.end_time > now - MAX_WINDOW,
                ScheduleEntry.catchup_eligible.is_(True),
                # Already notified: skipped in SQL, so the every-minute run stays cheap.
                ~exists().where(
                    Notification.profile_id == Bookmark.profile_id,
                    Notification.kind == KIND_EXPIRING,
                    Notification.schedule_entry_id == Bookmark.content_id,
                ),
            )
            .group_by(Profile.user_id, Bookmark.profile_id, Bookmark.content_id)
        )
    ).all()
    if not rows:
        return []
    entry_ids = {r[2] for r in rows}
    pairs = await session.execute(
        select(ScheduleEntry, Channel)
        .join(Channel, Channel.id == ScheduleEntry.channel_id)
        .where(ScheduleEntry.id.in_(entry_ids))
    )
    entries = {e.id: (e, c) for e, c in pairs}
    return [
        _Candidate(user_id, profile_id, *entries[entry_id], float(pos))
        for user_id, profile_id, entry_id, pos in rows
        if entry_id in entries
    ]


async def create_expiry_notifications(
    session: AsyncSession, now: datetime, archive: rights.ArchiveView
) -> int:
    """One notification per profile and started, unfinished catch-up programme with < 24 h left.
    Returns how many were created by this run."""
    values: list[dict[str, Any]] = []
    for c in await _candidates(session, now):
        if c.position >= FINISHED_RATIO * programme_duration(c.entry):
            continue
        decision = rights.catchup_decision(c.channel, c.entry, now, archive)
        if not decision.allowed or decision.expires_at is None:
            continue
        left = decision.expires_at - now
        if left >= NOTICE_BEFORE:
            continue
        values.append(
            {
                "id": uuid.uuid4(),
                "user_id": c.user_id,
                "profile_id": c.profile_id,
                "schedule_entry_id": c.entry.id,
                "kind": KIND_EXPIRING,
                "title": "Expires soon",
                "body": expiry_body(c.entry, left),
                "deep_link": watch_link(c.channel, c.entry),
                "read": False,
                "created_at": now,
            }
        )
    if not values:
        return 0
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    created = 0
    for i in range(0, len(values), 500):
        result = await session.execute(
            insert(Notification)
            .values(values[i : i + 500])
            .on_conflict_do_nothing(index_elements=["profile_id", "kind", "schedule_entry_id"])
            .returning(Notification.id)
        )
        created += len(result.all())
    await session.commit()
    return created


async def run_expiry_notifications(
    sessionmaker: async_sessionmaker[AsyncSession], now: datetime, archive: rights.ArchiveView
) -> int:
    """The periodic job (also callable directly): idempotent, safe to run concurrently."""
    async with sessionmaker() as session:
        created = await create_expiry_notifications(session, now, archive)
    if created:
        log.info("expiry notifications created", extra={"created": created})
    return created


async def list_notifications(
    session: AsyncSession, user_id: uuid.UUID, profile_id: uuid.UUID, limit: int
) -> tuple[list[Notification], int]:
    """The profile's (and the user's profile-less) notifications, unread first, newest first."""
    mine = (Notification.user_id == user_id) & (
        (Notification.profile_id == profile_id) | Notification.profile_id.is_(None)
    )
    rows = (
        await session.scalars(
            select(Notification)
            .where(mine)
            .order_by(case((Notification.read.is_(False), 0), else_=1), Notification.created_at.desc())
            .limit(limit)
        )
    ).all()
    unread = await session.scalar(
        select(func.count()).select_from(Notification).where(mine, Notification.read.is_(False))
    )
    return list(rows), int(unread or 0)


async def mark_read(session: AsyncSession, user_id: uuid.UUID, notification_id: uuid.UUID) -> Notification:
    """Mark the caller's notification read (idempotent); another user's answers 404."""
    await session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.user_id == user_id)
        .values(read=True)
    )
    await session.commit()
    row = await session.scalar(
        select(Notification).where(Notification.id == notification_id, Notification.user_id == user_id)
    )
    if row is None:
        raise ApiError(404, NOTIFICATION_NOT_FOUND)
    return row
