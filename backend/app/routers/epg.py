from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date as date_type
from typing import Annotated, Any, cast
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import Response
from sqlalchemy import select

from app import clock
from app.db import Database
from app.deps import SessionDep, ViewerDep, archive_of, database_of
from app.domain import rights
from app.models import Channel, ScheduleEntry
from app.routers.route_answers import (
    INVALID,
    UNAUTHENTICATED,
    day_in_window,
    errors,
    field_error,
    ok_body,
    profile_answers,
    refusal,
)
from app.schemas.catalogue import json_serializer
from app.schemas.epg import (
    ChannelOut,
    EpgChannelOut,
    EpgChannelsOut,
    EpgGuideOut,
    EpgProgrammeOut,
    EpgScheduleEntryOut,
    EpgScheduleOut,
    ScheduleEntryOut,
)
from app.schemas.errors import DateWindowErrorOut
from app.services.archive import stills
from app.services.archive.child_processes import ffmpeg_exe
from app.services.catalogue import guide_service
from app.services.catalogue.programme_state import ProgrammeState, programme_state
from app.services.catalogue.schedule_service import entries_between, on_air
from app.services.viewing.profile_select import resolve_profile
from app.timezones import TzQuery, local_day

router = APIRouter(prefix="/epg", tags=["epg"])

_ENTRY_KEYS = tuple(ScheduleEntryOut.model_fields)
_CHANNEL_KEYS = tuple(ChannelOut.model_fields)
_GUIDE_JSON = json_serializer(EpgGuideOut)
StillUrl = Callable[[uuid.UUID], str]
ProfileQuery = Annotated[uuid.UUID | None, Query(description="Profile (default: the token's)")]


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


_OUTSIDE_GUIDE = refusal(
    404,
    "date_outside_guide_window",
    why=f"`date` is more than {guide_service.DAYS_BACK} days before or {guide_service.DAYS_AHEAD} days "
    "after today in `tz`",
    model=DateWindowErrorOut,
)


@router.get("/guide", response_model=EpgGuideOut, responses=profile_answers(_OUTSIDE_GUIDE))
async def epg_guide(
    request: Request,
    claims: ViewerDep,
    tz: TzQuery = "UTC",
    date: date_type | None = Query(
        default=None,
        description=f"Local day (YYYY-MM-DD) in `tz`, default today: from {guide_service.DAYS_BACK} days "
        f"back to {guide_service.DAYS_AHEAD} days ahead (another day is a 404 `date_outside_guide_window`)",
    ),
    profile_id: ProfileQuery = None,
) -> Response:
    """Every channel with one local day's programmes (local midnight to the next), each with what
    can be done with it now: the whole guide of a day in one request."""
    now = clock.now()
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    earliest, latest = guide_service.guide_days(today)
    day = day_in_window(date, today, earliest, latest, "date_outside_guide_window")
    start, end = local_day(day, zone)
    # The read-only autocommit pool: two SELECTs need no transaction around them.
    async with database_of(request).reader() as session:
        profile = await resolve_profile(session, claims, profile_id)
        channels = await guide_service.guide_day(session, archive_of(request), profile, start, end, now)
    still_url = _still_urls(request)
    body = {
        "date": day.isoformat(),
        "tz": tz,
        "start": start,
        "end": end,
        "now": now,
        "earliest_date": earliest.isoformat(),
        "latest_date": latest.isoformat(),
        "channels": [
            {
                **{k: getattr(g.channel, k) for k in _CHANNEL_KEYS},
                "entries": [
                    {
                        **_programme(p.entry, p.state, still_url),
                        "bookmark_position_seconds": p.entry.bookmark_position_seconds,
                    }
                    for p in g.programmes
                ],
            }
            for g in channels
        ],
    }
    # Serialised in one go from plain dicts (no model per programme): a day is ~700 programmes.
    return Response(_GUIDE_JSON.dump_json(body), media_type="application/json")


# Days a schedule may be asked for: any local day in them is a valid UTC range (9999-12-31 is not).
EARLIEST_DAY = date_type(1970, 1, 1)
LATEST_DAY = date_type(2999, 12, 31)


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
    date: date_type | None = Query(
        default=None, description="Local day (YYYY-MM-DD, 1970-01-01 to 2999-12-31); default today"
    ),
) -> EpgScheduleOut:
    if date is not None and not EARLIEST_DAY <= date <= LATEST_DAY:
        raise field_error("query", "date", "must be between 1970-01-01 and 2999-12-31")
    channel = await session.get(Channel, channel_id)
    if channel is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="channel_not_found")
    zone = ZoneInfo(tz)
    now = clock.now()
    day = date or now.astimezone(zone).date()
    start, end = local_day(day, zone)
    archive = archive_of(request)
    still_url = _still_urls(request)
    entries = [
        EpgScheduleEntryOut.model_validate(
            _programme(e, programme_state(channel, e, now, archive), still_url)
        )
        for e in await entries_between(session, channel.id, start, end)
        if e.start_time >= start  # an entry that began the day before belongs to that day
    ]
    return EpgScheduleOut(channel_id=channel.id, date=day.isoformat(), tz=tz, entries=entries)


_ENTRY_NOT_FOUND = refusal(404, "schedule_entry_not_found")


@router.get(
    "/programmes/{entry_id}",
    response_model=EpgProgrammeOut,
    responses=errors(UNAUTHENTICATED, _ENTRY_NOT_FOUND, INVALID),
)
async def epg_programme(
    request: Request, session: SessionDep, _claims: ViewerDep, entry_id: uuid.UUID
) -> EpgProgrammeOut:
    """One programme, its channel, and whether it can be started over or caught up now."""
    entry = await session.get(ScheduleEntry, entry_id)
    channel = await session.get(Channel, entry.channel_id) if entry else None
    if entry is None or channel is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="schedule_entry_not_found")
    state = programme_state(channel, entry, clock.now(), archive_of(request))
    return EpgProgrammeOut.model_validate(
        {**_programme(entry, state, _still_urls(request)), "channel": ChannelOut.model_validate(channel)}
    )


# Stills are final when served (see app/services/archive/stills.py), so browsers may keep them for ever.
_IMMUTABLE = "public, max-age=31536000, immutable"
_NO_STORE = {"Cache-Control": "no-store"}
_RETRY_AFTER = {
    "Retry-After": {"description": "Seconds until it is worth asking again", "schema": {"type": "integer"}}
}
_STILL_ANSWERS = errors(
    _ENTRY_NOT_FOUND,
    refusal(404, rights.NOT_RECORDED, why="it has aired and the archive holds none of it"),
    refusal(404, "still_not_ready", why="upcoming, or on air short of the frame the still is taken from"),
    refusal(
        503,
        "still_unavailable",
        why="FFmpeg could not take it (e.g. a broken segment), or too many stills are being taken",
        headers=_RETRY_AFTER,
    ),
    INVALID,
)


@router.get(
    "/programmes/{entry_id}/still.jpg",
    response_class=Response,
    responses={
        **ok_body(
            "image/jpeg", "The still: a 320x180 JPEG, `Cache-Control: public, max-age=31536000, immutable`"
        ),
        **_STILL_ANSWERS,
    },
)
async def programme_still(request: Request, entry_id: uuid.UUID) -> Response:
    """A frame of the programme's own recording, for its card (an `<img src>`: no token needed,
    the still is no secret while the video stays encrypted). Taken once, then served from disk.
    Every 404 means "show the channel logo"; error answers are `Cache-Control: no-store`."""
    taker = _stills(request)
    data = await taker.read(entry_id)
    if data is None:
        # Its own short session: a request waiting for FFmpeg must not hold a pooled connection.
        async with database_of(request).reader() as session:
            entry = await session.get(ScheduleEntry, entry_id)
            channel = await session.get(Channel, entry.channel_id) if entry else None
        if entry is None or channel is None:
            raise HTTPException(404, detail="schedule_entry_not_found", headers=_NO_STORE)
        try:
            segment = stills.pick_segment(archive_of(request), channel.cdn_channel_key, entry, clock.now())
            data = await taker.take(entry.id, segment, entry.end_time)
        except stills.StillNotRecorded:
            raise HTTPException(404, detail=rights.NOT_RECORDED, headers=_NO_STORE) from None
        except stills.StillNotReady:
            raise HTTPException(404, detail="still_not_ready", headers=_NO_STORE) from None
        except stills.StillUnavailable as exc:
            headers = {**_NO_STORE, "Retry-After": str(exc.retry_after)}
            raise HTTPException(503, detail="still_unavailable", headers=headers) from None
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": _IMMUTABLE})


def _stills(request: Request) -> stills.StillTaker:
    """The process's still taker, made on first use."""
    state = request.app.state
    taker: stills.StillTaker | None = getattr(state, "stills", None)
    if taker is None:
        settings = state.settings
        taker = state.stills = stills.StillTaker(
            settings.stills_path,
            state.archive,
            ffmpeg_exe(settings),
            stills.kms_lookup(cast(Database, state.db).sessionmaker),
            state.tasks,
        )
    return taker


def _still_urls(request: Request) -> StillUrl:
    """Programme id -> its still's path, from one route lookup per request."""
    template = request.app.url_path_for("programme_still", entry_id="ENTRY_ID")
    before, after = str(template).split("ENTRY_ID")
    return lambda entry_id: f"{before}{entry_id}{after}"


def _programme(entry: Any, state: ProgrammeState, still_url: StillUrl) -> dict[str, Any]:
    """A programme (an ORM entity or the guide's `DayEntry`) shaped as `EpgScheduleEntryOut`."""
    catchup = state.catchup
    return {
        **{k: getattr(entry, k) for k in _ENTRY_KEYS},
        "status": state.status,
        "on_air": state.status == "on_air",
        "startover_available": state.startover_available,
        "catchup": None
        if catchup is None
        else {"available": catchup.allowed, "reason": catchup.reason, "expires_at": catchup.expires_at},
        "still_url": still_url(entry.id) if state.has_still else None,
    }
