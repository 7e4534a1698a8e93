"""The catch-up catalogue: TSTV channels, a channel's catch-up, a day's catch-up (SPEC J3, §4)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
import weakref
from collections.abc import AsyncIterator
from datetime import date as date_type
from datetime import datetime, time, timedelta
from typing import Annotated, Any, cast
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from app import clock
from app.db import Database
from app.deps import SessionDep, ViewerDep
from app.errors import ApiError
from app.routers._common import field_error
from app.schemas.catalogue import (
    CHANNEL_LISTING_JSON,
    DAY_LISTING_JSON,
    CatchupChannelListOut,
    CatchupDayListOut,
    TstvChannelOut,
    TstvChannelsOut,
)
from app.services import catalogue_service
from app.services.auth_service import TokenClaims
from app.services.catalogue_service import CatchupItem
from app.services.profile_select import resolve_profile
from app.services.rights import ArchiveView
from app.timezones import TzQuery

router = APIRouter(prefix="/tstv", tags=["catalogue"])

CATCHUP_DAYS_BACK = 7
ChannelRef = Annotated[str, Path(min_length=1, max_length=64, description="Channel id (UUID) or CDN key")]
Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
ProfileQuery = Annotated[uuid.UUID | None, Query(description="Profile (default: the token's)")]


# The programme fields, in the order of a listed row's first columns.
_ENTRY_KEYS = tuple(c.name for c in catalogue_service.ENTRY_COLUMNS)
# Listings in flight on the database at once, per process. Fewer PostgreSQL backends competing for
# two cores is faster: at 32 clients, 4 gave p95 46-52 ms, 8 gave 46-74 ms, no gate 66-89 ms.
_MAX_READERS = 4
_gates: weakref.WeakKeyDictionary[AsyncEngine, asyncio.Semaphore] = weakref.WeakKeyDictionary()


@contextlib.asynccontextmanager
async def _reader(request: Request) -> AsyncIterator[AsyncConnection]:
    """A connection of the read-only autocommit pool (no BEGIN/ROLLBACK round trips), once the
    process has fewer than `_MAX_READERS` listings on the database."""
    engine = cast(Database, request.app.state.db).reader_engine
    gate = _gates.get(engine)
    if gate is None:
        size = getattr(engine.pool, "size", None)
        limit = min(_MAX_READERS, size()) if callable(size) else _MAX_READERS
        gate = _gates.setdefault(engine, asyncio.Semaphore(max(1, limit)))
    async with gate, engine.connect() as conn:
        yield conn


async def _profile(conn: AsyncConnection, claims: TokenClaims, explicit: uuid.UUID | None) -> uuid.UUID:
    if explicit is None and claims.profile_id is not None:
        return claims.profile_id  # the common case needs no query
    async with AsyncSession(bind=conn) as session:
        return await resolve_profile(session, claims, explicit)


def _programs(items: list[CatchupItem]) -> list[dict[str, Any]]:
    """The listing items, shaped as `CatchupProgramOut`."""
    refs: dict[uuid.UUID, dict[str, Any]] = {}
    out = []
    for item in items:
        ch = item.channel
        ref = refs.get(ch.id)
        if ref is None:
            ref = refs[ch.id] = {"id": ch.id, "name": ch.name, "cdn_channel_key": ch.cdn_channel_key}
        entry = dict(zip(_ENTRY_KEYS, item.entry, strict=False))  # the row also has total, bookmark
        out.append(
            {
                "schedule_entry": entry,
                "channel": ref,
                "duration_seconds": (entry["end_time"] - entry["start_time"]).total_seconds(),
                "expires_at": item.expires_at,
                "bookmark_position_seconds": item.bookmark_position_seconds,
            }
        )
    return out


def _json(serializer: TypeAdapter[Any], body: dict[str, Any]) -> Response:
    """The listing, shaped as its response model, serialised by pydantic-core through the model's
    TypedDict twin: no model instance per item, and none of FastAPI's validate-then-encode pass."""
    return Response(serializer.dump_json(body), media_type="application/json")


@router.get("/channels", response_model=TstvChannelsOut)
async def tstv_channels(session: SessionDep, _claims: ViewerDep) -> TstvChannelsOut:
    channels = await catalogue_service.tstv_channels(session)
    return TstvChannelsOut(channels=[TstvChannelOut.model_validate(c) for c in channels])


@router.get("/catchup", response_model=CatchupDayListOut)
async def catchup_by_date(
    request: Request,
    claims: ViewerDep,
    date: date_type | None = Query(default=None, description="Local day (YYYY-MM-DD); default today"),
    tz: TzQuery = "UTC",
    channel_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    genre: Annotated[str | None, Query(min_length=1, max_length=60)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
    profile_id: ProfileQuery = None,
) -> Response:
    now = clock.now()
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    day = date or today
    if day > today:
        raise field_error("query", "date", "date is in the future")
    if day < today - timedelta(days=CATCHUP_DAYS_BACK):
        raise field_error("query", "date", f"date is more than {CATCHUP_DAYS_BACK} days back")
    archive: ArchiveView = request.app.state.archive
    async with _reader(request) as conn:
        channel = None
        if channel_id is not None:
            channel = await catalogue_service.channel_row(conn, channel_id)
            if channel is None:
                raise ApiError(404, "channel_not_found")
        profile = await _profile(conn, claims, profile_id)
        page = await catalogue_service.day_catchup(
            conn,
            archive,
            profile,
            now,
            datetime.combine(day, time.min, tzinfo=zone),
            datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone),
            limit,
            offset,
            channel=channel,
            genre=genre,
        )
    return _json(
        DAY_LISTING_JSON,
        {
            "date": day.isoformat(),
            "tz": tz,
            "programs": _programs(page.items),
            "total": page.total,
            "limit": limit,
            "offset": offset,
        },
    )


@router.get("/catchup/{channel_id}", response_model=CatchupChannelListOut)
async def catchup_by_channel(
    request: Request,
    claims: ViewerDep,
    channel_id: ChannelRef,
    limit: Limit = 50,
    offset: Offset = 0,
    profile_id: ProfileQuery = None,
) -> Response:
    archive: ArchiveView = request.app.state.archive
    async with _reader(request) as conn:
        channel = await catalogue_service.channel_row(conn, channel_id)
        if channel is None:
            raise ApiError(404, "channel_not_found")
        profile = await _profile(conn, claims, profile_id)
        page = await catalogue_service.channel_catchup(
            conn, archive, channel, profile, clock.now(), limit, offset
        )
    return _json(
        CHANNEL_LISTING_JSON,
        {
            "channel_id": channel.id,
            "programs": _programs(page.items),
            "total": page.total,
            "limit": limit,
            "offset": offset,
        },
    )
