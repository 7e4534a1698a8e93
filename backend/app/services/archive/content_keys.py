"""The ClearKey KMS: one active content key per channel, rotation that keeps old keys.

Creating or rotating a key first takes a write lock on the channel row (a no-op UPDATE: a row lock on
PostgreSQL, the database write lock on SQLite), so concurrent requests never leave a channel with two
active keys; reads of an existing key take no lock.
"""

from __future__ import annotations

import base64
import binascii
import os
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.models import Channel, DrmKey
from app.services.archive.archive_layout import is_channel_key


def b64url_encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict base64url (padding optional); raises ValueError on anything else."""
    if not text or len(text) > 64 or any(c not in _B64URL for c in text.rstrip("=")):
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text.rstrip("=") + "=" * (-len(text.rstrip("=")) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64url") from exc


_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def parse_kid(text: str) -> uuid.UUID:
    """A KID as 32 hex digits, a UUID with dashes, or 22-character base64url; ValueError otherwise."""
    if len(text) in (32, 36):
        return uuid.UUID(text)
    raw = b64url_decode(text)
    if len(raw) != 16:
        raise ValueError("a KID is 16 bytes")
    return uuid.UUID(bytes=raw)


async def channel_by_key(session: AsyncSession, channel_key: str) -> Channel | None:
    if not is_channel_key(channel_key):
        return None
    channel: Channel | None = await session.scalar(
        select(Channel).where(Channel.cdn_channel_key == channel_key)
    )
    return channel


async def active_key(session: AsyncSession, channel_id: uuid.UUID) -> DrmKey | None:
    key: DrmKey | None = await session.scalar(
        select(DrmKey)
        .where(DrmKey.channel_id == channel_id, DrmKey.active.is_(True))
        .order_by(DrmKey.created_at.desc(), DrmKey.id.desc())
        .limit(1)
    )
    return key


async def _lock_channel(session: AsyncSession, channel_id: uuid.UUID) -> None:
    await session.execute(
        update(Channel).where(Channel.id == channel_id).values(loop_seconds=Channel.loop_seconds)
    )


def _new_key(channel_id: uuid.UUID) -> DrmKey:
    return DrmKey(
        key_id=uuid.uuid4(),
        key_value=os.urandom(16),
        channel_id=channel_id,
        active=True,
        created_at=clock.now(),
    )


async def get_or_create_active_key(session: AsyncSession, channel: Channel) -> DrmKey:
    """The channel's active key, created (and committed) if it has none."""
    existing = await active_key(session, channel.id)
    if existing is not None:
        return existing
    await _lock_channel(session, channel.id)
    existing = await active_key(session, channel.id)  # someone may have won the race
    if existing is not None:
        await session.commit()
        return existing
    key = _new_key(channel.id)
    session.add(key)
    await session.commit()
    return key


async def rotate_key(session: AsyncSession, channel: Channel) -> tuple[DrmKey, DrmKey | None]:
    """Create a new active key; the previous one stays (inactive) for older catch-up. Commits."""
    await _lock_channel(session, channel.id)
    now = clock.now()
    old = await active_key(session, channel.id)
    await session.execute(
        update(DrmKey)
        .where(DrmKey.channel_id == channel.id, DrmKey.active.is_(True))
        .values(
            active=False,
            rotated_at=now,
            # Segments under the old key are gone once retention passes them.
            expires_at=now + timedelta(hours=max(channel.catchup_window_hours, channel.cutv_window_hours)),
        )
    )
    key = _new_key(channel.id)
    session.add(key)
    await session.commit()
    if old is not None:
        await session.refresh(old)
    return key, old


@dataclass(frozen=True)
class KeyHistory:
    active: DrmKey | None
    rotated: list[DrmKey]  # newest first, at most the limit asked for
    rotated_total: int


async def key_history(session: AsyncSession, channel_id: uuid.UUID, limit: int) -> KeyHistory:
    """The channel's active key and its rotated-out keys, newest first. Reads only: unlike
    `get_or_create_active_key`, a channel without a key gets none here."""
    rows = list(
        await session.scalars(
            select(DrmKey)
            .where(DrmKey.channel_id == channel_id)
            .order_by(DrmKey.active.desc(), DrmKey.created_at.desc(), DrmKey.id.desc())
            .limit(limit + 1)
        )
    )
    active = rows[0] if rows and rows[0].active else None
    rotated = [k for k in rows if not k.active][:limit]
    total = await session.scalar(
        select(func.count())
        .select_from(DrmKey)
        .where(DrmKey.channel_id == channel_id, DrmKey.active.is_(False))
    )
    return KeyHistory(active, rotated, int(total or 0))


async def keys_by_kid(session: AsyncSession, kids: list[uuid.UUID]) -> dict[uuid.UUID, DrmKey]:
    if not kids:
        return {}
    rows = (await session.scalars(select(DrmKey).where(DrmKey.key_id.in_(kids)))).all()
    return {k.key_id: k for k in rows}
