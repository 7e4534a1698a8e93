"""Operators' view of the archive: what each channel recorded inside its retention window."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request

from app import clock
from app.deps import AdminDep, SessionDep, SettingsDep
from app.errors import ApiError
from app.routers._common import ADMIN, INVALID, ChannelKey, errors, refusal
from app.schemas.archive import ChannelCoverageOut, CoverageOut, KeyChangeOut, TimeRangeOut, WindowOut
from app.services.media.archive_coverage import ChannelCoverage, Range, coverage
from app.services.media.archive_index import ArchiveIndex

router = APIRouter(prefix="/admin/archive", tags=["admin", "archive"])


def _at(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _ranges(ranges: list[Range]) -> list[TimeRangeOut]:
    return [TimeRangeOut(start=_at(s), end=_at(e), seconds=round(e - s, 3)) for s, e in ranges]


def _out(c: ChannelCoverage) -> ChannelCoverageOut:
    return ChannelCoverageOut(
        channel_key=c.channel_key,
        channel_name=c.channel_name,
        retention_window=WindowOut(start=c.window_start, end=c.now, hours=c.retention_hours),
        viewer_window=WindowOut(start=c.viewer_window_start, end=c.now, hours=c.cutv_window_hours),
        recorded=_ranges(c.recorded),
        gaps=_ranges(c.gaps),
        recorded_hours=round(c.recorded_seconds / 3600, 4),
        merged_gaps=c.merged_gaps,
        recorded_until=_at(c.recorded_until) if c.recorded_until is not None else None,
        key_changes=[
            KeyChangeOut(at=_at(k.at), key_id=k.key_id, previous_key_id=k.previous_key_id)
            for k in c.key_changes
        ],
        held_by_recordings=_ranges(c.held.ranges),
        held_by_recordings_hours=round(c.held.seconds / 3600, 4),
        held_by_recordings_bytes=c.held.bytes,
        held_beyond_retention_bytes=c.held.beyond_retention_bytes,
    )


async def _coverage(
    request: Request, session: SessionDep, settings: SettingsDep, channel_key: str | None
) -> CoverageOut:
    index: ArchiveIndex = request.app.state.archive
    now = clock.now()
    channels = await coverage(index, session, settings, now, channel_key)
    return CoverageOut(generated_at=now, channels=[_out(c) for c in channels])


@router.get("/coverage", response_model=CoverageOut, responses=errors(*ADMIN))
async def coverage_endpoint(
    request: Request, session: SessionDep, settings: SettingsDep, _admin: AdminDep
) -> CoverageOut:
    """Every TSTV channel's recorded ranges and gaps inside its retention window, and what
    cloud recordings hold."""
    return await _coverage(request, session, settings, None)


@router.get(
    "/coverage/{channel_key}",
    response_model=ChannelCoverageOut,
    responses=errors(*ADMIN, refusal(404, "channel_not_found"), INVALID),
)
async def channel_coverage_endpoint(
    channel_key: ChannelKey, request: Request, session: SessionDep, settings: SettingsDep, _admin: AdminDep
) -> ChannelCoverageOut:
    """One channel's recorded ranges and gaps inside its retention window, and what cloud
    recordings hold."""
    out = await _coverage(request, session, settings, channel_key)
    if not out.channels:
        raise ApiError(404, "channel_not_found")
    return out.channels[0]
