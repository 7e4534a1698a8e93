"""Ranges of epoch seconds, as the archive, coverage, backfill and recordings speak of them."""

from __future__ import annotations

from collections.abc import Sequence

Range = tuple[float, float]


def merge(ranges: Sequence[Range]) -> list[Range]:
    """Sorted, disjoint union of `ranges`."""
    out: list[Range] = []
    for s, e in sorted(ranges):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out
