"""IPTV links (docs/PRODUCT.md, 'IPTV export'): personal, revocable tokens an IPTV player carries in
its URLs (`?token=`), since it cannot sign in. Only the SHA-256 of a secret is stored, so a leaked
database lists no usable link.

A link stands for its user as an access token does, through the same rule (`check_user`): its
token id is `iptv:<id>` and its epoch the user's when it was made, so disabling the user or a new
password ends it, and a playback started with it (whose playback token names that holder) stops
when it is revoked: revoking deletes the row and signs the token id out (`revoked_tokens`) for as
long as a playback token of it can live. The routers accept it only where an IPTV player goes:
the export and the playback routes (app/deps.py, `playback_claims`), never the account or admin API.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database
from app.errors import ApiError
from app.models import IptvToken, RevokedToken, User
from app.services.accounts.auth_service import TokenClaims
from app.services.accounts.user_state import UserStateCache, check_user

INVALID_IPTV_TOKEN = "invalid_iptv_token"
TOKEN_ID_PREFIX = "iptv:"
# The longest a playback token lives (a 24 h range plus its 6 h grace): a revoked link's token id
# stays signed out that long, so no playback started with it outlives the revocation.
PLAYBACK_TOKEN_LIFETIME = timedelta(hours=31)
# At most this many links per user: each is a standing credential.
MAX_PER_USER = 20
_SECRET_BYTES = 32


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_id(row_id: uuid.UUID) -> str:
    return f"{TOKEN_ID_PREFIX}{row_id.hex}"


async def create(session: AsyncSession, user_id: uuid.UUID) -> tuple[IptvToken, str]:
    """A new link of the user's: its row and its secret (shown once, never stored)."""
    user = await session.get(User, user_id)
    if user is None:
        raise ApiError(401, "invalid_token")
    count = len((await session.scalars(select(IptvToken.id).where(IptvToken.user_id == user_id))).all())
    if count >= MAX_PER_USER:
        raise ApiError(409, "too_many_iptv_tokens", limit=MAX_PER_USER)
    secret = secrets.token_urlsafe(_SECRET_BYTES)
    row = IptvToken(
        user_id=user_id, token_hash=_hash(secret), token_epoch=user.token_epoch, created_at=datetime.now(UTC)
    )
    session.add(row)
    await session.commit()
    return row, secret


async def of_user(session: AsyncSession, user_id: uuid.UUID) -> Sequence[IptvToken]:
    return (
        await session.scalars(
            select(IptvToken).where(IptvToken.user_id == user_id).order_by(IptvToken.created_at)
        )
    ).all()


async def revoke(session: AsyncSession, user_id: uuid.UUID, row_id: uuid.UUID) -> bool:
    """Revoke one of the user's links; False when the user has no such link."""
    gone = await session.execute(
        delete(IptvToken).where(IptvToken.id == row_id, IptvToken.user_id == user_id)
    )
    if getattr(gone, "rowcount", 0) != 1:
        await session.rollback()
        return False
    expires = datetime.now(UTC) + PLAYBACK_TOKEN_LIFETIME
    session.add(RevokedToken(jti=token_id(row_id), user_id=user_id, expires_at=expires))
    await session.commit()
    return True


async def claims_for(cache: UserStateCache, db: Database, secret: str) -> TokenClaims:
    """Who an IPTV token stands for: 401 `invalid_iptv_token` when it is unknown or revoked, else
    the user's standing as for any request (`check_user`: disabled, epoch; subscription later)."""
    async with db.reader() as session:
        row = (
            await session.execute(
                select(IptvToken.id, IptvToken.user_id, IptvToken.token_epoch).where(
                    IptvToken.token_hash == _hash(secret)
                )
            )
        ).one_or_none()
    if row is None:
        raise ApiError(401, INVALID_IPTV_TOKEN)
    row_id, user_id, epoch = row
    state = await check_user(cache, db, user_id, token_id(row_id), epoch)
    return TokenClaims(
        user_id=user_id,
        role=state.role,
        profile_id=None,
        subscription_active=state.subscription_active,
        token_id=token_id(row_id),
        epoch=epoch,
    )
