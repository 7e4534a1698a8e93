"""ClearKey KMS endpoints: the active key of a channel (admin), licences and raw keys (subscribers).

Licences and raw keys take the playback token the master playlist handed out (`?pb=`) and give only
the keys of what it covers (app/services/playback/licence_service.py). Raw key URL (the EXT-X-KEY URI
of the media playlists, which carry the token): GET /api/v1/drm/keys/{kid_hex}/raw?pb=...
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.db import Database
from app.deps import (
    AdminDep,
    DatabaseDep,
    PlaybackDep,
    PlaybackViewerDep,
    SessionDep,
    database_of,
    playback_of,
    running_encoders,
    user_states_of,
)
from app.domain import rights
from app.errors import ApiError
from app.models import DrmKey
from app.routers.route_answers import (
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
from app.services.accounts.user_state import check_user
from app.services.archive import content_keys
from app.services.playback import licence_service
from app.services.playback.licence_service import (
    INVALID_PLAYBACK_TOKEN,
    KEY_NOT_ENTITLED,
    PLAYBACK_TOKEN_REQUIRED,
    UNKNOWN_KID,
)
from app.services.playback.playback_service import PlaybackService

router = APIRouter(prefix="/drm", tags=["drm"])
admin_router = APIRouter(prefix="/admin/drm", tags=["admin", "drm"])

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_CHANNEL_NOT_FOUND = refusal(404, "channel_not_found")
# Licences and raw keys: a subscriber's token (`invalid_token` also when the user no longer exists)
# and the playback token of what is being watched.
_KEYS = (
    UNAUTHENTICATED,
    refusal(403, "subscription_required", why="no active subscription"),
    refusal(403, PLAYBACK_TOKEN_REQUIRED, why="no `pb`: the playback token the master playlist handed out"),
    refusal(403, INVALID_PLAYBACK_TOKEN, why="`pb` is not a current playback token of this user"),
    refusal(
        403,
        KEY_NOT_ENTITLED,
        why="a KID that encrypts nothing in the playback token's channel and time range",
    ),
    refusal(
        403,
        rights.STARTOVER_NOT_ALLOWED,
        rights.PROGRAM_NOT_ELIGIBLE,
        "channel_not_found",
        "schedule_entry_not_found",
        why="the programme's rights were revoked since the playback started",
    ),
    refusal(404, UNKNOWN_KID, why="no key with that KID"),
    INVALID,
)
PlaybackTokenParam = Annotated[
    str | None,
    Query(max_length=2048, description="The playback token (`pb`) the master playlist handed out"),
]


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


async def check_playback_holder(request: Request) -> None:
    """A licence for a running playback (`pb`): its holder must still stand (user_state.py)."""
    pb = request.query_params.get("pb")
    playback = playback_of(request)
    if pb and (holder := playback.playback_holder(pb)) is not None:
        user_id, token_id, epoch = holder
        await check_user(
            user_states_of(request), database_of(request), user_id, token_id, epoch, subscription=True
        )


@router.get(
    "/keys/channel/{channel_key}",
    response_model=DrmKeyOut,
    responses=errors(*ADMIN, _CHANNEL_NOT_FOUND, INVALID),
)
async def channel_key_endpoint(channel_key: ChannelKey, session: SessionDep, _admin: AdminDep) -> DrmKeyOut:
    channel = await content_keys.channel_by_key(session, channel_key)
    if channel is None:
        raise ApiError(404, "channel_not_found")
    key = await content_keys.get_or_create_active_key(session, channel)
    return key_out(key, channel_key)


@dataclass(frozen=True)
class _Keys:
    """What a licence and a raw key both ask with: the caller's token and the stores."""

    session: AsyncSession
    db: Database
    claims: TokenClaims
    playback: PlaybackService

    async def entitled(
        self, request: Request, pb: str | None, kids: list[uuid.UUID]
    ) -> dict[uuid.UUID, DrmKey]:
        """The keys of `kids` that the playback token `pb` entitles the caller to, its holder standing."""
        await check_playback_holder(request)
        return await licence_service.entitled_keys(
            session=self.session,
            db=self.db,
            playback=self.playback,
            claims=self.claims,
            pb=pb,
            kids=kids,
            now=clock.now(),
        )


async def _keys(
    session: SessionDep, db: DatabaseDep, claims: PlaybackViewerDep, playback: PlaybackDep
) -> _Keys:
    return _Keys(session, db, claims, playback)


KeysDep = Annotated[_Keys, Depends(_keys)]


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
async def license_endpoint(request: Request, keys: KeysDep, pb: PlaybackTokenParam = None) -> Response:
    """W3C ClearKey licence: the keys of the KIDs asked for, each of which must encrypt media in the
    playback token's channel and time range (403 `key_not_entitled` otherwise)."""
    with metrics_of(request).licence("license"):
        return await _licence(request, keys, pb)


async def _licence(request: Request, keys: _Keys, pb: str | None) -> Response:
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
    kids = [uuid.UUID(bytes=content_keys.b64url_decode(text)) for text in body.kids]
    found = await keys.entitled(request, pb, kids)
    granted = [
        LicenseKey(kid=content_keys.b64url_encode(k.bytes), k=content_keys.b64url_encode(found[k].key_value))
        for k in kids
        if k in found
    ]
    out = LicenseResponse(keys=granted, type=body.type)
    return Response(out.model_dump_json(), media_type="application/json", headers=NO_STORE)


@router.get(
    "/keys/{kid}/raw",
    response_class=Response,
    responses=ok_body("application/octet-stream", "The 16-byte key") | errors(*_KEYS),
)
async def raw_key_endpoint(
    request: Request,
    kid: Annotated[str, Path(pattern=KID_TEXT, description="32 hex digits, a UUID, or base64url")],
    keys: KeysDep,
    pb: PlaybackTokenParam = None,
) -> Response:
    """The 16-byte key of the playlists' EXT-X-KEY URI, under the same rule as the licence."""
    with metrics_of(request).licence("raw_key"):
        key_id = content_keys.parse_kid(kid)
        found = await keys.entitled(request, pb, [key_id])
        return Response(found[key_id].key_value, media_type="application/octet-stream", headers=NO_STORE)


_ROTATE_NOT_RUNNING = refusal(409, "not_running", why="the encoder stopped while its key rotated")
_RESTART_FAILED = refusal(
    503,
    "encoder_restart_failed",
    why="the new key is active, the encoder did not restart",
    model=EncoderErrorOut,
)


@admin_router.post(
    "/{channel_key}/rotate",
    response_model=RotateOut,
    responses=errors(*ADMIN, _CHANNEL_NOT_FOUND, _ROTATE_NOT_RUNNING, _RESTART_FAILED, INVALID),
)
async def rotate_endpoint(
    channel_key: ChannelKey, request: Request, session: SessionDep, _admin: AdminDep
) -> RotateOut:
    channel = await content_keys.channel_by_key(session, channel_key)
    if channel is None:
        raise ApiError(404, "channel_not_found")
    key, old = await content_keys.rotate_key(session, channel)
    manager = running_encoders(request)
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
    channel = await content_keys.channel_by_key(session, channel_key)
    if channel is None:
        raise ApiError(404, "channel_not_found")
    history = await content_keys.key_history(session, channel.id, limit)
    now = clock.now()
    out = ChannelKeysOut(
        channel_key=channel_key,
        active=_key_info(history.active, now, reveal) if history.active else None,
        rotated=[_key_info(k, now, reveal) for k in history.rotated],
        rotated_total=history.rotated_total,
    )
    return Response(out.model_dump_json(), media_type="application/json", headers=NO_STORE)
