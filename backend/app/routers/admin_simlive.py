"""Operators' control of the SimLive encoders and of retention (SPEC J7)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from app.deps import AdminDep
from app.errors import ApiError
from app.routers._common import ADMIN, INVALID, ChannelKey, errors, refusal
from app.schemas.errors import EncoderErrorOut
from app.schemas.simlive import ChannelCleanupOut, CleanupOut, SimliveChannelStatus, SimliveStatusOut
from app.services.archive_layout import is_channel_key
from app.services.simlive_manager import SimliveManager

router = APIRouter(prefix="/admin/simlive", tags=["admin", "simlive"])

_UNAVAILABLE = refusal(503, "simlive_unavailable", why="the encoder manager is not running")
_CONTROL = (*ADMIN, refusal(404, "channel_not_found"), _UNAVAILABLE, INVALID)


def _manager(request: Request) -> SimliveManager:
    manager: SimliveManager | None = getattr(request.app.state, "simlive", None)
    if manager is None:
        raise ApiError(503, "simlive_unavailable")
    return manager


def _checked(channel_key: str) -> str:
    if not is_channel_key(channel_key):
        raise ApiError(404, "channel_not_found")
    return channel_key


def _out(data: dict[str, Any]) -> SimliveChannelStatus:
    return SimliveChannelStatus.model_validate(data)


@router.get("/status", response_model=SimliveStatusOut, responses=errors(*ADMIN, _UNAVAILABLE))
async def status_endpoint(request: Request, _admin: AdminDep) -> SimliveStatusOut:
    manager = _manager(request)
    await manager.refresh_channels()
    return SimliveStatusOut(channels=[_out(s) for s in manager.status()])


@router.post("/cleanup", response_model=CleanupOut, responses=errors(*ADMIN, _UNAVAILABLE))
async def cleanup_endpoint(request: Request, _admin: AdminDep) -> CleanupOut:
    result = await _manager(request).cleanup()
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


@router.post(
    "/{channel_key}/start",
    response_model=SimliveChannelStatus,
    responses=errors(*_CONTROL, refusal(409, "already_running")),
)
async def start_endpoint(channel_key: ChannelKey, request: Request, _admin: AdminDep) -> SimliveChannelStatus:
    return _out(await _manager(request).start(_checked(channel_key)))


@router.post(
    "/{channel_key}/stop",
    response_model=SimliveChannelStatus,
    responses=errors(*_CONTROL, refusal(409, "not_running")),
)
async def stop_endpoint(channel_key: ChannelKey, request: Request, _admin: AdminDep) -> SimliveChannelStatus:
    return _out(await _manager(request).stop(_checked(channel_key)))


@router.post(
    "/{channel_key}/restart",
    response_model=SimliveChannelStatus,
    responses=errors(
        *_CONTROL,
        refusal(409, "not_running"),
        refusal(503, "encoder_restart_failed", why="the new encoder did not start", model=EncoderErrorOut),
    ),
)
async def restart_endpoint(
    channel_key: ChannelKey, request: Request, _admin: AdminDep
) -> SimliveChannelStatus:
    return _out(await _manager(request).restart(_checked(channel_key)))
