"""In-app notifications of the caller (docs/PRODUCT.md, J6)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from app.deps import SessionDep, ViewerDep
from app.routers.route_answers import INVALID, UNAUTHENTICATED, errors, profile_answers, refusal
from app.schemas.notifications import NotificationOut, NotificationsOut
from app.services.viewing import notification_service
from app.services.viewing.profile_select import resolve_profile

router = APIRouter(prefix="/notifications", tags=["notifications"])


@router.get("", response_model=NotificationsOut, responses=profile_answers())
async def list_notifications(
    session: SessionDep,
    claims: ViewerDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    profile_id: Annotated[uuid.UUID | None, Query()] = None,
) -> NotificationsOut:
    profile = await resolve_profile(session, claims, profile_id)
    rows, unread = await notification_service.list_notifications(session, claims.user_id, profile, limit)
    return NotificationsOut(notifications=[NotificationOut.model_validate(n) for n in rows], unread=unread)


@router.post(
    "/{notification_id}/read",
    response_model=NotificationOut,
    responses=errors(UNAUTHENTICATED, refusal(404, "notification_not_found"), INVALID),
)
async def mark_read(session: SessionDep, claims: ViewerDep, notification_id: uuid.UUID) -> NotificationOut:
    row = await notification_service.mark_read(session, claims.user_id, notification_id)
    return NotificationOut.model_validate(row)
