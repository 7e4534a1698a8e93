"""A user's current standing, checked on every request: role, subscription, disabled, token epoch
and signed-out tokens, read from the database (never trusted from a token's claims alone).

The state is cached per user while it can be trusted: on PostgreSQL every change to `users` or
`revoked_tokens` is notified on `account_changes` with the user's id (migration 0007) and the
catalogue listener's connection delivers it (app/catalogue_version.py), so an entry
is dropped the moment a change commits, on every API replica, whoever made it (the API, the
`python -m app.users` CLI, SQL). While the listener is not subscribed (SQLite, not connected yet,
reconnecting) nothing is cached and every request reads the state (two primary-key lookups); a
resubscription drops the whole cache, as changes may have been missed meanwhile. This process's own
writes drop the entry directly too, so the writer's next request sees them before the notification.

`check_user` is the one rule, called by the access-token guard (app/deps.py), by media playlists of
a running playback and by the licence (both with the playback token's user, token id and epoch).
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from app.catalogue_version import CatalogueFeed
from app.db import Database
from app.errors import ApiError
from app.models import RevokedToken, User

CHANNEL = "account_changes"


@dataclass(frozen=True)
class UserState:
    user_id: uuid.UUID
    role: str
    subscription_active: bool
    disabled: bool
    token_epoch: int
    revoked: frozenset[str]  # signed-out token ids not yet expired

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class UserStateCache:
    """Per-user state, trusted only while account changes are pushed (see the module docstring)."""

    def __init__(self, feed: CatalogueFeed | None = None, maxsize: int = 50_000) -> None:
        self.feed = feed
        self.maxsize = maxsize
        self.reads = 0  # states read from the database
        self._states: OrderedDict[uuid.UUID, UserState] = OrderedDict()
        self._changes = 0  # invalidations seen (a read that overlapped one is not kept)
        self._subscription: int | None = None

    def _trusted(self) -> bool:
        feed = self.feed
        if feed is None or not feed.subscribed:
            self._states.clear()
            return False
        if feed.subscriptions != self._subscription:
            self._states.clear()  # changes may have gone unnotified while it was not subscribed
            self._subscription = feed.subscriptions
        return True

    def invalidate(self, user_id: uuid.UUID) -> None:
        self._changes += 1
        self._states.pop(user_id, None)

    def notified(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        """asyncpg listener callback for `account_changes` (payload: the user's id)."""
        try:
            self.invalidate(uuid.UUID(payload))
        except ValueError:
            self._changes += 1
            self._states.clear()

    async def get(self, db: Database, user_id: uuid.UUID) -> UserState | None:
        trusted = self._trusted()
        if trusted:
            state = self._states.get(user_id)
            if state is not None:
                self._states.move_to_end(user_id)
                return state
        changes = self._changes
        state = await read_state(db, user_id)
        self.reads += 1
        if state is not None and trusted and self._changes == changes and self._trusted():
            self._states[user_id] = state
            while len(self._states) > self.maxsize:
                self._states.popitem(last=False)
        return state


async def read_state(db: Database, user_id: uuid.UUID) -> UserState | None:
    async with db.reader() as session:
        row = (
            await session.execute(
                select(User.role, User.subscription_active, User.disabled, User.token_epoch).where(
                    User.id == user_id
                )
            )
        ).one_or_none()
        if row is None:
            return None
        revoked = await session.scalars(
            select(RevokedToken.jti).where(
                RevokedToken.user_id == user_id, RevokedToken.expires_at > datetime.now(UTC)
            )
        )
        return UserState(user_id, row[0], bool(row[1]), bool(row[2]), int(row[3]), frozenset(revoked))


async def check_user(
    cache: UserStateCache,
    db: Database,
    user_id: uuid.UUID,
    token_id: str,
    epoch: int,
    *,
    subscription: bool = False,
) -> UserState:
    """The user's current state if a token of theirs (`token_id`, issued under `epoch`) still
    stands: 401 when the user is gone or disabled, signed out of that token, or its epoch has
    passed (a new password or role); with `subscription`, 403 without an active subscription."""
    state = await cache.get(db, user_id)
    if state is None:
        raise ApiError(401, "invalid_token")
    if state.disabled:
        raise ApiError(401, "account_disabled")
    if epoch != state.token_epoch or token_id in state.revoked:
        raise ApiError(401, "token_revoked")
    if subscription and not state.subscription_active:
        raise ApiError(403, "subscription_required")
    return state
