"""TSTV viewing sessions: start (rights checked) and heartbeats that also move the bookmark."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain import rights
from app.errors import ApiError
from app.models import Channel, Recording, ScheduleEntry, TstvSession
from app.services.viewing import bookmark_service

SESSION_NOT_FOUND = "session_not_found"
CHANNEL_NOT_FOUND = "channel_not_found"
BOOKMARK_TYPE = {"startover": "tstv_startover", "catchup": "tstv_catchup"}


async def start_session(
    session: AsyncSession,
    archive: rights.ArchiveView,
    user_id: uuid.UUID,
    profile_id: uuid.UUID,
    channel_key: str,
    entry_id: uuid.UUID,
    session_type: str,
    now: datetime,
    recording_retention_days: int | None = None,
) -> TstvSession:
    """Open a session for a programme the viewer may watch now in that mode (403 with the
    rights' reason otherwise; 404 for an unknown channel or a programme not on that channel).
    A catch-up session of a programme the user recorded follows the recording's rights, so its
    progress is kept after the catch-up window closed."""
    channel = await session.scalar(select(Channel).where(Channel.cdn_channel_key == channel_key))
    if channel is None:
        raise ApiError(404, CHANNEL_NOT_FOUND)
    entry = await session.get(ScheduleEntry, entry_id)
    if entry is None or entry.channel_id != channel.id:
        raise ApiError(404, bookmark_service.ENTRY_NOT_FOUND)
    if session_type == "startover":
        decision = rights.startover_decision(channel, entry, now)
    else:
        decision = rights.catchup_decision(channel, entry, now, archive)
        if not decision.allowed and recording_retention_days is not None:
            recorded = await session.scalar(
                select(Recording.id).where(
                    Recording.user_id == user_id, Recording.schedule_entry_id == entry.id
                )
            )
            if recorded is not None:
                decision = rights.recording_playback_decision(
                    channel, entry, now, archive, recording_retention_days
                )
    if not decision.allowed:
        extra = {"expires_at": decision.expires_at.isoformat()} if decision.expires_at else {}
        status = 404 if decision.reason == rights.NOT_RECORDED else 403
        raise ApiError(status, decision.reason or "not_allowed", **extra)
    row = TstvSession(
        user_id=user_id,
        profile_id=profile_id,
        channel_id=channel_key,
        schedule_entry_id=entry.id,
        session_type=session_type,
        started_at=now,
        updated_at=now,
        last_position_s=0.0,
        completed=False,
    )
    session.add(row)
    await session.commit()
    return row


async def heartbeat(
    session: AsyncSession,
    user_id: uuid.UUID,
    session_id: int,
    position: float | None,
    completed: bool | None,
    now: datetime,
) -> TstvSession:
    """Record progress of the caller's own session (another user's id is 404) and move the
    profile's TSTV bookmark (furthest wins) in the same transaction. A session already running
    may finish even if rights were revoked meanwhile, so no rights check here."""
    row = await session.scalar(
        select(TstvSession)
        .where(TstvSession.id == session_id, TstvSession.user_id == user_id)
        .with_for_update()
    )
    if row is None:
        raise ApiError(404, SESSION_NOT_FOUND)
    entry = await session.get(ScheduleEntry, row.schedule_entry_id)
    if entry is None:
        raise ApiError(404, SESSION_NOT_FOUND)
    duration = bookmark_service.programme_duration(entry)
    if position is not None and position > duration:
        raise bookmark_service.PositionBeyondDuration(
            f"last_position_s is beyond the programme's duration ({duration:g} s)"
        )
    if position is not None:
        row.last_position_s = position
    if completed is not None:
        row.completed = completed
    row.updated_at = now
    mark = duration if completed else position
    if mark is not None:
        await bookmark_service.save_bookmark(
            session,
            row.profile_id,
            BOOKMARK_TYPE[row.session_type],
            row.schedule_entry_id,
            mark,
            None,
            now,
            commit=False,
        )
    await session.commit()
    return row
