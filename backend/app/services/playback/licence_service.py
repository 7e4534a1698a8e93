"""Which content keys a licence (or a raw key request) may hand out: only those of what the viewer is
watching, under the playback token (`pb`) its master playlist handed out.

A key is given when, at that moment: the request carries a valid playback token of this user; the
user's subscription is active (`require_subscriber`, the one place that reads it); the operator has
not revoked the rights of the token's programme since (`PlaybackService.recheck_rights`); and the
KID is one of the runs whose media lies in the token's channel and time range (the archive index
knows each run's KID: `PlaybackService.licensable_kids`). Any other KID is refused as
`key_not_entitled`, whether or not such a key exists.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database
from app.errors import ApiError
from app.models import DrmKey, User
from app.services.accounts.auth_service import TokenClaims
from app.services.archive import content_keys
from app.services.playback.playback_service import PlaybackService

PLAYBACK_TOKEN_REQUIRED = "playback_token_required"
INVALID_PLAYBACK_TOKEN = "invalid_playback_token"
KEY_NOT_ENTITLED = "key_not_entitled"
UNKNOWN_KID = "unknown_kid"


async def require_subscriber(session: AsyncSession, claims: TokenClaims) -> None:
    """The token's subscription claim and the user's current subscription must both be active."""
    user = await session.get(User, claims.user_id)
    if user is None:
        raise ApiError(401, "invalid_token")
    if not (claims.subscription_active and user.subscription_active):
        raise ApiError(403, "subscription_required")


async def entitled_keys(
    *,
    session: AsyncSession,
    db: Database,
    playback: PlaybackService,
    claims: TokenClaims,
    pb: str | None,
    kids: list[uuid.UUID],
    now: datetime,
) -> dict[uuid.UUID, DrmKey]:
    """The keys of `kids`, each of which the playback token `pb` entitles `claims`' user to now.
    Raises ApiError (401/403/404 with the reason as `detail`) when any is refused."""
    if not pb:
        raise ApiError(403, PLAYBACK_TOKEN_REQUIRED)
    grant = playback.grant_from_token(pb, claims, now)
    if grant is None:
        raise ApiError(403, INVALID_PLAYBACK_TOKEN)
    await require_subscriber(session, claims)
    await playback.recheck_rights(db, grant.target)
    allowed = playback.licensable_kids(grant.target, now)
    if any(kid.hex not in allowed for kid in kids):
        raise ApiError(403, KEY_NOT_ENTITLED)
    found = await content_keys.keys_by_kid(session, kids)
    if len(found) < len(set(kids)):
        raise ApiError(404, UNKNOWN_KID)
    return found
