"""Operators' view of the archive: what each channel recorded inside its retention window."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Path, Request

from app import clock
from app.deps import AdminDep, SessionDep, SettingsDep, archive_of, database_of, disk_budget_of
from app.errors import ApiError
from app.routers.route_answers import (
    ADMIN,
    INVALID,
    ChannelKey,
    errors,
    field_error,
    invalid,
    refusal,
    same_named,
)
from app.schemas.archive import (
    BackfillJobOut,
    BackfillJobsOut,
    BackfillRequest,
    ChannelCoverageOut,
    CoverageOut,
    DiskOut,
    KeyChangeOut,
    TimeRangeOut,
    WindowOut,
)
from app.services.archive.archive_coverage import ChannelCoverage, Range, coverage
from app.services.archive.disk_budget import ChannelEvictions, DiskBudget
from app.services.encoders.backfill import resolve_channel
from app.services.encoders.backfill_jobs import BackfillJob, BackfillJobs

router = APIRouter(prefix="/admin/archive", tags=["admin", "archive"])


def _at(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _ranges(ranges: list[Range]) -> list[TimeRangeOut]:
    return [TimeRangeOut(start=_at(s), end=_at(e), seconds=round(e - s, 3)) for s, e in ranges]


def _hours_within(ranges: list[Range], lo: float, hi: float) -> float:
    return round(sum(max(0.0, min(e, hi) - max(s, lo)) for s, e in ranges) / 3600, 4)


def _out(c: ChannelCoverage, budget: DiskBudget) -> ChannelCoverageOut:
    ev = budget.evicted.get(c.channel_key, ChannelEvictions())
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
        backfilled=_ranges(c.backfilled),
        catchup_hours_available=_hours_within(
            c.recorded, c.viewer_window_start.timestamp(), c.now.timestamp()
        ),
        evicted_segments=ev.segments,
        evicted_bytes=ev.bytes,
        evicted_before=_at(ev.cutoff) if ev.cutoff is not None else None,
    )


def _disk(budget: DiskBudget) -> DiskOut:
    reading = budget.measure()
    return DiskOut(
        total_bytes=reading.total,
        free_bytes=reading.free,
        floor_bytes=reading.floor,
        growth_bytes_per_second=budget.growth_rate(),
        full_in_seconds=budget.full_in_seconds(reading),
        storage_full=budget.storage_full(),
        evicted_bytes=budget.freed_total,
    )


async def _coverage(
    request: Request, session: SessionDep, settings: SettingsDep, channel_key: str | None
) -> CoverageOut:
    index = archive_of(request)
    now = clock.now()
    channels = await coverage(index, session, settings, now, channel_key)
    budget = disk_budget_of(request)
    return CoverageOut(generated_at=now, channels=[_out(c, budget) for c in channels], disk=_disk(budget))


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


def _job_out(job: BackfillJob) -> BackfillJobOut:
    r = job.result

    def spans(ranges: list[tuple[datetime, datetime]]) -> list[TimeRangeOut]:
        return _ranges([(s.timestamp(), e.timestamp()) for s, e in ranges])

    return BackfillJobOut(
        **same_named(job, "id", "channel_key", "start", "end", "origin", "state", "progress"),
        **same_named(job, "created_at", "finished_at"),
        written=spans(r.written) if r else [],
        skipped=spans(r.skipped) if r else [],
        notes=r.notes if r else [],
        speed=round(r.speed, 1) if r and r.written else None,
        error=job.error,
    )


def _jobs(request: Request) -> BackfillJobs:
    jobs: BackfillJobs = request.app.state.backfills
    return jobs


@router.post(
    "/backfill",
    response_model=BackfillJobOut,
    status_code=202,
    responses=errors(
        *ADMIN,
        refusal(404, "channel_not_found"),
        invalid("`end` must be after `start`, and both need a time zone"),
    ),
)
async def start_backfill(body: BackfillRequest, request: Request, _admin: AdminDep) -> BackfillJobOut:
    """Fill a channel's archive for a past range from its source, faster than real time, in the
    background ("Fill from source"): only the gaps are written, existing archive is left as it is.
    Poll the job for its progress and what it wrote."""
    if body.start.tzinfo is None or body.end.tzinfo is None:
        raise field_error("body", "start" if body.start.tzinfo is None else "end", "needs a time zone")
    if body.end <= body.start:
        raise field_error("body", "end", "must be after start")
    ch = await resolve_channel(database_of(request), body.channel_key)
    job = _jobs(request).start(ch.cdn_channel_key or "", body.start, body.end)
    return _job_out(job)


@router.get("/backfill", response_model=BackfillJobsOut, responses=errors(*ADMIN))
async def list_backfills(request: Request, _admin: AdminDep) -> BackfillJobsOut:
    """Backfill jobs of this process (operator requests and the first-run backfill), oldest first."""
    return BackfillJobsOut(jobs=[_job_out(j) for j in _jobs(request).list()])


@router.get(
    "/backfill/{job_id}",
    response_model=BackfillJobOut,
    responses=errors(*ADMIN, refusal(404, "job_not_found"), INVALID),
)
async def get_backfill(
    request: Request, _admin: AdminDep, job_id: str = Path(max_length=32)
) -> BackfillJobOut:
    """One backfill job: its state, progress and, once done, what it wrote and skipped."""
    job = _jobs(request).get(job_id)
    if job is None:
        raise ApiError(404, "job_not_found")
    return _job_out(job)
