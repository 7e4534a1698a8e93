"""Helpers for playlist tests: a private channel with a known schedule, and m3u8 parsing."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import m3u8
from fastapi import FastAPI

from app.models import Channel, ScheduleEntry


@dataclass
class ArchiveChannel:
    channel: Channel
    entries: list[ScheduleEntry]

    @property
    def key(self) -> str:
        assert self.channel.cdn_channel_key
        return self.channel.cdn_channel_key


async def create_channel(
    app: FastAPI, first_start: datetime, programme_seconds: int, count: int, **channel_fields: object
) -> ArchiveChannel:
    """A TSTV channel with `count` back-to-back programmes starting at `first_start`."""
    key = "t" + secrets.token_hex(4)
    async with app.state.db.sessionmaker() as session:
        channel = Channel(
            name=f"Test {key}",
            number=10_000 + secrets.randbelow(1_000_000),
            cdn_channel_key=key,
            loop_seconds=programme_seconds,
            **channel_fields,
        )
        session.add(channel)
        await session.flush()
        entries = [
            ScheduleEntry(
                id=uuid.uuid4(),
                channel_id=channel.id,
                title=f"Programme {i}",
                genre="Test",
                start_time=first_start + timedelta(seconds=i * programme_seconds),
                end_time=first_start + timedelta(seconds=(i + 1) * programme_seconds),
            )
            for i in range(count)
        ]
        session.add_all(entries)
        await session.commit()
    return ArchiveChannel(channel, entries)


async def get_playlist(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> m3u8.M3U8:
    r = await client.get(url, headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vnd.apple.mpegurl")
    return m3u8.loads(r.text, uri=str(r.url))


async def media_playlists(
    client: httpx.AsyncClient, master_url: str, headers: dict[str, str]
) -> tuple[m3u8.M3U8, dict[str, m3u8.M3U8]]:
    """The master playlist and its video and audio media playlists, all fetched like a player would."""
    master = await get_playlist(client, master_url, headers)
    assert master.is_variant
    video_uri = master.playlists[0].absolute_uri
    audio_uri = master.media[0].absolute_uri
    return master, {
        "video": await get_playlist(client, video_uri, headers),
        "audio": await get_playlist(client, audio_uri, headers),
    }
