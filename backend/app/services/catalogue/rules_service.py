"""TSTV rules (docs/PRODUCT.md, J5): per-channel switches and windows, per-programme eligibility.

Nothing is cached: every listing and manifest reads the rows, so a change applies to the very next
request in every process.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import ApiError
from app.models import Channel, ScheduleEntry

CHANNEL_NOT_FOUND = "channel_not_found"
ENTRY_NOT_FOUND = "schedule_entry_not_found"


class RetentionBelowWindow(ValueError):
    """Retention (catchup_window_hours) may never be shorter than the viewer window."""


async def all_rules(session: AsyncSession) -> Sequence[Channel]:
    return (await session.scalars(select(Channel).order_by(Channel.number))).all()


async def update_channel_rules(session: AsyncSession, channel: Channel, changes: dict[str, Any]) -> Channel:
    """Apply a partial update. Retention is raised to the viewer window when it would fall below it;
    an explicit retention below the (new) window is refused."""
    cutv = changes.get("cutv_window_hours", channel.cutv_window_hours)
    if "catchup_window_hours" in changes:
        if changes["catchup_window_hours"] < cutv:
            raise RetentionBelowWindow(f"catchup_window_hours must be >= cutv_window_hours ({cutv})")
    elif channel.catchup_window_hours < cutv:
        changes["catchup_window_hours"] = cutv
    for field, value in changes.items():
        setattr(channel, field, value)
    await session.commit()
    return channel


async def set_entry_rights(
    session: AsyncSession, entry_id: uuid.UUID, changes: dict[str, Any]
) -> ScheduleEntry:
    entry = await session.get(ScheduleEntry, entry_id)
    if entry is None:
        raise ApiError(404, ENTRY_NOT_FOUND)
    for field, value in changes.items():
        setattr(entry, field, value)
    await session.commit()
    return entry
