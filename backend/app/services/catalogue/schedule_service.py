"""Schedule generation and lookups: what is on air, a day's listing."""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.schedule import SCHEDULE_EPOCH
from app.models import Channel, ScheduleEntry
from app.services.catalogue.channel_catalogue import (
    CHANNELS_BY_KEY,
    ChannelDef,
    entry_id,
    series_id,
)

SCHEDULE_HORIZON = timedelta(days=7)


def loop_number_at(loop_seconds: int, at: datetime) -> int:
    return math.floor((at - SCHEDULE_EPOCH).total_seconds() / loop_seconds)


def loop_start(loop_seconds: int, loop_number: int) -> datetime:
    return SCHEDULE_EPOCH + timedelta(seconds=loop_number * loop_seconds)


def _entry_row(cdef: ChannelDef, k: int) -> dict[str, Any]:
    prog = cdef.programmes[k % len(cdef.programmes)]
    row: dict[str, Any] = {
        "id": entry_id(cdef.key, k),
        "channel_id": cdef.id,
        "title": prog.title,
        "synopsis": prog.synopsis,
        "genre": prog.genre,
        "start_time": loop_start(cdef.loop_seconds, k),
        "end_time": loop_start(cdef.loop_seconds, k + 1),
        "series_title": None,
        "season_number": None,
        "episode_number": None,
        "series_id": None,
        # A few programmes carry no rights so the locks are visible in the app.
        "catchup_eligible": k % 13 != 4,
        "startover_eligible": k % 11 != 7,
    }
    if prog.series_title:
        airing = k // len(cdef.programmes)
        row.update(
            series_title=prog.series_title,
            season_number=airing // 20 % 9 + 1,
            episode_number=airing % 20 + 1,
            series_id=series_id(prog.series_title),
            title=f"{prog.title}: Episode {airing % 20 + 1}",
        )
    return row


async def fill_schedule(session: AsyncSession, now: datetime, back: timedelta = SCHEDULE_HORIZON) -> int:
    """Make sure every SimLive channel has entries from `now - back` to `now + 7 days`.

    Idempotent and safe against a concurrent filler: existing rows are left alone.
    Returns the number of rows the statement tried to add.
    """
    channels = (await session.scalars(select(Channel).where(Channel.cdn_channel_key.is_not(None)))).all()
    rows: list[dict[str, Any]] = []
    for ch in channels:
        cdef = CHANNELS_BY_KEY.get(ch.cdn_channel_key or "")
        if cdef is None or cdef.id != ch.id:
            continue
        first = loop_number_at(cdef.loop_seconds, now - back)
        last = loop_number_at(cdef.loop_seconds, now + SCHEDULE_HORIZON)
        existing = set(
            await session.scalars(
                select(ScheduleEntry.id).where(
                    ScheduleEntry.channel_id == ch.id,
                    ScheduleEntry.start_time >= loop_start(cdef.loop_seconds, first),
                    ScheduleEntry.start_time <= loop_start(cdef.loop_seconds, last),
                )
            )
        )
        rows.extend(r for k in range(first, last + 1) if (r := _entry_row(cdef, k))["id"] not in existing)
    if not rows:
        return 0
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    for i in range(0, len(rows), 500):
        await session.execute(insert(ScheduleEntry).values(rows[i : i + 500]).on_conflict_do_nothing())
    await session.commit()
    return len(rows)


async def on_air(
    session: AsyncSession, channel_ids: list[uuid.UUID], at: datetime
) -> dict[uuid.UUID, ScheduleEntry]:
    """The programme on air at `at` for each channel that has one."""
    if not channel_ids:
        return {}
    entries = await session.scalars(
        select(ScheduleEntry).where(
            ScheduleEntry.channel_id.in_(channel_ids),
            ScheduleEntry.start_time <= at,
            ScheduleEntry.end_time > at,
        )
    )
    return {e.channel_id: e for e in entries}


async def entries_between(
    session: AsyncSession, channel_id: uuid.UUID, start: datetime, end: datetime
) -> list[ScheduleEntry]:
    """Entries of one channel overlapping [start, end), in air order."""
    result = await session.scalars(
        select(ScheduleEntry)
        .where(
            and_(
                ScheduleEntry.channel_id == channel_id,
                ScheduleEntry.start_time < end,
                ScheduleEntry.end_time > start,
            )
        )
        .order_by(ScheduleEntry.start_time)
    )
    return list(result)


async def on_air_by_channel_key(
    session: AsyncSession, channel_keys: list[str], at: datetime
) -> dict[str, ScheduleEntry]:
    """The programme on air at `at` on each of these channels (by CDN key), in one query."""
    if not channel_keys:
        return {}
    rows = await session.execute(
        select(Channel.cdn_channel_key, ScheduleEntry)
        .join(ScheduleEntry, ScheduleEntry.channel_id == Channel.id)
        .where(
            Channel.cdn_channel_key.in_(channel_keys),
            ScheduleEntry.start_time <= at,
            ScheduleEntry.end_time > at,
        )
    )
    return {key: entry for key, entry in rows if key is not None}
