"""Start-over, catch-up and live playlists (docs/PRODUCT.md, 'HTTP API'): each endpoint is one
call into the playback protocol (app/services/playback/playlist_requests.py), which decides master
vs media, token vs rights and the refusals."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from app import clock
from app.db import Database
from app.deps import DatabaseDep, PlaybackViewerDep, PlaylistsDep, SessionDep, ViewerDep, iptv_token_carried
from app.domain import rights
from app.errors import ApiError
from app.models import Channel
from app.routers.route_answers import (
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
from app.schemas.errors import RangeErrorOut, RangeRefusedOut
from app.schemas.playback import StartoverInfoOut
from app.services.accounts.auth_service import TokenClaims
from app.services.catalogue.schedule_service import on_air
from app.services.playback.dash_playback import DASH, MPD_TYPE, api_base_for
from app.services.playback.playlist_requests import HLS_TYPE, Playlist, PlaylistRequest, PlaylistRequests
from app.services.playback.targets import Mode

router = APIRouter(prefix="/tstv", tags=["playback"])

PLAYLIST_TYPE = HLS_TYPE
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
FormatQuery = Annotated[
    Literal["hls", "dash"],
    Query(
        description="`hls`: the multivariant playlist; `dash`: an MPEG-DASH MPD of the same archive "
        "(with `pb`, the playback token it hands out, an update of a playback already started)"
    ),
]
MpdTokenQuery = Annotated[
    str | None,
    Query(max_length=2048, description="With `format=dash`: the playback token an MPD handed out"),
]


_PLAYLIST = ok_body(PLAYLIST_TYPE, "An HLS playlist")
# A manifest: an HLS multivariant playlist, or with `format=dash` an MPD.
MANIFEST_BODY = {
    200: {
        "description": "An HLS multivariant playlist, or with `format=dash` an MPEG-DASH MPD",
        "content": {PLAYLIST_TYPE: {"schema": {"type": "string"}}, MPD_TYPE: {"schema": {"type": "string"}}},
    }
}
_NO_ENTRY = refusal(404, "channel_not_found", "schedule_entry_not_found")
_STARTOVER = MANIFEST_BODY | errors(
    UNAUTHENTICATED, SUBSCRIPTION, STARTOVER_REFUSED, _NO_ENTRY, NOT_RECORDED, INVALID
)
_CATCHUP = MANIFEST_BODY | errors(
    UNAUTHENTICATED, SUBSCRIPTION, CATCHUP_REFUSED, _NO_ENTRY, CATCHUP_NOT_RECORDED, INVALID
)
_LIVE = MANIFEST_BODY | errors(
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


def _playlist(text: str, cacheable: bool, media_type: str = PLAYLIST_TYPE) -> Response:
    cache = "private, max-age=30" if cacheable else "no-cache"
    return Response(text, media_type=media_type, headers={"Cache-Control": cache})


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


def playlist_response(playlist: Playlist) -> Response:
    return _playlist(playlist.text, playlist.cacheable, playlist.media_type)


def manifest_kind(fmt: str) -> str:
    """The `playlist` label of a manifest request's metrics."""
    return "mpd" if fmt == DASH else "master"


async def manifest_answer(
    request: Request,
    req: PlaylistRequest,
    fmt: str,
    pb: str | None,
    db: Database,
    claims: TokenClaims,
    playlists: PlaylistRequests,
) -> Response:
    """A manifest route's answer: the HLS master, or with `format=dash` the MPD (the same rights,
    tokens and refusals: the format changes only what is rendered)."""
    req = replace(req, iptv_token=iptv_token_carried(request, claims))
    if fmt != DASH:
        return playlist_response(await playlists.master(db, req, claims))
    url = request.url
    api_base = api_base_for(url.scheme, url.hostname, url.port)
    return playlist_response(await playlists.mpd(db, req, pb, claims, url.hostname, api_base))


async def manifest_response(
    request: Request,
    req: PlaylistRequest,
    fmt: str,
    pb: str | None,
    db: Database,
    claims: TokenClaims,
    playlists: PlaylistRequests,
) -> Response:
    with metrics_of(request).playlist(req.mode, manifest_kind(fmt)):
        return await manifest_answer(request, req, fmt, pb, db, claims, playlists)


async def _media(
    request: Request,
    req: PlaylistRequest,
    rendition: str,
    pb: str | None,
    db: Database,
    claims: TokenClaims,
    playlists: PlaylistRequests,
) -> Response:
    req = replace(req, iptv_token=iptv_token_carried(request, claims))
    with metrics_of(request).playlist(req.mode, "media"):
        answer = await playlists.media(db, req, rendition, pb, claims, request.url.hostname)
        return playlist_response(answer)


_ENTRY_ANSWERS = {Mode.STARTOVER: (_STARTOVER, _STARTOVER_MEDIA), Mode.CATCHUP: (_CATCHUP, _CATCHUP_MEDIA)}


def _entry_playlists(mode: str) -> None:  # the mode is also the path's and the names' word
    """Start Over and Catch-Up take the same request (a channel and one of its programmes) and
    differ only in the mode the playback protocol judges it under, so one pair of endpoints serves
    both; the names keep the operation ids the typed client knows."""

    async def manifest(
        request: Request,
        channel_id: uuid.UUID,
        schedule_entry_id: EntryQuery,
        db: DatabaseDep,
        claims: PlaybackViewerDep,
        pls: PlaylistsDep,
        format: FormatQuery = "hls",
        pb: MpdTokenQuery = None,
    ) -> Response:
        req = PlaylistRequest(mode, channel_id, schedule_entry_id)
        return await manifest_response(request, req, format, pb, db, claims, pls)

    async def media(
        request: Request,
        channel_id: uuid.UUID,
        rendition: Rendition,
        schedule_entry_id: EntryQuery,
        db: DatabaseDep,
        claims: PlaybackViewerDep,
        pls: PlaylistsDep,
        pb: PlaybackTokenQuery = None,
    ) -> Response:
        req = PlaylistRequest(mode, channel_id, schedule_entry_id)
        return await _media(request, req, rendition, pb, db, claims, pls)

    master_answers, media_answers = _ENTRY_ANSWERS[mode]
    manifest.__name__ = manifest.__qualname__ = f"{mode}_manifest"
    media.__name__ = media.__qualname__ = f"{mode}_media"
    path = f"/{mode}/{{channel_id}}/manifest"
    router.get(path, response_class=Response, responses=master_answers)(manifest)
    router.get(f"{path}/{{rendition}}.m3u8", response_class=Response, responses=media_answers)(media)


_entry_playlists(Mode.STARTOVER)
_entry_playlists(Mode.CATCHUP)


@router.get("/live/{channel_id}/manifest", response_class=Response, responses=_LIVE)
async def live_manifest(
    request: Request,
    channel_id: uuid.UUID,
    db: DatabaseDep,
    claims: PlaybackViewerDep,
    pls: PlaylistsDep,
    format: FormatQuery = "hls",
    pb: MpdTokenQuery = None,
) -> Response:
    req = PlaylistRequest(Mode.LIVE, channel_id, None)
    return await manifest_response(request, req, format, pb, db, claims, pls)


@router.get("/live/{channel_id}/manifest/{rendition}.m3u8", response_class=Response, responses=_LIVE_MEDIA)
async def live_media(
    request: Request,
    channel_id: uuid.UUID,
    rendition: Rendition,
    db: DatabaseDep,
    claims: PlaybackViewerDep,
    pls: PlaylistsDep,
    pb: PlaybackTokenQuery = None,
) -> Response:
    req = PlaylistRequest(Mode.LIVE, channel_id, None)
    return await _media(request, req, rendition, pb, db, claims, pls)


# ---- any time range of the archive (docs/PRODUCT.md, 'Time ranges') ------------------------------

_TIME = (
    "ISO 8601 (`2026-12-04T20:15:00Z`; without a zone: UTC) or epoch seconds; whole seconds "
    "(a start is floored, an end rounded up)"
)
RangeStart = Annotated[datetime, Query(description=f"Where the range begins: {_TIME}")]
RangeEnd = Annotated[
    datetime, Query(description=f"Where it ends (exclusive): {_TIME}; at most 24 h after `start`")
]
_RANGE_REFUSED = refusal(
    403,
    rights.PROGRAM_NOT_ELIGIBLE,
    rights.STARTOVER_NOT_ALLOWED,
    rights.RANGE_OUTSIDE_WINDOW,
    why="a programme the range touches may not be played (`schedule_entry_id`; aired programmes by "
    "their catch-up rights, the one on air by its start-over rights), or the range is not inside the "
    "viewer window (`window_start` to `window_end`: the channel's `cutv_window_hours` up to now)",
    model=RangeRefusedOut,
)
_RANGE_INVALID = refusal(
    422,
    "range_reversed",
    "range_empty",
    "range_too_long",
    "time_out_of_range",
    why="`end` is not after `start`, the range is over 24 h, or a time is past the calendar's end",
    model=RangeErrorOut,
)
_RANGE_NOT_RECORDED = refusal(404, rights.NOT_RECORDED, why="the archive holds none of the range")
_RANGE = _PLAYLIST | errors(
    UNAUTHENTICATED,
    SUBSCRIPTION,
    _RANGE_REFUSED,
    refusal(404, "channel_not_found"),
    _RANGE_NOT_RECORDED,
    _RANGE_INVALID,
    INVALID,
)
_RANGE_MEDIA = _PLAYLIST | errors(
    UNAUTHENTICATED,
    SUBSCRIPTION,
    _RANGE_REFUSED,
    refusal(404, "channel_not_found"),
    _RANGE_NOT_RECORDED,
    NO_RUNG,
    _RANGE_INVALID,
    INVALID,
)


@router.get("/archive/{channel_id}/manifest", response_class=Response, responses=_RANGE)
async def archive_range_manifest(
    request: Request,
    channel_id: uuid.UUID,
    start: RangeStart,
    end: RangeEnd,
    db: DatabaseDep,
    claims: PlaybackViewerDep,
    pls: PlaylistsDep,
    format: FormatQuery = "hls",
    pb: MpdTokenQuery = None,
) -> Response:
    """An HLS master playlist (or with `format=dash` an MPD) of any time range of the channel's
    archive inside its viewer window (a programme and the start of the next, the last two hours),
    as catch-up plays a programme: VOD, its media playlists under the same playback token."""
    req = PlaylistRequest(Mode.RANGE, channel_id, None, (start, end))
    return await manifest_response(request, req, format, pb, db, claims, pls)


@router.get(
    "/archive/{channel_id}/manifest/{rendition}.m3u8", response_class=Response, responses=_RANGE_MEDIA
)
async def archive_range_media(
    request: Request,
    channel_id: uuid.UUID,
    rendition: Rendition,
    start: RangeStart,
    end: RangeEnd,
    db: DatabaseDep,
    claims: PlaybackViewerDep,
    pls: PlaylistsDep,
    pb: PlaybackTokenQuery = None,
) -> Response:
    req = PlaylistRequest(Mode.RANGE, channel_id, None, (start, end))
    return await _media(request, req, rendition, pb, db, claims, pls)
