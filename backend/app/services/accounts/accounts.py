"""Accounts: creating users, passwords, signing out, and what an operator changes (role,
subscription, disabled). Used by the API (app/routers/auth.py, app/routers/admin_users.py) and the
CLI (`python -m app.users`).

Every change that must end existing tokens does it in the database, so it holds on every replica:
a new password or a new role raises the user's `token_epoch` (tokens carry the epoch they were
issued under), signing out records the token's id in `revoked_tokens` until its expiry. Role,
subscription and disabled are read from the database on every request (user_state.py).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import ApiError
from app.models import Profile, RevokedToken, User
from app.services.accounts.auth_service import hash_password_async, verify_password_async

ROLES = ("viewer", "admin")
MIN_PASSWORD = 10


class AccountError(ApiError):
    pass


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if "@" not in email or len(email) > 254 or any(c.isspace() for c in email):
        raise AccountError(422, "invalid_email")
    return email


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD or len(password) > 1024:
        raise AccountError(422, "weak_password", min_length=MIN_PASSWORD)


async def add_user(
    session: AsyncSession, email: str, password: str, role: str = "viewer", subscription: bool = False
) -> User:
    if role not in ROLES:
        raise AccountError(422, "invalid_role")
    email = normalise_email(email)
    check_password(password)
    user = User(
        email=email,
        password_hash=await hash_password_async(password),
        role=role,
        subscription_active=subscription,
    )
    user.profiles = [Profile(name=email.split("@", 1)[0][:80] or "Profile", is_default=True)]
    session.add(user)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise AccountError(409, "email_taken") from None
    return user


async def list_users(session: AsyncSession) -> list[User]:
    return list((await session.scalars(select(User).order_by(User.created_at, User.email))).all())


async def user_by_email(session: AsyncSession, email: str) -> User:
    user = await session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise AccountError(404, "user_not_found")
    return user


async def set_password(session: AsyncSession, user: User, password: str) -> None:
    """A new password; every token issued before stops working."""
    check_password(password)
    user.password_hash = await hash_password_async(password)
    user.token_epoch += 1
    await session.commit()


async def change_password(session: AsyncSession, user_id: uuid.UUID, current: str, new: str) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise AccountError(401, "invalid_token")
    if not await verify_password_async(current, user.password_hash):
        raise AccountError(403, "wrong_password")
    await set_password(session, user, new)
    return user


@dataclass(frozen=True)
class UserChange:
    role: str | None = None
    subscription_active: bool | None = None
    disabled: bool | None = None


async def update_user(session: AsyncSession, user_id: uuid.UUID, change: UserChange) -> User:
    """An operator's change. A new role also ends the user's tokens: sessions opened with the old
    privileges end with them (a demoted operator signs in again as a viewer). Subscription and
    disabled take effect on the next request without ending anything (user_state.py)."""
    user = await session.get(User, user_id)
    if user is None:
        raise AccountError(404, "user_not_found")
    if change.role is not None and change.role not in ROLES:
        raise AccountError(422, "invalid_role")
    if change.role is not None and change.role != user.role:
        user.role = change.role
        user.token_epoch += 1
    if change.subscription_active is not None:
        user.subscription_active = change.subscription_active
    if change.disabled is not None:
        user.disabled = change.disabled
    await session.commit()
    return user


async def revoke_token(
    session: AsyncSession, user_id: uuid.UUID, token_id: str, expires_at: datetime
) -> None:
    """Sign out of one token; expired revocations are pruned on the way (they refuse nothing more)."""
    now = datetime.now(UTC)
    await session.execute(delete(RevokedToken).where(RevokedToken.expires_at <= now))
    if token_id and expires_at > now:
        session.add(RevokedToken(jti=token_id[:64], user_id=user_id, expires_at=expires_at))
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()  # signed out of it already
