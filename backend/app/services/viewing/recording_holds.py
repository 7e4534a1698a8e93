"""Recordings' hold on the archive: the programme ranges retention must keep past a channel's
window, and the clean-up of expired recordings before it. Registered with
`app/services/archive/holds.py` when this module is imported (the recording service imports it)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.models import Channel, Recording, ScheduleEntry
from app.services.archive import holds
from app.services.archive.time_ranges import merge

Range = tuple[float, float]  # epoch seconds [start, end)


def kept_since(now: datetime, retention_days: int) -> datetime:
    """Programmes that ended at or before this have expired recordings."""
    return now - timedelta(days=retention_days)


async def held_ranges(session: AsyncSession, now: datetime, retention_days: int) -> dict[str, list[Range]]:
    """Per channel key, the sorted, disjoint programme ranges that recordings (of any user, not
    expired) point at: what retention must keep. One range per programme however many recorded it."""
    rows = await session.execute(
        select(Channel.cdn_channel_key, ScheduleEntry.start_time, ScheduleEntry.end_time)
        .distinct()
        .join(ScheduleEntry, ScheduleEntry.channel_id == Channel.id)
        .join(Recording, Recording.schedule_entry_id == ScheduleEntry.id)
        .where(Channel.cdn_channel_key.is_not(None), ScheduleEntry.end_time > kept_since(now, retention_days))
    )
    by_key: dict[str, list[Range]] = {}
    for key, start, end in rows:
        if key is not None:
            by_key.setdefault(key, []).append((start.timestamp(), end.timestamp()))
    return {key: merge(ranges) for key, ranges in by_key.items()}


async def purge_expired(session: AsyncSession, now: datetime, retention_days: int) -> int:
    """Delete recordings whose programme ended more than `retention_days` ago."""
    expired = select(ScheduleEntry.id).where(ScheduleEntry.end_time <= kept_since(now, retention_days))
    result = await session.execute(delete(Recording).where(Recording.schedule_entry_id.in_(expired)))
    await session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


class RecordingHolds:
    """Recordings' hold on the archive: what retention keeps past a channel's window."""

    async def release_expired(self, session: AsyncSession, now: datetime, settings: Settings) -> None:
        await purge_expired(session, now, settings.recording_retention_days)

    async def held_ranges(
        self, session: AsyncSession, now: datetime, settings: Settings
    ) -> dict[str, list[Range]]:
        return await held_ranges(session, now, settings.recording_retention_days)


holds.register("recordings", RecordingHolds())
