"""ClearKey KMS endpoints: the active key of a channel (admin), licences and raw keys (subscribers).

Raw key URL (the EXT-X-KEY URI of the playlists): GET /api/v1/drm/keys/{kid_hex}/raw
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from app import clock
from app.deps import AdminDep, SessionDep, ViewerDep
from app.errors import ApiError
from app.models import DrmKey, User
from app.routers._common import (
    ADMIN,
    INVALID,
    UNAUTHENTICATED,
    ChannelKey,
    errors,
    metrics_of,
    ok_body,
    refusal,
)
from app.schemas.drm import (
    ChannelKeysOut,
    DrmKeyOut,
    KeyInfoOut,
    LicenseKey,
    LicenseRequest,
    LicenseResponse,
    RotateOut,
)
from app.schemas.errors import EncoderErrorOut
from app.schemas.patterns import KID_TEXT
from app.services.accounts.auth_service import TokenClaims
from app.services.playback import drm_service

router = APIRouter(prefix="/drm", tags=["drm"])
admin_router = APIRouter(prefix="/admin/drm", tags=["admin", "drm"])

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_CHANNEL_NOT_FOUND = refusal(404, "channel_not_found")
# Licences and raw keys: a subscriber's token (`invalid_token` also when the user no longer exists).
_KEYS = (
    UNAUTHENTICATED,
    refusal(403, "subscription_required", why="no active subscription"),
    refusal(404, "unknown_kid", why="no key with that KID"),
    INVALID,
)


def key_out(key: DrmKey, channel_key: str) -> DrmKeyOut:
    return DrmKeyOut(
        key_id=str(key.key_id),
        kid_hex=key.key_id.hex,
        key_value_hex=key.key_value.hex(),
        channel_key=channel_key,
        active=key.active,
        created_at=key.created_at,
        rotated_at=key.rotated_at,
        expires_at=key.expires_at,
    )


async def require_subscriber(session: SessionDep, claims: TokenClaims) -> None:
    """The token's subscription claim and the user's current subscription must both be active."""
    user = await session.get(User, claims.user_id)
    if user is None:
        raise ApiError(401, "invalid_token")
    if not (claims.subscription_active and user.subscription_active):
        raise ApiError(403, "subscription_required")


@router.get(
    "/keys/channel/{channel_key}",
    response_model=DrmKeyOut,
    responses=errors(*ADMIN, _CHANNEL_NOT_FOUND, INVALID),
)
async def channel_key_endpoint(channel_key: ChannelKey, session: SessionDep, _admin: AdminDep) -> DrmKeyOut:
    channel = await drm_service.channel_by_key(session, channel_key)
    if channel is None:
        raise ApiError(404, "channel_not_found")
    key = await drm_service.get_or_create_active_key(session, channel)
    return key_out(key, channel_key)


def _validation_error(loc: tuple[str | int, ...], msg: str) -> RequestValidationError:
    return RequestValidationError([{"loc": loc, "type": "value_error", "msg": msg}])


@router.post(
    "/license",
    response_model=LicenseResponse,
    responses=errors(*_KEYS),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": LicenseRequest.model_json_schema()}},
        }
    },
)
async def license_endpoint(request: Request, session: SessionDep, claims: ViewerDep) -> Response:
    with metrics_of(request).licence("license"):
        return await _licence(request, session, claims)


async def _licence(request: Request, session: SessionDep, claims: TokenClaims) -> Response:
    # Read the body ourselves: EME clients may send the JSON with any content type.
    raw = await request.body()
    try:
        body = LicenseRequest.model_validate(json.loads(raw or b"null"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise _validation_error(("body",), "body is not JSON") from None
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        ) from None
    # The model's pattern admits only 16-byte base64url KIDs.
    kids = [uuid.UUID(bytes=drm_service.b64url_decode(text)) for text in body.kids]
    await require_subscriber(session, claims)
    found = await drm_service.keys_by_kid(session, kids)
    if not found:
        raise ApiError(404, "unknown_kid")
    keys = [
        LicenseKey(kid=drm_service.b64url_encode(k.bytes), k=drm_service.b64url_encode(found[k].key_value))
        for k in kids
        if k in found
    ]
    out = LicenseResponse(keys=keys, type=body.type)
    return Response(out.model_dump_json(), media_type="application/json", headers=NO_STORE)


@router.get(
    "/keys/{kid}/raw",
    response_class=Response,
    responses=ok_body("application/octet-stream", "The 16-byte key") | errors(*_KEYS),
)
async def raw_key_endpoint(
    request: Request,
    kid: Annotated[str, Path(pattern=KID_TEXT, description="32 hex digits, a UUID, or base64url")],
    session: SessionDep,
    claims: ViewerDep,
) -> Response:
    with metrics_of(request).licence("raw_key"):
        key_id = drm_service.parse_kid(kid)
        await require_subscriber(session, claims)
        found = await drm_service.keys_by_kid(session, [key_id])
        if key_id not in found:
            raise ApiError(404, "unknown_kid")
        return Response(found[key_id].key_value, media_type="application/octet-stream", headers=NO_STORE)


@admin_router.post(
    "/{channel_key}/rotate",
    response_model=RotateOut,
    responses=errors(
        *ADMIN,
        _CHANNEL_NOT_FOUND,
        refusal(409, "not_running", why="the encoder stopped while its key rotated"),
        refusal(
            503,
            "encoder_restart_failed",
            why="the new key is active, the encoder did not restart",
            model=EncoderErrorOut,
        ),
        INVALID,
    ),
)
async def rotate_endpoint(
    channel_key: ChannelKey, request: Request, session: SessionDep, _admin: AdminDep
) -> RotateOut:
    channel = await drm_service.channel_by_key(session, channel_key)
    if channel is None:
        raise ApiError(404, "channel_not_found")
    key, old = await drm_service.rotate_key(session, channel)
    manager = getattr(request.app.state, "simlive", None)
    restarted = bool(manager is not None and await manager.restart_if_running(channel_key))
    return RotateOut(
        channel_key=channel_key,
        key_id=str(key.key_id),
        kid_hex=key.key_id.hex,
        previous_key_id=str(old.key_id) if old else None,
        rotated_at=key.created_at,
        encoder_restarted=restarted,
    )


def _key_info(key: DrmKey, now: datetime, reveal: bool) -> KeyInfoOut:
    return KeyInfoOut(
        key_id=str(key.key_id),
        kid_hex=key.key_id.hex,
        active=key.active,
        created_at=key.created_at,
        age_seconds=round((now - key.created_at).total_seconds(), 1),
        rotated_at=key.rotated_at,
        expires_at=key.expires_at,
        key_value_hex=key.key_value.hex() if reveal else None,
    )


@admin_router.get(
    "/{channel_key}/keys",
    response_model=ChannelKeysOut,
    responses=errors(*ADMIN, _CHANNEL_NOT_FOUND, INVALID),
)
async def channel_keys_endpoint(
    channel_key: ChannelKey,
    session: SessionDep,
    _admin: AdminDep,
    reveal: Annotated[bool, Query(description="Include the key values (`key_value_hex`)")] = False,
    limit: Annotated[int, Query(ge=1, le=200, description="At most this many rotated keys")] = 50,
) -> Response:
    """The channel's active key and its rotated keys with their dates; the key values only when
    `reveal=true`. Never creates a key (the encoder does when it starts)."""
    channel = await drm_service.channel_by_key(session, channel_key)
    if channel is None:
        raise ApiError(404, "channel_not_found")
    history = await drm_service.key_history(session, channel.id, limit)
    now = clock.now()
    out = ChannelKeysOut(
        channel_key=channel_key,
        active=_key_info(history.active, now, reveal) if history.active else None,
        rotated=[_key_info(k, now, reveal) for k in history.rotated],
        rotated_total=history.rotated_total,
    )
    return Response(out.model_dump_json(), media_type="application/json", headers=NO_STORE)
