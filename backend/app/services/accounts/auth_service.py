"""Passwords, tokens and the login throttle."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
import uuid
from collections import OrderedDict, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from jwt.algorithms import HMACAlgorithm
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.config import Settings
from app.models import LoginFailure, Profile, User

JWT_ALGORITHM = "HS256"
ACCESS = "access"  # the `typ` of access tokens (playback tokens are `playback`)


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
# Argon2id, 64 MiB and 3 passes as pwdlib recommends, but one lane: a hash then keeps to one core
# (four lanes run four threads), so with HASHING_CONCURRENCY the event loop keeps a core for itself
# in a login flood. Hashes of other parameters still verify (they carry their own).
_hasher = PasswordHash((Argon2Hasher(parallelism=1),))
# Verified against when the e-mail is unknown, so both failures cost the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    return _hasher.verify(password, password_hash)


# Argon2 costs a fifth of a second of CPU and 64 MiB per call: it runs on a small executor of its
# own, at most HASHING_CONCURRENCY at once, so a burst of logins queues there instead of stalling
# the event loop (and every playlist of the process). Its threads run at a lower scheduling
# priority (Linux niceness is per thread): when CPU is short, playlists come first, logins wait.
HASHING_CONCURRENCY = max(1, min(4, (os.cpu_count() or 2) // 2))
HASHING_NICENESS = 19  # the lowest: hashing takes only the CPU nothing else wants


def _lower_priority() -> None:
    with contextlib.suppress(AttributeError, OSError):  # not Linux, or not permitted: as is
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICENESS)


_hashing = ThreadPoolExecutor(HASHING_CONCURRENCY, thread_name_prefix="argon2", initializer=_lower_priority)


async def hash_password_async(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(_hashing, _hasher.hash, password)


async def verify_password_async(password: str, password_hash: str) -> bool:
    return await asyncio.get_running_loop().run_in_executor(_hashing, _hasher.verify, password, password_hash)


@dataclass(frozen=True)
class TokenClaims:
    """Who a request is. `role` and `subscription_active` are the user's current ones (read from
    the database by app/services/accounts/user_state.py), not the token's claims."""

    user_id: uuid.UUID
    role: str
    profile_id: uuid.UUID | None
    subscription_active: bool
    token_id: str = ""  # the access token's `jti` (signing out revokes it)
    epoch: int = 0  # the user's token epoch when it was issued (`ep`)
    expires_at: float = 0.0  # `exp`, epoch seconds

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
        "typ": ACCESS,
        "jti": uuid.uuid4().hex,
        "ep": user.token_epoch,
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
        data = verified_tokens.decode(token, settings.jwt_secret, ["exp", "sub", "role", "jti"])
        # The cache keeps tokens verified with other required claims (a playback token): check here.
        if data.get("typ") != ACCESS:
            raise InvalidToken("not an access token")
        if not isinstance(data["exp"], int | float) or data["exp"] <= time.time():
            raise InvalidToken("expired")
        profile = data.get("profile_id")
        return TokenClaims(
            user_id=uuid.UUID(str(data["sub"])),
            role=str(data["role"]),
            profile_id=uuid.UUID(str(profile)) if profile else None,
            subscription_active=bool(data.get("sub_active", False)),
            token_id=str(data["jti"]),
            epoch=int(data.get("ep", 0)),
            expires_at=float(data["exp"]),
        )
    except (jwt.PyJWTError, KeyError, ValueError, TypeError) as exc:
        raise InvalidToken(str(exc)) from exc


class LoginThrottle:
    """Failed logins over a sliding minute, counted two ways (per process):

    - per client address (`per_address`): a flood of guesses from one address, whatever e-mails it
      tries, gets 429 before any password is hashed;
    - per (e-mail, address) (`limit`): guesses at one account from one address. Not per e-mail
      alone: then ten wrong passwords from anywhere would lock the real owner out from everywhere.
      Guessing one account from many addresses is slowed by each address's own limits instead.

    Memory is bounded: at most `max_keys` keys (the least recently failed dropped first), each
    holding at most its limit of timestamps."""

    def __init__(
        self, limit: int = 10, window_s: float = 60.0, per_address: int = 30, max_keys: int = 10_000
    ) -> None:
        self.limit = limit
        self.per_address = per_address
        self.window_s = window_s
        self.max_keys = max_keys
        self._failures: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _count(self, key: tuple[str, str], now: float) -> int:
        q = self._failures.get(key)
        if q is None:
            return 0
        while q and q[0] <= now - self.window_s:
            q.popleft()
        if not q:
            del self._failures[key]
            return 0
        return len(q)

    def _add(self, key: tuple[str, str], now: float, cap: int) -> None:
        q = self._failures.pop(key, None)
        if q is None:
            q = deque(maxlen=cap)
        q.append(now)
        self._failures[key] = q  # most recent last
        while len(self._failures) > self.max_keys:
            self._failures.popitem(last=False)

    def blocked(self, email: str, address: str = "") -> bool:
        now = time.monotonic()
        with self._lock:
            return (
                self._count(("", address), now) >= self.per_address
                or self._count((email.lower(), address), now) >= self.limit
            )

    def record_failure(self, email: str, address: str = "") -> None:
        with self._lock:
            now = time.monotonic()
            self._add(("", address), now, self.per_address)
            self._add((email.lower(), address), now, self.limit)

    def address_blocked(self, address: str) -> bool:
        """Whether this process has seen the address reach its limit (the login route's fast refusal,
        before the request is parsed: app/routers/auth.py `LoginFloodGuard`)."""
        now = time.monotonic()
        with self._lock:
            return self._count(("", address), now) >= self.per_address

    def reset(self, email: str, address: str = "") -> None:
        with self._lock:
            self._failures.pop((email.lower(), address), None)

    def _forgive(self, email: str, address: str) -> None:
        with self._lock:
            for key in (("", address), (email.lower(), address)):
                q = self._failures.get(key)
                if q:
                    q.pop()

    def __len__(self) -> int:
        return len(self._failures)

    # The login endpoint's interface (a shared throttle answers from the database).
    async def is_blocked(self, session: AsyncSession, email: str, address: str = "") -> bool:
        return self.blocked(email, address)

    async def note_failure(self, session: AsyncSession, email: str, address: str = "") -> None:
        self.record_failure(email, address)

    async def forgive(self, session: AsyncSession, email: str, address: str = "") -> None:
        """The attempt noted before checking the password succeeded: it was no failure."""
        self._forgive(email, address)


class SharedLoginThrottle(LoginThrottle):
    """Failed logins counted in the database (`login_failures`) over the database clock's sliding
    minute, so every API replica behind the load balancer counts the same attempts (TSTV_ROLE=api;
    two replicas answering at the same instant may let one attempt more through). The same two
    counts as `LoginThrottle`; bounded because a blocked attempt adds no row and every failure
    deletes the rows past the window: at most `per_address` rows per address and minute."""

    async def is_blocked(self, session: AsyncSession, email: str, address: str = "") -> bool:
        recent = LoginFailure.failed_at > func.now() - timedelta(seconds=self.window_s)
        row = (
            await session.execute(
                select(
                    func.count(),
                    func.count().filter(LoginFailure.email == email.lower()),
                )
                .select_from(LoginFailure)
                .where(LoginFailure.address == address, recent)
            )
        ).one()
        return int(row[0] or 0) >= self.per_address or int(row[1] or 0) >= self.limit

    async def note_failure(self, session: AsyncSession, email: str, address: str = "") -> None:
        self.record_failure(email, address)  # this replica's own count too, for the fast refusal
        # Past the window nothing counts: drop it (any e-mail); the table holds a minute of failures.
        await session.execute(
            delete(LoginFailure).where(
                LoginFailure.failed_at <= func.now() - timedelta(seconds=self.window_s)
            )
        )
        await session.execute(
            insert(LoginFailure).values(email=email.lower(), address=address, failed_at=func.now())
        )
        await session.commit()

    async def forgive(self, session: AsyncSession, email: str, address: str = "") -> None:
        self._forgive(email, address)
        newest = (
            select(func.max(LoginFailure.id))
            .where(LoginFailure.email == email.lower(), LoginFailure.address == address)
            .scalar_subquery()
        )
        await session.execute(delete(LoginFailure).where(LoginFailure.id == newest))
        await session.commit()


async def authenticate(session: AsyncSession, email: str, password: str) -> User | None:
    user = await session.scalar(
        select(User).options(selectinload(User.profiles)).where(User.email == email.lower())
    )
    # End the transaction before hashing: the connection goes back to the pool for the tens of
    # milliseconds (more in a queue) the hash takes, and the user stays loaded (expire_on_commit off).
    await session.commit()
    if user is None:
        await verify_password_async(password, _DUMMY_HASH)
        return None
    return user if await verify_password_async(password, user.password_hash) else None


def default_profile(user: User) -> Profile | None:
    for p in user.profiles:
        if p.is_default:
            return p
    return user.profiles[0] if user.profiles else None
