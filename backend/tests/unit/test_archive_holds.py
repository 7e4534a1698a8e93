"""Archive holds without a database: every registered holder is asked, and their ranges are merged
per channel (app/services/archive/holds.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import cast

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.services.archive import holds
from app.services.viewing.recording_holds import RecordingHolds

NOW = datetime(2026, 3, 1, tzinfo=UTC)
NO_SESSION = cast(AsyncSession, None)  # these holders never touch it


class FixedHolds:
    def __init__(self, ranges: dict[str, list[tuple[float, float]]]) -> None:
        self.ranges = ranges
        self.released = 0

    async def release_expired(self, session: AsyncSession, now: datetime, settings: Settings) -> None:
        self.released += 1

    async def held_ranges(
        self, session: AsyncSession, now: datetime, settings: Settings
    ) -> dict[str, list[tuple[float, float]]]:
        return self.ranges


@pytest.fixture
def only_test_holders() -> Iterator[None]:
    saved = dict(holds._holders)
    holds._holders.clear()
    try:
        yield
    finally:
        holds._holders.clear()
        holds._holders.update(saved)


def test_recordings_register_their_holds_on_import() -> None:
    assert isinstance(holds._holders.get("recordings"), RecordingHolds)


async def test_every_holder_is_asked_and_ranges_merge_per_channel(only_test_holders: None) -> None:
    a = FixedHolds({"ch1": [(0.0, 10.0), (20.0, 30.0)], "ch2": [(5.0, 6.0)]})
    b = FixedHolds({"ch1": [(8.0, 12.0)]})
    holds.register("a", a)
    holds.register("b", b)
    holds.register("b", b)  # registering again replaces, never doubles
    settings = Settings()
    await holds.release_expired(NO_SESSION, NOW, settings)
    assert (a.released, b.released) == (1, 1)
    held = await holds.held_ranges(NO_SESSION, NOW, settings)
    assert held == {"ch1": [(0.0, 12.0), (20.0, 30.0)], "ch2": [(5.0, 6.0)]}


async def test_no_holders_hold_nothing(only_test_holders: None) -> None:
    assert await holds.held_ranges(NO_SESSION, NOW, Settings()) == {}
