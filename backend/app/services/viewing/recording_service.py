"""Cloud recordings (network PVR): a recording is a pointer to a programme's time range of the
archive (docs/PRODUCT.md, 'Data model'), never a copy. Retention keeps what recordings point at
(`recording_holds`), one copy for every viewer; a recording lasts `RECORDING_RETENTION_DAYS` after its
programme ended.

Its status is computed at read time from the archive index (never stored, so never stale):
`scheduled` (upcoming), `recording` (on air), then `recorded`, `partial` (the archive holds only
part: `recorded_seconds` says how much) or `failed` (nothing).

A user's recordings are changed one request at a time: each write first locks the user's row
(PostgreSQL; SQLite serialises writers anyway), so the quota cannot be overrun by concurrent
requests; the unique (user, programme) plus INSERT ... ON CONFLICT DO NOTHING makes recording a
programme idempotent whatever happens.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.domain import rights
from app.errors import ApiError
from app.models import Channel, Recording, ScheduleEntry, SeriesRecording, User
from app.services.archive.archive_index import ArchiveIndex
from app.services.catalogue.schedule_service import fill_schedule
from app.services.viewing.recording_holds import kept_since

SCHEDULED, RECORDING, RECORDED, PARTIAL, FAILED = "scheduled", "recording", "recorded", "partial", "failed"
STATUSES = (SCHEDULED, RECORDING, RECORDED, PARTIAL, FAILED)
QUOTA_EXCEEDED = "quota_exceeded"
# A programme whose archive misses less than this is `recorded` (segment seams, rounding).
COMPLETE_SLACK_S = 1.0
Range = tuple[float, float]


@dataclass(frozen=True)
class RecordingView:
    recording: Recording
    entry: ScheduleEntry
    channel: Channel
    status: str
    recorded_seconds: float
    expires_at: datetime
    playable: bool


@dataclass(frozen=True)
class Quota:
    used_seconds: float
    allowed_seconds: float


@dataclass(frozen=True)
class SeriesView:
    series: SeriesRecording
    episodes: int  # recordings it made that still exist


# ---- status -----------------------------------------------------------------------------------


def archived_seconds(archive: ArchiveIndex, channel_key: str, start: float, end: float) -> float:
    """Seconds of [start, end) the video archive holds, from its covered ranges."""
    if end <= start:
        return 0.0
    return sum(
        min(e, end) - max(s, start) for s, e in archive.covered_ranges(channel_key) if e > start and s < end
    )


def status_of(
    archive: ArchiveIndex, channel_key: str, entry: ScheduleEntry, now: datetime
) -> tuple[str, float]:
    """(status, seconds of the programme the archive holds so far)."""
    if now < entry.start_time:
        return SCHEDULED, 0.0
    start, end = entry.start_time.timestamp(), entry.end_time.timestamp()
    seconds = min(archived_seconds(archive, channel_key, start, min(end, now.timestamp())), end - start)
    if now < entry.end_time:
        return RECORDING, seconds
    if seconds >= end - start - COMPLETE_SLACK_S:
        return RECORDED, seconds
    return (PARTIAL if seconds > 0 else FAILED), seconds


def _view(
    rec: Recording,
    entry: ScheduleEntry,
    channel: Channel,
    now: datetime,
    settings: Settings,
    archive: ArchiveIndex,
) -> RecordingView:
    status, seconds = status_of(archive, channel.cdn_channel_key or rec.channel_id, entry, now)
    days = settings.recording_retention_days
    playable = rights.recording_playback_decision(channel, entry, now, archive, days).allowed
    return RecordingView(
        rec, entry, channel, status, round(seconds, 3), rights.recording_expires_at(entry, days), playable
    )


# ---- queries ----------------------------------------------------------------------------------


def _views_query(
    user_id: uuid.UUID, now: datetime, retention_days: int
) -> Select[Recording, ScheduleEntry, Channel]:
    return (
        select(Recording, ScheduleEntry, Channel)
        .join(ScheduleEntry, ScheduleEntry.id == Recording.schedule_entry_id)
        .join(Channel, Channel.id == ScheduleEntry.channel_id)
        .where(Recording.user_id == user_id, ScheduleEntry.end_time > kept_since(now, retention_days))
    )


async def quota(session: AsyncSession, user_id: uuid.UUID, now: datetime, settings: Settings) -> Quota:
    """The programme time of the user's recordings that have not expired, and the allowance."""
    rows = await session.execute(
        select(ScheduleEntry.start_time, ScheduleEntry.end_time)
        .join(Recording, Recording.schedule_entry_id == ScheduleEntry.id)
        .where(
            Recording.user_id == user_id,
            ScheduleEntry.end_time > kept_since(now, settings.recording_retention_days),
        )
    )
    used = sum((end - start).total_seconds() for start, end in rows)
    return Quota(used, settings.recording_quota_hours * 3600)


async def list_recordings(
    session: AsyncSession,
    user_id: uuid.UUID,
    now: datetime,
    settings: Settings,
    archive: ArchiveIndex,
    limit: int,
    offset: int,
) -> tuple[list[RecordingView], int, Quota]:
    """The user's recordings, newest programme first, with the total and the quota."""
    query = _views_query(user_id, now, settings.recording_retention_days)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.execute(
        query.order_by(ScheduleEntry.start_time.desc(), Recording.id).limit(limit).offset(offset)
    )
    views = [_view(r, e, c, now, settings, archive) for r, e, c in rows]
    return views, int(total or 0), await quota(session, user_id, now, settings)


async def get_recording(
    session: AsyncSession,
    user_id: uuid.UUID,
    recording_id: uuid.UUID,
    now: datetime,
    settings: Settings,
    archive: ArchiveIndex,
) -> RecordingView:
    """The user's recording; 404 `recording_not_found` for another user's, an expired or unknown one."""
    query = _views_query(user_id, now, settings.recording_retention_days).where(Recording.id == recording_id)
    row = (await session.execute(query)).first()
    if row is None:
        raise ApiError(404, "recording_not_found")
    rec, entry, channel = row
    return _view(rec, entry, channel, now, settings, archive)


async def delete_recording(session: AsyncSession, user_id: uuid.UUID, recording_id: uuid.UUID) -> None:
    result = await session.execute(
        delete(Recording).where(Recording.id == recording_id, Recording.user_id == user_id)
    )
    await session.commit()
    if not getattr(result, "rowcount", 0):
        raise ApiError(404, "recording_not_found")


# ---- recording ----------------------------------------------------------------------------------


def _insert(session: AsyncSession) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


async def _lock_user(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Serialise the user's recording writes (the quota check and the insert) until commit."""
    found = await session.scalar(select(User.id).where(User.id == user_id).with_for_update())
    if found is None:
        raise ApiError(401, "invalid_token")


def _refuse(decision: rights.Decision) -> ApiError:
    status = 403 if decision.reason == rights.PROGRAM_NOT_ELIGIBLE else 409
    extra = {"expires_at": decision.expires_at.isoformat()} if decision.expires_at else {}
    return ApiError(status, decision.reason or rights.PROGRAM_NOT_ELIGIBLE, **extra)


def _quota_error(q: Quota, needed_seconds: float) -> ApiError:
    return ApiError(
        409,
        QUOTA_EXCEEDED,
        used_hours=round(q.used_seconds / 3600, 2),
        allowed_hours=round(q.allowed_seconds / 3600, 2),
        needed_hours=round(needed_seconds / 3600, 2),
    )


def _duration(entry: ScheduleEntry) -> float:
    return (entry.end_time - entry.start_time).total_seconds()


async def record_programme(
    session: AsyncSession,
    user_id: uuid.UUID,
    entry_id: uuid.UUID,
    now: datetime,
    settings: Settings,
    archive: ArchiveIndex,
    channel_id: uuid.UUID | None = None,
) -> tuple[RecordingView, bool]:
    """Record a programme for the user: (the recording, whether it was made now). Idempotent: the
    same programme again answers the existing recording. Refusals (ApiError) leave nothing behind."""
    await _lock_user(session, user_id)
    days = settings.recording_retention_days
    row = (
        await session.execute(
            select(ScheduleEntry, Channel)
            .join(Channel, Channel.id == ScheduleEntry.channel_id)
            .where(ScheduleEntry.id == entry_id)
        )
    ).first()
    if row is None or (channel_id is not None and row[1].id != channel_id):
        await session.rollback()
        raise ApiError(404, "schedule_entry_not_found")
    entry, channel = row[0], row[1]
    existing = await session.scalar(
        select(Recording).where(Recording.user_id == user_id, Recording.schedule_entry_id == entry_id)
    )
    if existing is not None and entry.end_time > kept_since(now, days):
        view = _view(existing, entry, channel, now, settings, archive)
        await session.commit()  # nothing written: ends the transaction (and the lock), keeps the rows
        return view, False
    decision = rights.record_decision(channel, entry, now, archive)
    if not decision.allowed:
        await session.rollback()
        raise _refuse(decision)
    q, duration = await quota(session, user_id, now, settings), _duration(entry)
    if q.used_seconds + duration > q.allowed_seconds + 1e-6:
        await session.rollback()
        raise _quota_error(q, duration)
    assert channel.cdn_channel_key  # recordable() checked it
    stmt = (
        _insert(session)(Recording)
        .values(
            id=uuid.uuid4(),
            user_id=user_id,
            schedule_entry_id=entry_id,
            channel_id=channel.cdn_channel_key,
            requested_at=now,
        )
        .on_conflict_do_nothing(index_elements=["user_id", "schedule_entry_id"])
        .returning(Recording.id)
    )
    created = (await session.execute(stmt)).scalar_one_or_none() is not None
    await session.commit()
    rec = await session.scalar(
        select(Recording).where(Recording.user_id == user_id, Recording.schedule_entry_id == entry_id)
    )
    assert rec is not None
    return _view(rec, entry, channel, now, settings, archive), created


# ---- series -----------------------------------------------------------------------------------


async def _series_views(
    session: AsyncSession,
    user_id: uuid.UUID,
    now: datetime,
    settings: Settings,
    series_id: uuid.UUID | None = None,
) -> list[SeriesView]:
    episodes = (
        select(func.count())
        .select_from(Recording)
        .join(ScheduleEntry, ScheduleEntry.id == Recording.schedule_entry_id)
        .where(
            Recording.series_recording_id == SeriesRecording.id,
            ScheduleEntry.end_time > kept_since(now, settings.recording_retention_days),
        )
        .scalar_subquery()
    )
    query = select(SeriesRecording, episodes).where(SeriesRecording.user_id == user_id)
    if series_id is not None:
        query = query.where(SeriesRecording.id == series_id)
    rows = await session.execute(query.order_by(SeriesRecording.created_at.desc(), SeriesRecording.id))
    return [SeriesView(s, int(n)) for s, n in rows]


async def list_series(
    session: AsyncSession, user_id: uuid.UUID, now: datetime, settings: Settings
) -> list[SeriesView]:
    return await _series_views(session, user_id, now, settings)


async def _record_episodes(
    session: AsyncSession,
    series: SeriesRecording,
    now: datetime,
    settings: Settings,
    archive: ArchiveIndex,
) -> int:
    """Record the series' upcoming and on-air episodes not considered yet, in air order, skipping
    (and counting) those that do not fit the quota. The caller holds the user's lock and commits.
    Returns the number of recordings made."""
    query = (
        select(ScheduleEntry, Channel)
        .join(Channel, Channel.id == ScheduleEntry.channel_id)
        .where(
            ScheduleEntry.series_id == series.series_id,
            ScheduleEntry.end_time > now,
            ScheduleEntry.start_time < now + rights.GUIDE_HORIZON,
        )
        .order_by(ScheduleEntry.start_time, ScheduleEntry.id)
    )
    if series.considered_until is not None:
        query = query.where(ScheduleEntry.start_time > series.considered_until)
    episodes = (await session.execute(query)).all()
    if not episodes:
        return 0
    mine = set(
        await session.scalars(
            select(Recording.schedule_entry_id).where(
                Recording.user_id == series.user_id,
                Recording.schedule_entry_id.in_([e.id for e, _ in episodes]),
            )
        )
    )
    q = await quota(session, series.user_id, now, settings)
    used = q.used_seconds
    rows: list[dict[str, Any]] = []
    for entry, channel in episodes:
        if entry.id in mine or not rights.record_decision(channel, entry, now, archive).allowed:
            continue
        if used + _duration(entry) > q.allowed_seconds + 1e-6:
            series.skipped_episodes += 1
            series.last_skipped_entry_id = entry.id
            series.last_skipped_reason = QUOTA_EXCEEDED
            continue
        used += _duration(entry)
        rows.append(
            {
                "id": uuid.uuid4(),
                "user_id": series.user_id,
                "schedule_entry_id": entry.id,
                "channel_id": channel.cdn_channel_key,
                "series_recording_id": series.id,
                "requested_at": now,
            }
        )
    series.considered_until = max(e.start_time for e, _ in episodes)
    if rows:
        await session.execute(_insert(session)(Recording).values(rows).on_conflict_do_nothing())
    return len(rows)


async def record_series(
    session: AsyncSession,
    user_id: uuid.UUID,
    series_id: str,
    now: datetime,
    settings: Settings,
    archive: ArchiveIndex,
) -> tuple[SeriesView, bool]:
    """Record every upcoming and on-air episode of a series, and (via `record_new_episodes`) each
    new one the schedule job adds. Idempotent: (the series recording, whether it was made now)."""
    await _lock_user(session, user_id)
    title = await session.scalar(
        select(ScheduleEntry.series_title).where(ScheduleEntry.series_id == series_id).limit(1)
    )
    known = await session.scalar(
        select(ScheduleEntry.id).where(ScheduleEntry.series_id == series_id).limit(1)
    )
    if known is None:
        await session.rollback()
        raise ApiError(404, "series_not_found")
    stmt = (
        _insert(session)(SeriesRecording)
        .values(id=uuid.uuid4(), user_id=user_id, series_id=series_id, series_title=title, created_at=now)
        .on_conflict_do_nothing(index_elements=["user_id", "series_id"])
        .returning(SeriesRecording.id)
    )
    new_id = (await session.execute(stmt)).scalar_one_or_none()
    if new_id is not None:
        series = await session.get(SeriesRecording, new_id)
        assert series is not None
        await _record_episodes(session, series, now, settings, archive)
    await session.commit()
    sid = await session.scalar(
        select(SeriesRecording.id).where(
            SeriesRecording.user_id == user_id, SeriesRecording.series_id == series_id
        )
    )
    assert sid is not None
    (view,) = await _series_views(session, user_id, now, settings, sid)
    return view, new_id is not None


async def get_series(
    session: AsyncSession,
    user_id: uuid.UUID,
    series_recording_id: uuid.UUID,
    now: datetime,
    settings: Settings,
) -> SeriesView:
    views = await _series_views(session, user_id, now, settings, series_recording_id)
    if not views:
        raise ApiError(404, "series_recording_not_found")
    return views[0]


async def delete_series(
    session: AsyncSession, user_id: uuid.UUID, series_recording_id: uuid.UUID, keep_recordings: bool
) -> None:
    """Stop recording the series; its recordings stay (unlinked) unless `keep_recordings` is false."""
    found = await session.scalar(
        select(SeriesRecording.id).where(
            SeriesRecording.id == series_recording_id, SeriesRecording.user_id == user_id
        )
    )
    if found is None:
        raise ApiError(404, "series_recording_not_found")
    if not keep_recordings:
        await session.execute(delete(Recording).where(Recording.series_recording_id == found))
    await session.execute(delete(SeriesRecording).where(SeriesRecording.id == found))
    await session.commit()


async def record_new_episodes(
    session: AsyncSession, now: datetime, settings: Settings, archive: ArchiveIndex
) -> int:
    """For the schedule job, after it added programmes: every series recording picks up its new
    episodes (one user at a time, under the user's lock). Returns the recordings made."""
    made = 0
    for series_id, user_id in await session.execute(select(SeriesRecording.id, SeriesRecording.user_id)):
        await _lock_user(session, user_id)
        series = await session.get(SeriesRecording, series_id, populate_existing=True)
        if series is not None:
            made += await _record_episodes(session, series, now, settings, archive)
        await session.commit()
    return made


async def schedule_job(
    session: AsyncSession, now: datetime, settings: Settings, archive: ArchiveIndex
) -> int:
    """The hourly schedule job: fill the schedule, then let series recordings pick up the episodes
    it added. Returns the recordings made."""
    await fill_schedule(session, now)
    return await record_new_episodes(session, now, settings, archive)
