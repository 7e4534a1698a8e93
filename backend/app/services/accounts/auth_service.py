"""Passwords, tokens and the login throttle."""

from __future__ import annotations

import threading
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from jwt.algorithms import HMACAlgorithm
from pwdlib import PasswordHash
from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.config import Settings
from app.models import LoginFailure, Profile, User

JWT_ALGORITHM = "HS256"


class _SecretCheckedOnce(HMACAlgorithm):
    """HS256 that checks each secret once. PyJWT re-checks the secret on every sign and verify
    (not empty, not a PEM, SSH or DER key, not a JWK: a JSON parse and an X.509 parse), which is a
    third of signing the playback token every master playlist carries."""

    def __init__(self) -> None:
        super().__init__(HMACAlgorithm.SHA256)
        self._checked: dict[str | bytes, bytes] = {}

    def prepare_key(self, key: str | bytes) -> bytes:
        prepared = self._checked.get(key)
        if prepared is None:
            prepared = super().prepare_key(key)  # a rejected secret raises, and is not kept
            if len(self._checked) < 8:  # the configured secret (tests make a few)
                self._checked[key] = prepared
        return prepared


jwt.unregister_algorithm(JWT_ALGORITHM)
jwt.register_algorithm(JWT_ALGORITHM, _SecretCheckedOnce())
_hasher = PasswordHash.recommended()
# Verified against when the e-mail is unknown, so both failures cost the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    return _hasher.verify(password, password_hash)


@dataclass(frozen=True)
class TokenClaims:
    user_id: uuid.UUID
    role: str
    profile_id: uuid.UUID | None
    subscription_active: bool

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def issue_token(settings: Settings, user: User, profile_id: uuid.UUID | None) -> str:
    # Real time, not the service clock: PyJWT checks expiry against real time.
    now = datetime.now(UTC)
    payload = {
        "sub": str(user.id),
        "role": user.role,
        "profile_id": str(profile_id) if profile_id else None,
        "sub_active": user.subscription_active,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=settings.jwt_expiry_minutes)).timestamp()),
    }
    return jwt.encode(payload, settings.jwt_secret, algorithm=JWT_ALGORITHM)


class InvalidToken(Exception):
    pass


class VerifiedTokens:
    """Signature checks cost more than the rest of a playlist request; a client sends the same
    token again and again, so remember which (secret, token) pairs verified. Expiry is not cached:
    callers check `exp` on every use."""

    def __init__(self, maxsize: int = 20_000) -> None:
        self.maxsize = maxsize
        self._verified: dict[tuple[str, str], dict[str, Any]] = {}

    def decode(self, token: str, secret: str, require: list[str]) -> dict[str, Any]:
        key = (secret, token)
        data = self._verified.get(key)
        if data is None:
            data = jwt.decode(
                token, secret, algorithms=[JWT_ALGORITHM], options={"require": require, "verify_exp": False}
            )
            if len(self._verified) >= self.maxsize:
                self._verified.clear()
            self._verified[key] = data
        return data


verified_tokens = VerifiedTokens()


def decode_token(settings: Settings, token: str) -> TokenClaims:
    try:
        data = verified_tokens.decode(token, settings.jwt_secret, ["exp", "sub", "role"])
        if not isinstance(data["exp"], int | float) or data["exp"] <= time.time():
            raise InvalidToken("expired")
        profile = data.get("profile_id")
        return TokenClaims(
            user_id=uuid.UUID(str(data["sub"])),
            role=str(data["role"]),
            profile_id=uuid.UUID(str(profile)) if profile else None,
            subscription_active=bool(data.get("sub_active", False)),
        )
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise InvalidToken(str(exc)) from exc


class LoginThrottle:
    """Counts failed logins per e-mail over a sliding minute (per process)."""

    def __init__(self, limit: int = 10, window_s: float = 60.0) -> None:
        self.limit = limit
        self.window_s = window_s
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _prune(self, key: str, now: float) -> deque[float]:
        q = self._failures[key]
        while q and q[0] <= now - self.window_s:
            q.popleft()
        return q

    def blocked(self, email: str) -> bool:
        with self._lock:
            return len(self._prune(email.lower(), time.monotonic())) >= self.limit

    def record_failure(self, email: str) -> None:
        with self._lock:
            now = time.monotonic()
            self._prune(email.lower(), now).append(now)

    def reset(self, email: str) -> None:
        with self._lock:
            self._failures.pop(email.lower(), None)

    # The login endpoint's interface (a shared throttle answers from the database).
    async def is_blocked(self, session: AsyncSession, email: str) -> bool:
        return self.blocked(email)

    async def note_failure(self, session: AsyncSession, email: str) -> None:
        self.record_failure(email)


class SharedLoginThrottle(LoginThrottle):
    """Failed logins counted in the database (`login_failures`) over the database clock's sliding
    minute, so every API replica behind the load balancer counts the same attempts (TSTV_ROLE=api;
    two replicas answering at the same instant may let one attempt more through)."""

    async def is_blocked(self, session: AsyncSession, email: str) -> bool:
        n = await session.scalar(
            select(func.count())
            .select_from(LoginFailure)
            .where(
                LoginFailure.email == email.lower(),
                LoginFailure.failed_at > func.now() - timedelta(seconds=self.window_s),
            )
        )
        return int(n or 0) >= self.limit

    async def note_failure(self, session: AsyncSession, email: str) -> None:
        # Past the window nothing counts: drop it (any e-mail); the table holds a minute of failures.
        await session.execute(
            delete(LoginFailure).where(
                LoginFailure.failed_at <= func.now() - timedelta(seconds=self.window_s)
            )
        )
        await session.execute(insert(LoginFailure).values(email=email.lower(), failed_at=func.now()))
        await session.commit()


async def authenticate(session: AsyncSession, email: str, password: str) -> User | None:
    user = await session.scalar(
        select(User).options(selectinload(User.profiles)).where(User.email == email.lower())
    )
    if user is None:
        verify_password(password, _DUMMY_HASH)
        return None
    return user if verify_password(password, user.password_hash) else None


def default_profile(user: User) -> Profile | None:
    for p in user.profiles:
        if p.is_default:
            return p
    return user.profiles[0] if user.profiles else None
