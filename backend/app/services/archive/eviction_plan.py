"""Which archive segments go when the disk is short: the one rule of the disk budget
(`disk_budget.py` measures and deletes; this decides). Pure, no I/O.

Order: first what no viewer may still watch (past the channel's retention window, which time-based
retention would delete anyway), then the oldest catch-up across channels. Never a segment a cloud
recording holds, never one inside a channel's live window. It stops as soon as free space is back
at the target, so catch-up is only given up as far as the disk needs.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

Range = tuple[float, float]  # epoch seconds [start, end)
# A segment's times are estimated on the wide side before a hold is tested (the name's clock can
# be this much off the run's timeline), as time-based retention does.
JITTER = 1.0


@dataclass(frozen=True)
class Candidate:
    """One segment slot of a run (the same sequence number in every rendition): deleted together,
    so every rendition of the channel loses the same time."""

    channel_key: str
    start: float
    end: float
    size: int  # bytes of all its files
    expired: bool  # past the channel's retention window
    paths: tuple[str, ...] = ()


def is_held(ranges: Sequence[Range], start: float, end: float) -> bool:
    i = bisect.bisect_left([s for s, _ in ranges], end + JITTER)
    return i > 0 and ranges[i - 1][1] > start - JITTER


def plan_evictions(
    free: int,
    floor: int,
    candidates: Iterable[Candidate],
    holds: Mapping[str, Sequence[Range]],
    live_from: Mapping[str, float],
) -> list[Candidate]:
    """The candidates to delete, in order, to bring `free` bytes up to `floor`: expired first, then
    the oldest; never one overlapping `holds[channel]` (sorted, disjoint ranges) nor one ending
    after `live_from[channel]` (the start of its live window). Shorter than needed when the rest is
    held or live: the caller then knows recordings and live alone breach the floor."""
    if free >= floor:
        return []
    allowed = [
        c
        for c in candidates
        if c.end + JITTER <= live_from.get(c.channel_key, float("-inf"))
        and not is_held(holds.get(c.channel_key, ()), c.start, c.end)
    ]
    allowed.sort(key=lambda c: (not c.expired, c.start, c.channel_key))
    plan: list[Candidate] = []
    for c in allowed:
        if free >= floor:
            break
        plan.append(c)
        free += c.size
    return plan
