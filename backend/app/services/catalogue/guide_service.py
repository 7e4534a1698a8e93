"""The TV guide: every channel with one local day's programmes and what a viewer can do with each.

Two queries whatever the number of channels: the channels, then every programme of theirs that
overlaps the day, each with the profile's furthest TSTV bookmark position (for *Resume*). Rights
come from `programme_state` (the rights module), one programme at a time.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain import rights
from app.domain.bookmarks import TSTV_TYPES
from app.models import Bookmark, Channel, ScheduleEntry
from app.services.catalogue.catalogue_service import ENTRY_COLUMNS
from app.services.catalogue.programme_state import ProgrammeState, programme_state

# The days a guide shows, around today in the viewer's zone (docs/PRODUCT.md, 'Web app routes').
DAYS_BACK = 7
DAYS_AHEAD = 7

_se = ScheduleEntry.__table__.c
_bm = Bookmark.__table__.c
_positions = (
    select(_bm.content_id, func.max(_bm.position_seconds).label("position"))
    .where(_bm.profile_id == bindparam("profile_id"), _bm.content_type.in_(TSTV_TYPES))
    .group_by(_bm.content_id)
    .subquery("positions")
)
# Programmes overlapping [day_start, day_end) of the channels, in air order per channel.
_DAY_ENTRIES = (
    select(*ENTRY_COLUMNS, _positions.c.position)
    .select_from(ScheduleEntry.__table__.outerjoin(_positions, _positions.c.content_id == _se.id))
    .where(
        _se.channel_id.in_(bindparam("channel_ids", expanding=True)),
        _se.start_time < bindparam("day_end"),
        _se.end_time > bindparam("day_start"),
    )
    .order_by(_se.channel_id, _se.start_time)
)


def guide_days(today: date) -> tuple[date, date]:
    """The first and last day a guide shows, given today in the viewer's zone."""
    return today - timedelta(days=DAYS_BACK), today + timedelta(days=DAYS_AHEAD)


@dataclass(slots=True)
class DayEntry:
    """A programme as the guide reads it (ENTRY_COLUMNS in order, then the profile's bookmark
    position). Plain attributes: the rights and the shaping read each several times, and a Core
    row's attribute lookup costs ten times more (a day is ~700 programmes)."""

    id: uuid.UUID
    channel_id: uuid.UUID
    title: str
    synopsis: str | None
    genre: str | None
    start_time: datetime
    end_time: datetime
    series_title: str | None
    series_id: str | None
    season_number: int | None
    episode_number: int | None
    catchup_eligible: bool
    startover_eligible: bool
    bookmark_position_seconds: float | None


@dataclass(frozen=True, slots=True)
class GuideProgramme:
    entry: DayEntry
    state: ProgrammeState


@dataclass(frozen=True, slots=True)
class GuideChannel:
    channel: Channel
    programmes: list[GuideProgramme]


async def guide_day(
    session: AsyncSession,
    archive: rights.ArchiveView,
    profile_id: uuid.UUID,
    day_start: datetime,
    day_end: datetime,
    now: datetime,
) -> list[GuideChannel]:
    """Every channel (by number) with its programmes overlapping [day_start, day_end), so the
    programme running at midnight is there at both edges of the day."""
    channels: Sequence[Channel] = (await session.scalars(select(Channel).order_by(Channel.number))).all()
    if not channels:
        return []
    rows = await session.execute(
        _DAY_ENTRIES,
        {
            "channel_ids": [c.id for c in channels],
            "day_start": day_start,
            "day_end": day_end,
            "profile_id": profile_id,
        },
    )
    by_channel: dict[uuid.UUID, list[GuideProgramme]] = {c.id: [] for c in channels}
    by_id = {c.id: c for c in channels}
    for row in rows:
        entry = DayEntry(*cast(tuple[Any, ...], row))
        channel = by_id[entry.channel_id]
        by_channel[entry.channel_id].append(
            GuideProgramme(entry, programme_state(channel, entry, now, archive))
        )
    return [GuideChannel(c, by_channel[c.id]) for c in channels]
