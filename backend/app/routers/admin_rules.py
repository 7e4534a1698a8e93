"""Operator endpoints for the TSTV rules (docs/PRODUCT.md, J5). Admin token required (viewer: 403)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path

from app.deps import AdminDep, SessionDep
from app.errors import ApiError
from app.models import Channel
from app.routers.route_answers import ADMIN, INVALID, errors, field_error, invalid, refusal, same_named
from app.schemas.epg import ScheduleEntryOut
from app.schemas.patterns import CHANNEL_REF
from app.schemas.rules import ChannelRulesIn, ChannelRulesOut, EntryRightsIn, RulesOut
from app.services.catalogue import catalogue_service, rules_service

router = APIRouter(prefix="/admin", tags=["admin"])


def _rules(c: Channel) -> ChannelRulesOut:
    return ChannelRulesOut(
        channel_id=c.id,
        channel_name=c.name,
        **same_named(c, "cdn_channel_key", "tstv_enabled", "startover_enabled", "catchup_enabled"),
        **same_named(c, "cutv_window_hours", "catchup_window_hours"),
    )


def _changes(body: ChannelRulesIn | EntryRightsIn) -> dict[str, object]:
    changes = {f: getattr(body, f) for f in body.model_fields_set}
    for field, value in changes.items():
        if value is None:
            raise field_error("body", field, "may not be null")
    return changes


@router.get("/tstv/rules", response_model=RulesOut, responses=errors(*ADMIN))
async def get_rules(session: SessionDep, _admin: AdminDep) -> RulesOut:
    return RulesOut(channels=[_rules(c) for c in await rules_service.all_rules(session)])


@router.put(
    "/tstv/rules/{channel_id}",
    response_model=ChannelRulesOut,
    responses=errors(
        *ADMIN,
        refusal(404, "channel_not_found"),
        invalid("`catchup_window_hours` below the (new) `cutv_window_hours`"),
    ),
)
async def put_rules(
    session: SessionDep,
    _admin: AdminDep,
    channel_id: Annotated[str, Path(pattern=CHANNEL_REF, description="Channel id (UUID) or CDN key")],
    body: ChannelRulesIn,
) -> ChannelRulesOut:
    changes = _changes(body)
    channel = await catalogue_service.find_channel(session, channel_id)
    if channel is None:
        raise ApiError(404, rules_service.CHANNEL_NOT_FOUND)
    try:
        channel = await rules_service.update_channel_rules(session, channel, changes)
    except rules_service.RetentionBelowWindow as exc:
        raise field_error("body", "catchup_window_hours", str(exc)) from None
    return _rules(channel)


@router.put(
    "/schedule/{entry_id}/rights",
    response_model=ScheduleEntryOut,
    responses=errors(*ADMIN, refusal(404, "schedule_entry_not_found"), INVALID),
)
async def put_entry_rights(
    session: SessionDep, _admin: AdminDep, entry_id: uuid.UUID, body: EntryRightsIn
) -> ScheduleEntryOut:
    changes = _changes(body)
    entry = await rules_service.set_entry_rights(session, entry_id, changes)
    return ScheduleEntryOut.model_validate(entry)
