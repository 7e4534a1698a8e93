"""What the archive holds per channel, for operators: the recorded stretches and the gaps inside the
retention window, the viewer window, and where the content key changed.

Built from the archive index's covered ranges and run spans (no directory scan); O(ranges + runs)
per channel. A 7-day window holds one range per stretch the encoder was up, so a few in normal
operation; an encoder that flapped all week could leave thousands, so past `MAX_RANGES` the shortest
gaps are merged away (and counted) while the totals stay exact.

It also says which ranges cloud recordings hold (possibly older than the retention window:
retention keeps them for the recordings) and how much disk their segments take (a stat per held
segment, in a worker thread).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.models import Channel
from app.services.archive import holds
from app.services.archive.archive_index import ArchiveIndex
from app.services.archive.archive_layout import is_channel_key

MAX_RANGES = 500
Range = tuple[float, float]


@dataclass(frozen=True)
class KeyChange:
    at: float  # epoch seconds: the first frame under the new key
    key_id: uuid.UUID | None  # None: unencrypted (DRM off)
    previous_key_id: uuid.UUID | None


@dataclass(frozen=True)
class HeldByRecordings:
    """The archive that recordings point at (one copy, however many viewers recorded it)."""

    ranges: list[Range] = field(default_factory=list)  # archived and held, oldest first
    seconds: float = 0.0
    bytes: int = 0  # their segments on disk, every rendition
    beyond_retention_bytes: int = 0  # of which older than the retention window (kept only for them)


@dataclass(frozen=True)
class ChannelCoverage:
    channel_key: str
    channel_name: str
    now: datetime
    retention_hours: int  # what retention keeps: max(catchup_window_hours, cutv_window_hours)
    cutv_window_hours: int
    recorded: list[Range]  # inside the retention window, oldest first
    gaps: list[Range]
    recorded_seconds: float  # exact, even when `merged_gaps` > 0
    merged_gaps: int  # gaps too short to list once there were more than MAX_RANGES ranges
    recorded_until: float | None  # the archive's newest video (the live edge when recording)
    key_changes: list[KeyChange]
    held: HeldByRecordings = field(default_factory=HeldByRecordings)
    backfilled: list[Range] = field(default_factory=list)  # recorded by a backfill, not live

    @property
    def window_start(self) -> datetime:
        return self.now - timedelta(hours=self.retention_hours)

    @property
    def viewer_window_start(self) -> datetime:
        return self.now - timedelta(hours=self.cutv_window_hours)


def clip(ranges: list[Range], lo: float, hi: float) -> list[Range]:
    """`ranges` (sorted, disjoint) cut to [lo, hi)."""
    return [(max(s, lo), min(e, hi)) for s, e in ranges if e > lo and s < hi]


def merge_shortest_gaps(ranges: list[Range], limit: int) -> tuple[list[Range], int]:
    """At most `limit` ranges: join neighbours across the shortest gaps. Returns (ranges, gaps merged)."""
    excess = len(ranges) - limit
    if excess <= 0:
        return ranges, 0
    by_length = sorted(range(1, len(ranges)), key=lambda i: ranges[i][0] - ranges[i - 1][1])
    joined = set(by_length[:excess])  # range i joins range i - 1
    out: list[Range] = []
    for i, (s, e) in enumerate(ranges):
        if i in joined:
            out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out, excess


def gaps_between(ranges: list[Range], lo: float, hi: float, live_edge_slack: float) -> list[Range]:
    """The time in [lo, hi) that `ranges` leave out. The newest segment is still being written, so a
    gap at `hi` shorter than `live_edge_slack` is not one."""
    gaps: list[Range] = []
    cursor = lo
    for s, e in ranges:
        if s > cursor:
            gaps.append((cursor, s))
        cursor = max(cursor, e)
    if hi - cursor > live_edge_slack:
        gaps.append((cursor, hi))
    return gaps


def key_changes(index: ArchiveIndex, channel_key: str, since: float) -> list[KeyChange]:
    changes: list[KeyChange] = []
    previous: str | None = None
    for i, span in enumerate(index.run_spans(channel_key)):
        if i and span.run.kid != previous and span.start >= since:
            changes.append(KeyChange(span.start, _kid(span.run.kid), _kid(previous)))
        previous = span.run.kid
    return changes


def backfilled_ranges(index: ArchiveIndex, channel_key: str, lo: float, hi: float) -> list[Range]:
    """The time runs written by a backfill (`run.json` `backfilled`) cover, inside [lo, hi)."""
    spans = [(s.start, s.end) for s in index.run_spans(channel_key) if s.run.backfilled]
    return clip(spans, lo, hi)


def _kid(kid_hex: str | None) -> uuid.UUID | None:
    return uuid.UUID(hex=kid_hex) if kid_hex else None


def intersect(a: list[Range], b: list[Range]) -> list[Range]:
    """The time both sorted, disjoint range lists cover."""
    out: list[Range] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if hi > lo:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def held_by_recordings(
    index: ArchiveIndex,
    root: os.PathLike[str] | str,
    channel_key: str,
    held: list[Range],
    window_start: float,
) -> HeldByRecordings:
    """Blocking (stats the held segments: run it in a worker thread)."""
    ranges = intersect(held, index.covered_ranges(channel_key))
    total = beyond = 0
    seen: set[str] = set()
    renditions = index.renditions(channel_key)
    for s, e in ranges:
        for rendition in renditions:
            for seg in index.iter_range(channel_key, rendition, s, e):
                if seg.path in seen:
                    continue
                seen.add(seg.path)
                try:
                    size = os.stat(os.path.join(root, seg.path)).st_size
                except FileNotFoundError:
                    continue
                total += size
                if seg.end <= window_start:
                    beyond += size
    return HeldByRecordings(ranges, sum(e - s for s, e in ranges), total, beyond)


def channel_coverage(
    index: ArchiveIndex,
    channel: Channel,
    now: datetime,
    segment_duration: int,
    held: HeldByRecordings | None = None,
) -> ChannelCoverage:
    key = channel.cdn_channel_key or ""
    retention_hours = max(channel.catchup_window_hours, channel.cutv_window_hours)
    hi = now.timestamp()
    lo = hi - retention_hours * 3600
    recorded = clip(index.covered_ranges(key), lo, hi)
    total = sum(e - s for s, e in recorded)
    shown, merged = merge_shortest_gaps(recorded, MAX_RANGES)
    # The newest segment appears once complete and the index polls every second.
    slack = 2 * segment_duration + 2
    return ChannelCoverage(
        channel_key=key,
        channel_name=channel.name,
        now=now,
        retention_hours=retention_hours,
        cutv_window_hours=channel.cutv_window_hours,
        recorded=shown,
        gaps=gaps_between(shown, lo, hi, slack),
        recorded_seconds=total,
        merged_gaps=merged,
        recorded_until=index.latest_end(key),
        key_changes=key_changes(index, key, lo),
        held=held or HeldByRecordings(),
        backfilled=backfilled_ranges(index, key, lo, hi),
    )


async def coverage(
    index: ArchiveIndex,
    session: AsyncSession,
    settings: Settings,
    now: datetime,
    channel_key: str | None = None,
) -> list[ChannelCoverage]:
    """Every TSTV channel's coverage (or `channel_key`'s), with what recordings hold."""
    channels = await tstv_channels(session, channel_key)
    held_by_key = await holds.held_ranges(session, now, settings)
    out = []
    for ch in channels:
        key = ch.cdn_channel_key or ""
        window_start = now.timestamp() - max(ch.catchup_window_hours, ch.cutv_window_hours) * 3600
        held = await asyncio.to_thread(
            held_by_recordings, index, settings.hls_segment_dir, key, held_by_key.get(key, []), window_start
        )
        out.append(channel_coverage(index, ch, now, settings.hls_segment_duration, held))
    return out


async def tstv_channels(session: AsyncSession, channel_key: str | None = None) -> list[Channel]:
    """Channels with an archive (a CDN key), in channel-number order; one of them with `channel_key`."""
    query = select(Channel).where(Channel.cdn_channel_key.is_not(None)).order_by(Channel.number)
    if channel_key is not None:
        if not is_channel_key(channel_key):
            return []
        query = query.where(Channel.cdn_channel_key == channel_key)
    return list(await session.scalars(query))
