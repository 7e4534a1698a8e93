"""What keeps archive segments past their channel's window: holds, registered by whoever needs
them kept (cloud recordings: `app.services.viewing.recording_service`). Retention and the coverage
report ask here, so the archive never imports the features above it."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.services.archive.time_ranges import merge

Range = tuple[float, float]  # epoch seconds [start, end)


class Holder(Protocol):
    """One kind of hold on archived programmes."""

    async def release_expired(self, session: AsyncSession, now: datetime, settings: Settings) -> None:
        """Drop the holds that have expired, before `held_ranges` is read for a clean-up."""

    async def held_ranges(
        self, session: AsyncSession, now: datetime, settings: Settings
    ) -> dict[str, list[Range]]:
        """Per channel key, the sorted, disjoint ranges this holder needs kept."""


_holders: dict[str, Holder] = {}


def register(name: str, holder: Holder) -> None:
    """Add (or replace, so importing twice is harmless) the holder called `name`."""
    _holders[name] = holder


async def release_expired(session: AsyncSession, now: datetime, settings: Settings) -> None:
    for holder in list(_holders.values()):
        await holder.release_expired(session, now, settings)


async def held_ranges(session: AsyncSession, now: datetime, settings: Settings) -> dict[str, list[Range]]:
    """Per channel key, the sorted, disjoint union of every holder's ranges."""
    by_key: dict[str, list[Range]] = {}
    for holder in list(_holders.values()):
        for key, ranges in (await holder.held_ranges(session, now, settings)).items():
            by_key.setdefault(key, []).extend(ranges)
    return {key: merge(ranges) for key, ranges in by_key.items()}
