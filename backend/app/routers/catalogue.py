"""The catch-up catalogue: TSTV channels, a channel's catch-up, a day's catch-up (docs/PRODUCT.md, J3)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date as date_type
from datetime import timedelta
from typing import Annotated, Any, cast
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from app import clock
from app.deps import SessionDep, ViewerDep, archive_of, database_of
from app.errors import ApiError
from app.routers.route_answers import UNAUTHENTICATED, day_in_window, errors, profile_answers, refusal
from app.schemas.catalogue import (
    CHANNEL_LISTING_JSON,
    DAY_LISTING_JSON,
    FLOAT_JSON,
    PROGRAM_JSON,
    RECENT_LISTING_JSON,
    CatchupChannelListOut,
    CatchupDayListOut,
    CatchupRecentListOut,
    TstvChannelOut,
    TstvChannelsOut,
)
from app.schemas.errors import DateWindowErrorOut
from app.schemas.patterns import CHANNEL_REF, NO_NUL
from app.services.accounts.auth_service import TokenClaims
from app.services.catalogue import catalogue_service
from app.services.catalogue.catalogue_cache import ListingCache
from app.services.catalogue.catalogue_service import CatchupItem, CatchupPage, SharedPage
from app.services.viewing.profile_select import resolve_profile
from app.timezones import TzQuery, local_day

router = APIRouter(prefix="/tstv", tags=["catalogue"])

CATCHUP_DAYS_BACK = 7
ChannelRef = Annotated[str, Path(pattern=CHANNEL_REF, description="Channel id (UUID) or CDN key")]
Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
ProfileQuery = Annotated[uuid.UUID | None, Query(description="Profile (default: the token's)")]


# The programme fields, in the order of a listed row's first columns.
_ENTRY_KEYS = tuple(c.name for c in catalogue_service.ENTRY_COLUMNS)
# Listings in flight on the database at once, per process. Fewer PostgreSQL backends competing for
# two cores was faster when every listing ran its full statement (at 32 clients, 4 gave p95 46-52 ms,
# 8 gave 46-74 ms, no gate 66-89 ms); with shared pages most requests only read their bookmarks
# and 4 or 8 measure the same.
_MAX_READERS = 4
_gates: weakref.WeakKeyDictionary[AsyncEngine, asyncio.Semaphore] = weakref.WeakKeyDictionary()


@contextlib.asynccontextmanager
async def _reader(request: Request) -> AsyncIterator[AsyncConnection]:
    """A connection of the read-only autocommit pool (no BEGIN/ROLLBACK round trips), once the
    process has fewer than `_MAX_READERS` listings on the database."""
    engine = database_of(request).reader_engine
    gate = _gates.get(engine)
    if gate is None:
        size = getattr(engine.pool, "size", None)
        limit = min(_MAX_READERS, size()) if callable(size) else _MAX_READERS
        gate = _gates.setdefault(engine, asyncio.Semaphore(max(1, limit)))
    async with gate, engine.connect() as conn:
        yield conn


def _cache(request: Request) -> ListingCache:
    return cast(ListingCache, request.app.state.catalogue_cache)


async def _profile(conn: AsyncConnection, claims: TokenClaims, explicit: uuid.UUID | None) -> uuid.UUID:
    if explicit is None and claims.profile_id is not None:
        return claims.profile_id  # the common case needs no query
    async with AsyncSession(bind=conn) as session:
        return await resolve_profile(session, claims, explicit)


def _program(item: CatchupItem) -> dict[str, Any]:
    """A listed programme shaped as `CatchupProgramOut`, without the viewer's bookmark."""
    ch = item.channel
    entry = dict(zip(_ENTRY_KEYS, item.entry, strict=False))  # the row also has `total`
    return {
        "schedule_entry": entry,
        "channel": {"id": ch.id, "name": ch.name, "cdn_channel_key": ch.cdn_channel_key},
        "duration_seconds": (entry["end_time"] - entry["start_time"]).total_seconds(),
        "expires_at": item.expires_at,
        "bookmark_position_seconds": None,
    }


# Each shared page's programmes as JSON with no bookmark (the item's last field), computed once per
# cached page: a request only rewrites the items its profile has a bookmark for.
_NO_BOOKMARK = b"null}"


@dataclass(frozen=True, slots=True)
class _Rendered:
    programs: list[bytes]
    index: dict[uuid.UUID, int]  # programme id -> position in `programs`


_rendered: weakref.WeakKeyDictionary[SharedPage, _Rendered] = weakref.WeakKeyDictionary()


def _rendered_programs(page: SharedPage) -> _Rendered:
    found = _rendered.get(page)
    if found is None:
        programs = [PROGRAM_JSON.dump_json(_program(item)) for item in page.items]
        if not all(p.endswith(_NO_BOOKMARK) for p in programs):
            raise AssertionError("bookmark_position_seconds must be the last field of a listed programme")
        found = _rendered[page] = _Rendered(programs, {entry_id: i for i, entry_id in enumerate(page.ids)})
    return found


def _listing_json(serializer: TypeAdapter[Any], body: dict[str, Any], page: CatchupPage) -> Response:
    """The listing `body` (fields in the response model's order, `programs` empty), serialised by
    pydantic-core through the model's TypedDict twin, with the programmes spliced in from their
    cached JSON."""
    before, after = serializer.dump_json(body).split(b'"programs":[]', 1)
    rendered = _rendered_programs(page.shared)
    programs = rendered.programs
    if page.bookmarks:
        programs = programs[:]
        for entry_id, position in page.bookmarks.items():
            i = rendered.index.get(entry_id)
            if i is not None:
                programs[i] = programs[i][: -len(_NO_BOOKMARK)] + FLOAT_JSON.dump_json(position) + b"}"
    return Response(
        b"".join((before, b'"programs":[', b",".join(programs), b"]", after)), media_type="application/json"
    )


_CHANNEL_NOT_FOUND = refusal(404, "channel_not_found")
_OUTSIDE_WINDOW = refusal(
    404,
    "date_outside_catchup_window",
    why=f"`date` is in the future or more than {CATCHUP_DAYS_BACK} days back",
    model=DateWindowErrorOut,
)


@router.get("/channels", response_model=TstvChannelsOut, responses=errors(UNAUTHENTICATED))
async def tstv_channels(session: SessionDep, _claims: ViewerDep) -> TstvChannelsOut:
    channels = await catalogue_service.tstv_channels(session)
    return TstvChannelsOut(channels=[TstvChannelOut.model_validate(c) for c in channels])


@router.get(
    "/catchup",
    response_model=CatchupDayListOut,
    responses=profile_answers(_CHANNEL_NOT_FOUND, _OUTSIDE_WINDOW),
)
async def catchup_by_date(
    request: Request,
    claims: ViewerDep,
    date: date_type | None = Query(
        default=None,
        description=f"Local day (YYYY-MM-DD), default today: today or up to {CATCHUP_DAYS_BACK} days back "
        "(another day is a 404 `date_outside_catchup_window`)",
    ),
    tz: TzQuery = "UTC",
    channel_id: Annotated[str | None, Query(pattern=CHANNEL_REF, description="Channel id or CDN key")] = None,
    genre: Annotated[str | None, Query(min_length=1, max_length=60, pattern=NO_NUL)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
    profile_id: ProfileQuery = None,
) -> Response:
    now = clock.now()
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    earliest = today - timedelta(days=CATCHUP_DAYS_BACK)
    day = day_in_window(date, today, earliest, today, "date_outside_catchup_window")
    day_start, day_end = local_day(day, zone)
    async with _reader(request) as conn:
        profile = await _profile(conn, claims, profile_id)
        page = await catalogue_service.day_catchup(
            conn,
            _cache(request),
            archive_of(request),
            profile,
            now,
            day_start,
            day_end,
            limit,
            offset,
            channel_ref=channel_id,
            genre=genre,
        )
    if page is None:
        raise ApiError(404, "channel_not_found")
    body = {
        "date": day.isoformat(),
        "tz": tz,
        "programs": [],
        "total": page.total,
        "limit": limit,
        "offset": offset,
    }
    return _listing_json(DAY_LISTING_JSON, body, page)


@router.get(
    "/catchup/{channel_id}",
    response_model=CatchupChannelListOut,
    responses=profile_answers(_CHANNEL_NOT_FOUND),
)
async def catchup_by_channel(
    request: Request,
    claims: ViewerDep,
    channel_id: ChannelRef,
    limit: Limit = 50,
    offset: Offset = 0,
    profile_id: ProfileQuery = None,
) -> Response:
    async with _reader(request) as conn:
        profile = await _profile(conn, claims, profile_id)
        channel, page = await catalogue_service.channel_catchup(
            conn, _cache(request), archive_of(request), channel_id, profile, clock.now(), limit, offset
        )
    if channel is None:
        raise ApiError(404, "channel_not_found")
    body = {"channel_id": channel.id, "programs": [], "total": page.total, "limit": limit, "offset": offset}
    return _listing_json(CHANNEL_LISTING_JSON, body, page)


@router.get("/recently-aired", response_model=CatchupRecentListOut, responses=profile_answers())
async def recently_aired(
    request: Request,
    claims: ViewerDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    offset: Offset = 0,
    profile_id: ProfileQuery = None,
) -> Response:
    """Programmes available on catch-up on any channel, the most recently ended first (the home
    page's *Recently aired*), with the profile's bookmark positions."""
    async with _reader(request) as conn:
        profile = await _profile(conn, claims, profile_id)
        page = await catalogue_service.recent_catchup(
            conn, _cache(request), archive_of(request), profile, clock.now(), limit, offset
        )
    body = {"programs": [], "total": page.total, "limit": limit, "offset": offset}
    return _listing_json(RECENT_LISTING_JSON, body, page)
