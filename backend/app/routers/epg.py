from __future__ import annotations

import uuid
from datetime import date as date_type
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query, Request, status
from sqlalchemy import select

from app import clock
from app.deps import SessionDep, ViewerDep
from app.models import Channel, ScheduleEntry
from app.routers._common import INVALID, UNAUTHENTICATED, errors, refusal
from app.schemas.epg import (
    CatchupStateOut,
    ChannelOut,
    EpgChannelOut,
    EpgChannelsOut,
    EpgProgrammeOut,
    EpgScheduleEntryOut,
    EpgScheduleOut,
    ScheduleEntryOut,
)
from app.services import rights
from app.services.schedule_service import entries_between, on_air
from app.timezones import TzQuery

router = APIRouter(prefix="/epg", tags=["epg"])


@router.get("/channels", response_model=EpgChannelsOut, responses=errors(UNAUTHENTICATED))
async def epg_channels(session: SessionDep, _claims: ViewerDep) -> EpgChannelsOut:
    channels = (await session.scalars(select(Channel).order_by(Channel.number))).all()
    now_playing = await on_air(session, [c.id for c in channels], clock.now())
    out = []
    for ch in channels:
        entry = now_playing.get(ch.id)
        now_entry = ScheduleEntryOut.model_validate(entry) if entry else None
        out.append(EpgChannelOut(**ChannelOut.model_validate(ch).model_dump(), now=now_entry))
    return EpgChannelsOut(channels=out)


@router.get(
    "/schedule",
    response_model=EpgScheduleOut,
    responses=errors(UNAUTHENTICATED, refusal(404, "channel_not_found"), INVALID),
)
async def epg_schedule(
    request: Request,
    session: SessionDep,
    _claims: ViewerDep,
    channel_id: uuid.UUID,
    tz: TzQuery = "UTC",
    date: date_type | None = Query(default=None, description="Local day (YYYY-MM-DD); default today"),
) -> EpgScheduleOut:
    channel = await session.get(Channel, channel_id)
    if channel is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="channel_not_found")
    zone = ZoneInfo(tz)
    now = clock.now()
    day = date or now.astimezone(zone).date()
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    archive: rights.ArchiveView = request.app.state.archive
    entries = [
        EpgScheduleEntryOut.model_validate(_entry_state(channel, e, now, archive))
        for e in await entries_between(session, channel.id, start, end)
        if e.start_time >= start  # an entry that began the day before belongs to that day
    ]
    return EpgScheduleOut(channel_id=channel.id, date=day.isoformat(), tz=tz, entries=entries)


@router.get(
    "/programmes/{entry_id}",
    response_model=EpgProgrammeOut,
    responses=errors(UNAUTHENTICATED, refusal(404, "schedule_entry_not_found"), INVALID),
)
async def epg_programme(
    request: Request, session: SessionDep, _claims: ViewerDep, entry_id: uuid.UUID
) -> EpgProgrammeOut:
    """One programme, its channel, and whether it can be started over or caught up now."""
    entry = await session.get(ScheduleEntry, entry_id)
    channel = await session.get(Channel, entry.channel_id) if entry else None
    if entry is None or channel is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="schedule_entry_not_found")
    now = clock.now()
    return EpgProgrammeOut.model_validate(
        {
            **_entry_state(channel, entry, now, request.app.state.archive),
            "channel": ChannelOut.model_validate(channel),
            "startover_available": rights.startover_decision(channel, entry, now).allowed,
        }
    )


def _entry_state(
    channel: Channel, entry: ScheduleEntry, now: datetime, archive: rights.ArchiveView
) -> dict[str, object]:
    """A programme's fields with whether it is on air and, once aired, its catch-up state."""
    state = None
    if entry.end_time <= now:
        d = rights.catchup_decision(channel, entry, now, archive)
        assert d.expires_at is not None
        state = CatchupStateOut(available=d.allowed, reason=d.reason, expires_at=d.expires_at)
    return {
        **ScheduleEntryOut.model_validate(entry).model_dump(),
        "on_air": entry.start_time <= now < entry.end_time,
        "catchup": state,
    }
