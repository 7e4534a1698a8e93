"""The disk budget's one rule (app/services/archive/eviction_plan.py) and the floor setting
(app/services/archive/disk_floor.py), without a disk."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.config import Settings
from app.services.archive import disk_floor
from app.services.archive.eviction_plan import Candidate, plan_evictions

MB = 1024 * 1024
LIVE = {"a": 10_000.0, "b": 10_000.0}  # live windows start here


def seg(key: str, start: float, *, expired: bool = False, size: int = MB) -> Candidate:
    return Candidate(key, start, start + 6, size, expired)


def test_expired_first_then_oldest_across_channels() -> None:
    candidates = [seg("a", 600), seg("b", 300), seg("a", 120), seg("b", 900, expired=True), seg("a", 60)]
    plan = plan_evictions(0, 4 * MB, candidates, {}, LIVE)
    assert [(c.channel_key, c.start) for c in plan] == [("b", 900), ("a", 60), ("a", 120), ("b", 300)]


def test_stops_as_soon_as_free_reaches_the_floor() -> None:
    candidates = [seg("a", t) for t in range(0, 600, 6)]
    assert plan_evictions(10 * MB, 10 * MB, candidates, {}, LIVE) == []
    plan = plan_evictions(7 * MB, 10 * MB, candidates, {}, LIVE)
    assert [c.start for c in plan] == [0, 6, 12]
    # A partly sized last one: still one more than the floor strictly needs, never two.
    plan = plan_evictions(7 * MB - 1, 10 * MB, candidates, {}, LIVE)
    assert [c.start for c in plan] == [0, 6, 12, 18]


def test_never_held_never_the_live_window() -> None:
    candidates = [seg("a", t) for t in range(0, 60, 6)] + [seg("a", 9_995), seg("b", 9_000)]
    holds = {"a": [(10.0, 30.0)]}  # overlaps the segments starting at 6, 12, 18, 24 (and 30: jitter)
    plan = plan_evictions(0, 100 * MB, candidates, holds, LIVE)
    starts = [(c.channel_key, c.start) for c in plan]
    assert starts == [("a", 0), ("a", 36), ("a", 42), ("a", 48), ("a", 54), ("b", 9_000)]
    # Not enough left to reach the floor: the plan is short, the caller learns recordings breach it.
    assert sum(c.size for c in plan) < 100 * MB
    # A channel whose live window is unknown gives nothing.
    assert plan_evictions(0, MB, [seg("c", 0)], {}, LIVE) == []


@pytest.mark.parametrize(
    ("value", "total", "expected"),
    [
        ("5%", 1000 * MB, 50 * MB),
        ("500M", 1, 500 * MB),
        ("2G", 1, 2048 * MB),
        ("1048576", 1, MB),
        ("0%", 9, 0),
    ],
)
def test_floor_values(value: str, total: int, expected: int) -> None:
    assert disk_floor.floor_bytes(value, total) == expected


@pytest.mark.parametrize("value", ["", "lots", "100%", "-5%", "5 MBs"])
def test_a_bad_floor_stops_the_start_up_with_the_reason(value: str) -> None:
    with pytest.raises(ValidationError, match="ARCHIVE_DISK_FLOOR"):
        Settings(archive_disk_floor=value)
