"""Bookmarks and the Continue Watching rail for the caller's profile (docs/PRODUCT.md, J4)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request

from app import clock
from app.deps import SessionDep, ViewerDep, archive_of
from app.routers.route_answers import field_error, invalid, profile_answers, refusal, same_named
from app.schemas.catalogue import ChannelRefOut
from app.schemas.viewing import (
    BookmarkIn,
    BookmarkOut,
    ContentType,
    ContinueWatchingItemOut,
    ContinueWatchingOut,
)
from app.services.viewing import bookmark_service
from app.services.viewing.profile_select import resolve_profile

router = APIRouter(prefix="/viewing", tags=["viewing"])
ProfileQuery = Annotated[uuid.UUID | None, Query(description="Profile (default: the token's)")]
_NO_PROGRAMME = refusal(404, "schedule_entry_not_found", why="TSTV types: no such programme")
_BEYOND_DURATION = invalid(
    "`position_seconds` beyond `duration_seconds` (TSTV types: the programme's duration)"
)


@router.put(
    "/bookmarks/{content_type}/{content_id}",
    response_model=BookmarkOut,
    responses=profile_answers(_NO_PROGRAMME, malformed=_BEYOND_DURATION),
)
async def put_bookmark(
    session: SessionDep,
    claims: ViewerDep,
    content_type: ContentType,
    content_id: uuid.UUID,
    body: BookmarkIn,
    profile_id: ProfileQuery = None,
) -> BookmarkOut:
    profile = await resolve_profile(session, claims, profile_id)
    try:
        row = await bookmark_service.save_bookmark(
            session,
            profile,
            content_type,
            content_id,
            body.position_seconds,
            body.duration_seconds,
            clock.now(),
        )
    except bookmark_service.PositionBeyondDuration as exc:
        raise field_error("body", "position_seconds", str(exc)) from None
    return BookmarkOut.model_validate(row)


@router.get(
    "/bookmarks/{content_type}/{content_id}",
    response_model=BookmarkOut,
    responses=profile_answers(refusal(404, "bookmark_not_found")),
)
async def get_bookmark(
    session: SessionDep,
    claims: ViewerDep,
    content_type: ContentType,
    content_id: uuid.UUID,
    profile_id: ProfileQuery = None,
) -> BookmarkOut:
    profile = await resolve_profile(session, claims, profile_id)
    row = await bookmark_service.get_bookmark(session, profile, content_type, content_id)
    return BookmarkOut.model_validate(row)


@router.get("/continue-watching", response_model=ContinueWatchingOut, responses=profile_answers())
async def continue_watching(
    request: Request,
    session: SessionDep,
    claims: ViewerDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    profile_id: ProfileQuery = None,
) -> ContinueWatchingOut:
    profile = await resolve_profile(session, claims, profile_id)
    archive = archive_of(request)
    rail = await bookmark_service.continue_watching(session, archive, profile, clock.now(), limit)
    out = []
    for item in rail:
        b, entry, ch = item.bookmark, item.entry, item.channel
        out.append(
            ContinueWatchingItemOut(
                **same_named(b, "content_type", "content_id"),
                **same_named(item, "position_seconds", "duration_seconds"),
                progress=(
                    min(1.0, item.position_seconds / item.duration_seconds) if item.duration_seconds else None
                ),
                updated_at=b.updated_at,
                title=entry.title if entry else None,
                channel=ChannelRefOut(id=ch.id, name=ch.name, cdn_channel_key=ch.cdn_channel_key)
                if ch
                else None,
                start_time=entry.start_time if entry else None,
                end_time=entry.end_time if entry else None,
                expires_at=item.expires_at,
                playback=item.playback,
            )
        )
    return ContinueWatchingOut(items=out)
