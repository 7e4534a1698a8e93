"""Cloud recordings (network PVR, README "Recordings API"): the caller's own recordings only. Logic lives in
`app/services/viewing/recording_service.py`; rights in `app/domain/rights.py`; playlists
in the playback service, whose catch-up (VOD) path plays a recording in its `recording` mode."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.types import DecoratedCallable
from sqlalchemy import select

from app import clock
from app.deps import DatabaseDep, PlaylistsDep, SessionDep, SettingsDep, ViewerDep, archive_of, disk_budget_of
from app.domain import rights
from app.errors import ApiError
from app.models import Recording, ScheduleEntry
from app.routers.route_answers import (
    INVALID,
    SUBSCRIPTION,
    UNAUTHENTICATED,
    Answer,
    Responses,
    errors,
    metrics_of,
    ok_body,
    refusal,
    same_named,
)
from app.routers.tstv_playback import (
    MANIFEST_BODY,
    NO_RUNG,
    PLAYLIST_TYPE,
    FormatQuery,
    MpdTokenQuery,
    PlaybackTokenQuery,
    Rendition,
    manifest_answer,
    manifest_kind,
    playlist_response,
)
from app.schemas.recordings import (
    QuotaErrorOut,
    QuotaOut,
    RecordingChannelOut,
    RecordingIn,
    RecordingListOut,
    RecordingOut,
    RecordingRefusalOut,
    RecordingSeriesRefOut,
    SeriesRecordingIn,
    SeriesRecordingListOut,
    SeriesRecordingOut,
)
from app.services.archive.disk_budget import STORAGE_FULL
from app.services.playback.playlist_requests import PlaylistRequest
from app.services.playback.targets import Mode
from app.services.viewing import recording_service
from app.services.viewing.recording_service import Quota, RecordingView, SeriesView

router = APIRouter(prefix="/recordings", tags=["recordings"])

_NOT_FOUND = refusal(404, "recording_not_found", why="no such recording of the caller's (or it expired)")
_SERIES_NOT_FOUND = refusal(404, "series_recording_not_found", why="no such series recording of the caller's")
_NO_PROGRAMME = refusal(
    404, "schedule_entry_not_found", why="no such programme (on `channel_id`, when given)"
)
_NO_SERIES = refusal(404, "series_not_found", why="no programme has this `series_id`")
# Reading or deleting one recording, or one series recording, of the caller's.
_ONE_RECORDING = errors(UNAUTHENTICATED, _NOT_FOUND, INVALID)
_ONE_SERIES = errors(UNAUTHENTICATED, _SERIES_NOT_FOUND, INVALID)


def _deletion(path: str, answers: Responses) -> Callable[[DecoratedCallable], DecoratedCallable]:
    """The route of a DELETE that answers 204 No Content."""
    no_content = status.HTTP_204_NO_CONTENT
    return router.delete(path, status_code=no_content, response_class=Response, responses=answers)


_NOT_ELIGIBLE = refusal(
    403,
    rights.PROGRAM_NOT_ELIGIBLE,
    why="the channel does not allow catch-up or the programme is not catch-up eligible",
    model=RecordingRefusalOut,
)
_RECORD_REFUSED = refusal(
    409,
    rights.NO_LONGER_AVAILABLE,
    rights.NOT_IN_GUIDE_YET,
    why="aired and expired from catch-up or never in the archive (with `expires_at`); "
    "or more than the guide's 7 days ahead",
    model=RecordingRefusalOut,
)
_STORAGE_FULL = refusal(
    507,
    STORAGE_FULL,
    why="the archive's disk is at ARCHIVE_DISK_FLOOR with only recordings and live windows left on it",
)
_QUOTA = refusal(
    409,
    recording_service.QUOTA_EXCEEDED,
    why="past RECORDING_QUOTA_HOURS (hours used and allowed)",
    model=QuotaErrorOut,
)
_PLAY_REFUSED = refusal(
    409,
    rights.NOT_RECORDED_YET,
    rights.NO_LONGER_AVAILABLE,
    why="the programme has not started yet, or the recording expired (`expires_at`)",
    model=RecordingRefusalOut,
)
_PLAY_NOT_RECORDED = refusal(
    404, rights.NOT_RECORDED, why="the archive holds none of it", model=RecordingRefusalOut
)
_PLAYLIST = ok_body(PLAYLIST_TYPE, "An HLS playlist")
_MANIFEST = MANIFEST_BODY | errors(
    UNAUTHENTICATED, SUBSCRIPTION, _NOT_ELIGIBLE, _NOT_FOUND, _PLAY_NOT_RECORDED, _PLAY_REFUSED, INVALID
)
_MEDIA = _PLAYLIST | errors(
    UNAUTHENTICATED,
    SUBSCRIPTION,
    _NOT_ELIGIBLE,
    _NOT_FOUND,
    _PLAY_NOT_RECORDED,
    NO_RUNG,
    _PLAY_REFUSED,
    INVALID,
)


def _creation(
    path: str, model: type, what: str, *own: Answer
) -> Callable[[DecoratedCallable], DecoratedCallable]:
    """The route of a POST that answers 201 with what it created, or 200 with the one that existed."""
    description = f"{what} already existed: the same one (idempotent)"
    existing: Responses = {200: {"model": model, "description": description}}
    answers = existing | errors(UNAUTHENTICATED, *own, INVALID)
    return router.post(path, response_model=model, status_code=status.HTTP_201_CREATED, responses=answers)


def _quota_out(q: Quota) -> QuotaOut:
    return QuotaOut(
        used_hours=round(q.used_seconds / 3600, 2),
        allowed_hours=round(q.allowed_seconds / 3600, 2),
        used_seconds=round(q.used_seconds, 3),
        allowed_seconds=round(q.allowed_seconds, 3),
    )


def _out(v: RecordingView) -> RecordingOut:
    rec, entry, ch = v.recording, v.entry, v.channel
    return RecordingOut(
        id=rec.id,
        schedule_entry_id=entry.id,
        **same_named(entry, "title", "synopsis", "genre", "series_id", "series_title"),
        **same_named(entry, "season_number", "episode_number"),
        series_recording=RecordingSeriesRefOut(id=rec.series_recording_id, series_id=entry.series_id or "")
        if rec.series_recording_id
        else None,
        channel=RecordingChannelOut(
            id=ch.id, name=ch.name, number=ch.number, cdn_channel_key=ch.cdn_channel_key or rec.channel_id
        ),
        **same_named(entry, "start_time", "end_time"),
        duration_seconds=(entry.end_time - entry.start_time).total_seconds(),
        requested_at=rec.requested_at,
        **same_named(v, "status", "recorded_seconds", "expires_at", "playable"),
        manifest_url=f"/api/v1/recordings/{rec.id}/manifest",
        deep_link=f"/watch/catchup/{ch.id}/{entry.id}?recording={rec.id}",
    )


def _series_out(v: SeriesView) -> SeriesRecordingOut:
    s = v.series
    return SeriesRecordingOut(
        **same_named(s, "id", "series_id", "series_title", "created_at", "skipped_episodes"),
        episodes=v.episodes,
        last_skipped_schedule_entry_id=s.last_skipped_entry_id,
        last_skipped_reason="quota_exceeded" if s.last_skipped_reason else None,
    )


@_creation(
    "", RecordingOut, "The recording", _NOT_ELIGIBLE, _NO_PROGRAMME, _RECORD_REFUSED, _QUOTA, _STORAGE_FULL
)
async def create_recording(
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    claims: ViewerDep,
    body: RecordingIn,
) -> RecordingOut:
    """Record a programme: upcoming (within the guide's 7 days), on air, or still on catch-up.
    201 with the new recording; 200 with the same one when it already exists."""
    disk_budget_of(request).require_room()
    view, created = await recording_service.record_programme(
        session,
        claims.user_id,
        body.schedule_entry_id,
        clock.now(),
        settings,
        archive_of(request),
        body.channel_id,
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return _out(view)


@router.get("", response_model=RecordingListOut, responses=errors(UNAUTHENTICATED, INVALID))
async def list_recordings(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    claims: ViewerDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> RecordingListOut:
    """The caller's recordings, newest programme first, with `total` and the quota."""
    views, total, q = await recording_service.list_recordings(
        session, claims.user_id, clock.now(), settings, archive_of(request), limit, offset
    )
    return RecordingListOut(recordings=[_out(v) for v in views], total=total, quota=_quota_out(q))


@_creation("/series", SeriesRecordingOut, "The series recording", _NO_SERIES, _STORAGE_FULL)
async def create_series_recording(
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    claims: ViewerDep,
    body: SeriesRecordingIn,
) -> SeriesRecordingOut:
    """Record every upcoming and on-air episode of a series, and each new episode the schedule adds,
    until deleted. Episodes that do not fit the quota are skipped and counted (`skipped_episodes`)."""
    disk_budget_of(request).require_room()
    view, created = await recording_service.record_series(
        session, claims.user_id, body.series_id, clock.now(), settings, archive_of(request)
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return _series_out(view)


@router.get("/series", response_model=SeriesRecordingListOut, responses=errors(UNAUTHENTICATED))
async def list_series_recordings(
    session: SessionDep, settings: SettingsDep, claims: ViewerDep
) -> SeriesRecordingListOut:
    """The caller's series recordings, newest first."""
    views = await recording_service.list_series(session, claims.user_id, clock.now(), settings)
    return SeriesRecordingListOut(series=[_series_out(v) for v in views])


@router.delete("/series", include_in_schema=False)
async def series_collection_delete() -> None:
    """`/recordings/series` is not a recording: DELETE would otherwise reach `/{recording_id}` (422)."""
    raise HTTPException(status.HTTP_405_METHOD_NOT_ALLOWED, "Method Not Allowed")


@router.get("/series/{series_recording_id}", response_model=SeriesRecordingOut, responses=_ONE_SERIES)
async def get_series_recording(
    series_recording_id: uuid.UUID, session: SessionDep, settings: SettingsDep, claims: ViewerDep
) -> SeriesRecordingOut:
    view = await recording_service.get_series(
        session, claims.user_id, series_recording_id, clock.now(), settings
    )
    return _series_out(view)


@_deletion("/series/{series_recording_id}", _ONE_SERIES)
async def delete_series_recording(
    series_recording_id: uuid.UUID,
    session: SessionDep,
    claims: ViewerDep,
    keep_recordings: Annotated[
        bool, Query(description="Keep the episodes it recorded (default); false deletes them too")
    ] = True,
) -> Response:
    """Stop recording new episodes of the series."""
    await recording_service.delete_series(session, claims.user_id, series_recording_id, keep_recordings)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{recording_id}", response_model=RecordingOut, responses=_ONE_RECORDING)
async def get_recording(
    recording_id: uuid.UUID, request: Request, session: SessionDep, settings: SettingsDep, claims: ViewerDep
) -> RecordingOut:
    view = await recording_service.get_recording(
        session, claims.user_id, recording_id, clock.now(), settings, archive_of(request)
    )
    return _out(view)


@_deletion("/{recording_id}", _ONE_RECORDING)
async def delete_recording(recording_id: uuid.UUID, session: SessionDep, claims: ViewerDep) -> Response:
    """Delete a recording; retention frees its media at the next clean-up unless another recording
    or the catch-up window still needs it."""
    await recording_service.delete_recording(session, claims.user_id, recording_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# ---- playback: the catch-up (VOD) playlist machinery in its `recording` mode ---------------------


async def _owned(db: DatabaseDep, user_id: uuid.UUID, recording_id: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    """(channel id, programme id) of the caller's recording; 404 otherwise. Expiry is the rights'."""
    async with db.reader() as session:
        row = (
            await session.execute(
                select(ScheduleEntry.channel_id, ScheduleEntry.id)
                .join(Recording, Recording.schedule_entry_id == ScheduleEntry.id)
                .where(Recording.id == recording_id, Recording.user_id == user_id)
            )
        ).first()
    if row is None:
        raise ApiError(404, "recording_not_found")
    return row[0], row[1]


@router.get("/{recording_id}/manifest", response_class=Response, responses=_MANIFEST)
async def recording_manifest(
    recording_id: uuid.UUID,
    request: Request,
    db: DatabaseDep,
    claims: ViewerDep,
    pls: PlaylistsDep,
    format: FormatQuery = "hls",
    pb: MpdTokenQuery = None,
) -> Response:
    """The recorded programme as a playlist (master; its media playlists live under it), or with
    `format=dash` as an MPD. Once the programme has ended: VOD (`#EXT-X-ENDLIST`; a static MPD),
    playable after the catch-up window closed, until the recording expires. While it airs: from
    its start as start-over plays (`#EXT-X-PLAYLIST-TYPE:EVENT` growing to the programme's end,
    no `#EXT-X-ENDLIST` until then; a dynamic MPD). Active subscription required."""
    with metrics_of(request).playlist(Mode.RECORDING, manifest_kind(format)):
        channel_id, entry_id = await _owned(db, claims.user_id, recording_id)
        req = PlaylistRequest(Mode.RECORDING, channel_id, entry_id)
        return await manifest_answer(request, req, format, pb, db, claims, pls)


@router.get("/{recording_id}/manifest/{rendition}.m3u8", response_class=Response, responses=_MEDIA)
async def recording_media(
    recording_id: uuid.UUID,
    rendition: Rendition,
    request: Request,
    db: DatabaseDep,
    claims: ViewerDep,
    pls: PlaylistsDep,
    pb: PlaybackTokenQuery = None,
) -> Response:
    """A media playlist of the recording (video or audio), or its thumbnails' image playlist."""
    with metrics_of(request).playlist(Mode.RECORDING, "media"):
        channel_id, entry_id = await _owned(db, claims.user_id, recording_id)
        req = PlaylistRequest(Mode.RECORDING, channel_id, entry_id)
        return playlist_response(await pls.media(db, req, rendition, pb, claims, request.url.hostname))
