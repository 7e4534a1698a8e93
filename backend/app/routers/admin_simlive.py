"""Operators' control of the SimLive encoders and of retention (docs/PRODUCT.md, J7)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.deps import AdminDep, SessionDep, encoders_of
from app.errors import ApiError
from app.routers.route_answers import ADMIN, INVALID, Answer, ChannelKey, errors, refusal
from app.schemas.errors import EncoderErrorOut
from app.schemas.simlive import (
    ChannelCleanupOut,
    CleanupOut,
    EncoderLogOut,
    OnAirOut,
    SimliveChannelStatus,
    SimliveStatusOut,
)
from app.services.archive.archive_layout import is_channel_key
from app.services.catalogue.schedule_service import on_air_by_channel_key
from app.services.encoders.encoder_log import MAX_LINES
from app.services.encoders.encoder_status import ChannelEncoderStatus
from app.services.encoders.encoders import Encoders

router = APIRouter(prefix="/admin/simlive", tags=["admin", "simlive"])

_UNAVAILABLE = refusal(503, "simlive_unavailable", why="the encoder manager is not running")
_CONTROL = (*ADMIN, refusal(404, "channel_not_found"), _UNAVAILABLE, INVALID)
STATUS_PATH = "/api/v1/admin/simlive/status"
_ACCEPTED: dict[int | str, dict[str, Any]] = {
    202: {
        "model": SimliveChannelStatus,
        "description": "API replica (TSTV_ROLE=api): the owning worker has not confirmed it yet; "
        "the status so far, `Location` is where to see it take effect",
    }
}


def _checked(channel_key: str) -> str:
    if not is_channel_key(channel_key):
        raise ApiError(404, "channel_not_found")
    return channel_key


def _api_status(status: ChannelEncoderStatus) -> SimliveChannelStatus:
    """The API's form of an encoder's status: `error` is its older name for `last_error`."""
    fields = asdict(status)
    del fields["pending"]  # said by the answer's status code (`_out`)
    return SimliveChannelStatus(**fields, error=status.last_error)


async def _with_on_air(session: AsyncSession, rows: list[ChannelEncoderStatus]) -> list[SimliveChannelStatus]:
    """Statuses with the programme each channel has on air (one query for all of them)."""
    on_air = await on_air_by_channel_key(session, [r.channel_key for r in rows], clock.now())
    out = []
    for row in rows:
        entry = on_air.get(row.channel_key)
        status = _api_status(row)
        if entry is not None:
            status.on_air = OnAirOut(
                schedule_entry_id=entry.id,
                title=entry.title,
                start_time=entry.start_time,
                end_time=entry.end_time,
            )
        out.append(status)
    return out


async def _out(
    session: AsyncSession, row: ChannelEncoderStatus, response: Response | None = None
) -> SimliveChannelStatus:
    if row.pending and response is not None:
        response.status_code = 202
        response.headers["Location"] = STATUS_PATH
    return (await _with_on_air(session, [row]))[0]


@router.get("/status", response_model=SimliveStatusOut, responses=errors(*ADMIN, _UNAVAILABLE))
async def status_endpoint(request: Request, session: SessionDep, _admin: AdminDep) -> SimliveStatusOut:
    manager = encoders_of(request)
    await manager.refresh_channels()
    return SimliveStatusOut(channels=await _with_on_air(session, manager.status()))


@router.get(
    "/{channel_key}/log",
    response_model=EncoderLogOut,
    responses=errors(*_CONTROL),
)
async def log_endpoint(
    channel_key: ChannelKey,
    request: Request,
    _admin: AdminDep,
    lines: Annotated[int, Query(ge=1, le=MAX_LINES, description="How many of the newest lines")] = 200,
) -> EncoderLogOut:
    """The tail of the channel's own encoder log (FFmpeg's warnings and one line per run start),
    at most `lines` lines and 256 KiB, read from the end of the file."""
    found = await encoders_of(request).log_tail(_checked(channel_key), lines)
    return EncoderLogOut(
        channel_key=channel_key,
        lines=found.lines,
        truncated=found.truncated,
        size_bytes=found.size_bytes,
        modified_at=datetime.fromtimestamp(found.modified_at, UTC) if found.modified_at else None,
    )


@router.post("/cleanup", response_model=CleanupOut, responses=errors(*ADMIN, _UNAVAILABLE))
async def cleanup_endpoint(request: Request, _admin: AdminDep) -> CleanupOut:
    result = await encoders_of(request).cleanup()
    return CleanupOut(
        channels_processed=result.channels_processed,
        total_segments_deleted=result.total_segments_deleted,
        total_bytes_freed=result.total_bytes_freed,
        channels=[
            ChannelCleanupOut(
                channel_key=c.channel_key,
                cutoff=c.cutoff.isoformat(),
                segments_deleted=c.segments_deleted,
                bytes_freed=c.bytes_freed,
                runs_removed=c.runs_removed,
            )
            for c in result.channels
        ],
    )


_NOT_RUNNING = refusal(409, "not_running")
_RESTART_FAILED = refusal(
    503, "encoder_restart_failed", why="the new encoder did not start", model=EncoderErrorOut
)


def _control_endpoint(
    action: str, control: Callable[[Encoders, str], Awaitable[ChannelEncoderStatus]], *own: Answer
) -> None:
    """Start, stop and restart differ only in what they ask the encoders and how that can be
    refused; the name keeps the operation id the typed client knows."""

    async def endpoint(
        channel_key: ChannelKey, request: Request, response: Response, session: SessionDep, _admin: AdminDep
    ) -> SimliveChannelStatus:
        return await _out(session, await control(encoders_of(request), _checked(channel_key)), response)

    endpoint.__name__ = endpoint.__qualname__ = f"{action}_endpoint"
    answers = errors(*_CONTROL, *own) | _ACCEPTED
    path = f"/{{channel_key}}/{action}"
    router.post(path, response_model=SimliveChannelStatus, responses=answers)(endpoint)


_control_endpoint("start", lambda encoders, key: encoders.start(key), refusal(409, "already_running"))
_control_endpoint("stop", lambda encoders, key: encoders.stop(key), _NOT_RUNNING)
_control_endpoint("restart", lambda encoders, key: encoders.restart(key), _NOT_RUNNING, _RESTART_FAILED)
