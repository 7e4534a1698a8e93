"""Start-over, catch-up and live playlists (SPEC §4). Rights and building live in services."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from app import clock
from app.db import Database
from app.deps import DatabaseDep, SessionDep, ViewerDep
from app.errors import ApiError
from app.models import Channel
from app.routers._common import (
    CATCHUP_NOT_RECORDED,
    CATCHUP_REFUSED,
    INVALID,
    NOT_RECORDED,
    STARTOVER_REFUSED,
    SUBSCRIPTION,
    UNAUTHENTICATED,
    errors,
    metrics_of,
    ok_body,
    refusal,
)
from app.schemas.epg import ScheduleEntryOut
from app.schemas.playback import StartoverInfoOut
from app.services.catalogue.schedule_service import on_air
from app.services.playback import rights
from app.services.playback.playback_service import Mode, PlaybackService

router = APIRouter(prefix="/tstv", tags=["playback"])

PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
# `video` (the ladder's base rung), `video_{rung}` (upper rungs), `audio`: as the master lists them.
Rendition = Annotated[
    str,
    Path(
        pattern=r"^(video|audio|images|video_[a-z0-9]{1,12})$",
        description="`video` (the ladder's lowest rung), `video_{rung}`, `audio`, or `images` (thumbnails)",
    ),
]
EntryQuery = Annotated[uuid.UUID, Query(description="The programme (schedule entry) to play")]
PlaybackTokenQuery = Annotated[
    str | None, Query(max_length=2048, description="Issued by the master playlist")
]


async def get_playback(request: Request) -> PlaybackService:
    service: PlaybackService = request.app.state.playback
    return service


PlaybackDep = Annotated[PlaybackService, Depends(get_playback)]


_PLAYLIST = ok_body(PLAYLIST_TYPE, "An HLS playlist")
_NO_ENTRY = refusal(404, "channel_not_found", "schedule_entry_not_found")
_STARTOVER = _PLAYLIST | errors(
    UNAUTHENTICATED, SUBSCRIPTION, STARTOVER_REFUSED, _NO_ENTRY, NOT_RECORDED, INVALID
)
_CATCHUP = _PLAYLIST | errors(
    UNAUTHENTICATED, SUBSCRIPTION, CATCHUP_REFUSED, _NO_ENTRY, CATCHUP_NOT_RECORDED, INVALID
)
_LIVE = _PLAYLIST | errors(
    UNAUTHENTICATED, SUBSCRIPTION, refusal(404, "channel_not_found"), NOT_RECORDED, INVALID
)
# A media playlist of a rung the channel's archive has never held.
NO_RUNG = refusal(404, "rendition_not_found", why="no such ladder rung in the channel's archive")
_STARTOVER_MEDIA = _PLAYLIST | errors(
    UNAUTHENTICATED, SUBSCRIPTION, STARTOVER_REFUSED, _NO_ENTRY, NOT_RECORDED, NO_RUNG, INVALID
)
_CATCHUP_MEDIA = _PLAYLIST | errors(
    UNAUTHENTICATED, SUBSCRIPTION, CATCHUP_REFUSED, _NO_ENTRY, CATCHUP_NOT_RECORDED, NO_RUNG, INVALID
)
_LIVE_MEDIA = _PLAYLIST | errors(
    UNAUTHENTICATED, SUBSCRIPTION, refusal(404, "channel_not_found"), NOT_RECORDED, NO_RUNG, INVALID
)


def _playlist(text: str, cacheable: bool) -> Response:
    cache = "private, max-age=30" if cacheable else "no-cache"
    return Response(text, media_type=PLAYLIST_TYPE, headers={"Cache-Control": cache})


@router.get(
    "/startover/{channel_id}",
    response_model=StartoverInfoOut,
    responses=errors(
        UNAUTHENTICATED,
        refusal(404, "channel_not_found"),
        refusal(404, "nothing_on_air", why="no programme on air now"),
        INVALID,
    ),
)
async def startover_info(channel_id: uuid.UUID, session: SessionDep, _claims: ViewerDep) -> StartoverInfoOut:
    channel = await session.get(Channel, channel_id)
    if channel is None:
        raise ApiError(404, "channel_not_found")
    now = clock.now()
    entry = (await on_air(session, [channel.id], now)).get(channel.id)
    if entry is None:
        raise ApiError(404, "nothing_on_air")
    return StartoverInfoOut(
        channel_id=channel.id,
        schedule_entry=ScheduleEntryOut.model_validate(entry),
        startover_available=rights.startover_decision(channel, entry, now).allowed,
        elapsed_seconds=int((now - entry.start_time).total_seconds()),
    )


async def _master(
    request: Request,
    mode: str,
    channel_id: uuid.UUID,
    entry_id: uuid.UUID | None,
    db: Database,
    claims: ViewerDep,
    playback: PlaybackService,
) -> Response:
    with metrics_of(request).playlist(mode, "master"):
        resolved = await playback.resolve(db, mode, channel_id, entry_id)
        now = clock.now()
        playback.authorise_new_playback(claims, resolved, now)
        token = playback.issue_playback_token(claims, resolved.target, now)
        return _playlist(playback.master_playlist(resolved.target, token, now), cacheable=False)


async def _media(
    request: Request,
    mode: str,
    channel_id: uuid.UUID,
    entry_id: uuid.UUID | None,
    rendition: str,
    pb: str | None,
    db: Database,
    claims: ViewerDep,
    playback: PlaybackService,
) -> Response:
    with metrics_of(request).playlist(mode, "media"):
        now = clock.now()
        # A playback already started (valid token) may finish, without a database round trip;
        # anything else is new playback and goes through the rights.
        target = playback.target_from_token(pb, claims, mode, channel_id, entry_id, now)
        if target is None:
            resolved = await playback.resolve(db, mode, channel_id, entry_id)
            playback.authorise_new_playback(claims, resolved, now)
            target = resolved.target
        text = playback.playlist(target, rendition, now, request.url.hostname)
        return _playlist(text, cacheable=mode == Mode.CATCHUP)


@router.get("/startover/{channel_id}/manifest", response_class=Response, responses=_STARTOVER)
async def startover_manifest(
    request: Request,
    channel_id: uuid.UUID,
    schedule_entry_id: EntryQuery,
    db: DatabaseDep,
    claims: ViewerDep,
    pbs: PlaybackDep,
) -> Response:
    return await _master(request, Mode.STARTOVER, channel_id, schedule_entry_id, db, claims, pbs)


@router.get(
    "/startover/{channel_id}/manifest/{rendition}.m3u8", response_class=Response, responses=_STARTOVER_MEDIA
)
async def startover_media(
    request: Request,
    channel_id: uuid.UUID,
    rendition: Rendition,
    schedule_entry_id: EntryQuery,
    db: DatabaseDep,
    claims: ViewerDep,
    pbs: PlaybackDep,
    pb: PlaybackTokenQuery = None,
) -> Response:
    return await _media(
        request, Mode.STARTOVER, channel_id, schedule_entry_id, rendition, pb, db, claims, pbs
    )


@router.get("/catchup/{channel_id}/manifest", response_class=Response, responses=_CATCHUP)
async def catchup_manifest(
    request: Request,
    channel_id: uuid.UUID,
    schedule_entry_id: EntryQuery,
    db: DatabaseDep,
    claims: ViewerDep,
    pbs: PlaybackDep,
) -> Response:
    return await _master(request, Mode.CATCHUP, channel_id, schedule_entry_id, db, claims, pbs)


@router.get(
    "/catchup/{channel_id}/manifest/{rendition}.m3u8", response_class=Response, responses=_CATCHUP_MEDIA
)
async def catchup_media(
    request: Request,
    channel_id: uuid.UUID,
    rendition: Rendition,
    schedule_entry_id: EntryQuery,
    db: DatabaseDep,
    claims: ViewerDep,
    pbs: PlaybackDep,
    pb: PlaybackTokenQuery = None,
) -> Response:
    return await _media(request, Mode.CATCHUP, channel_id, schedule_entry_id, rendition, pb, db, claims, pbs)


@router.get("/live/{channel_id}/manifest", response_class=Response, responses=_LIVE)
async def live_manifest(
    request: Request, channel_id: uuid.UUID, db: DatabaseDep, claims: ViewerDep, pbs: PlaybackDep
) -> Response:
    return await _master(request, Mode.LIVE, channel_id, None, db, claims, pbs)


@router.get("/live/{channel_id}/manifest/{rendition}.m3u8", response_class=Response, responses=_LIVE_MEDIA)
async def live_media(
    request: Request,
    channel_id: uuid.UUID,
    rendition: Rendition,
    db: DatabaseDep,
    claims: ViewerDep,
    pbs: PlaybackDep,
    pb: PlaybackTokenQuery = None,
) -> Response:
    return await _media(request, Mode.LIVE, channel_id, None, rendition, pb, db, claims, pbs)
