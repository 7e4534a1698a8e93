"""Which profile a viewer request acts for: the token's default, or an explicit one of the user's."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import ApiError
from app.models import Profile
from app.services.accounts.auth_service import TokenClaims

PROFILE_FORBIDDEN = "profile_forbidden"
PROFILE_NOT_FOUND = "profile_not_found"


async def resolve_profile(
    session: AsyncSession, claims: TokenClaims, explicit: uuid.UUID | None = None
) -> uuid.UUID:
    """The profile id to act for. An explicit id must belong to the caller (403 otherwise, without
    telling whether it exists); with none, the token's profile, else the user's default profile."""
    if explicit is not None:
        if explicit == claims.profile_id:
            return explicit
        owner = await session.scalar(select(Profile.user_id).where(Profile.id == explicit))
        if owner != claims.user_id:
            raise ApiError(403, PROFILE_FORBIDDEN)
        return explicit
    if claims.profile_id is not None:
        return claims.profile_id
    found = await session.scalar(
        select(Profile.id)
        .where(Profile.user_id == claims.user_id)
        .order_by(Profile.is_default.desc(), Profile.created_at)
        .limit(1)
    )
    if found is None:
        raise ApiError(404, PROFILE_NOT_FOUND)
    return found
