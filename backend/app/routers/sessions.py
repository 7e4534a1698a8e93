"""TSTV viewing sessions: POST to start, PATCH as the 30 s heartbeat (docs/PRODUCT.md, J4)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, status

from app import clock
from app.deps import SessionDep, ViewerDep, archive_of
from app.routers.route_answers import (
    CATCHUP_NOT_RECORDED,
    CATCHUP_REFUSED,
    INVALID,
    PROFILE,
    STARTOVER_REFUSED,
    UNAUTHENTICATED,
    errors,
    field_error,
    invalid,
    refusal,
)
from app.schemas.sessions import SessionCreateIn, SessionHeartbeatIn, SessionOut
from app.services.viewing import bookmark_service, session_service
from app.services.viewing.profile_select import resolve_profile

router = APIRouter(prefix="/tstv/sessions", tags=["sessions"])


@router.post(
    "",
    response_model=SessionOut,
    status_code=status.HTTP_201_CREATED,
    responses=errors(
        UNAUTHENTICATED,
        *PROFILE,
        STARTOVER_REFUSED,
        CATCHUP_REFUSED,
        refusal(404, "channel_not_found", "schedule_entry_not_found"),
        CATCHUP_NOT_RECORDED,
        INVALID,
    ),
)
async def start_session(
    request: Request, session: SessionDep, claims: ViewerDep, body: SessionCreateIn
) -> SessionOut:
    profile = await resolve_profile(session, claims, body.profile_id)
    archive = archive_of(request)
    row = await session_service.start_session(
        session,
        archive,
        claims.user_id,
        profile,
        body.channel_id,
        body.schedule_entry_id,
        body.session_type,
        clock.now(),
        recording_retention_days=request.app.state.settings.recording_retention_days,
    )
    return SessionOut.model_validate(row)


_NO_SESSION = refusal(404, "session_not_found", why="no such session of the caller's")
_BEYOND_PROGRAMME = invalid("`last_position_s` beyond the programme's duration")


@router.patch(
    "/{session_id}",
    response_model=SessionOut,
    responses=errors(UNAUTHENTICATED, _NO_SESSION, _BEYOND_PROGRAMME),
)
async def heartbeat(
    session: SessionDep,
    claims: ViewerDep,
    session_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    body: SessionHeartbeatIn,
) -> SessionOut:
    try:
        row = await session_service.heartbeat(
            session, claims.user_id, session_id, body.last_position_s, body.completed, clock.now()
        )
    except bookmark_service.PositionBeyondDuration as exc:
        raise field_error("body", "last_position_s", str(exc)) from None
    return SessionOut.model_validate(row)
