"""Which channels have an encoder: those with a valid CDN channel key and a loop length."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Channel
from app.services.archive import archive_layout as layout


class EncoderChannel(NamedTuple):
    key: str
    name: str
    loop_seconds: int


def encoder_channel(ch: Channel) -> EncoderChannel | None:
    """What the encoder of `ch` needs of it; None for a channel without one."""
    key = ch.cdn_channel_key
    if key is None or not layout.is_channel_key(key) or not ch.loop_seconds:
        return None
    return EncoderChannel(key, ch.name, ch.loop_seconds)


async def encoder_channels(session: AsyncSession) -> list[EncoderChannel]:
    """Every channel with an encoder, in channel-number order."""
    found = await session.scalars(
        select(Channel).where(Channel.cdn_channel_key.is_not(None)).order_by(Channel.number)
    )
    return [enc for ch in found.all() if (enc := encoder_channel(ch)) is not None]
