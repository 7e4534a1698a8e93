"""Helpers for playlist tests: a private channel with a known schedule, and m3u8 parsing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import m3u8
from fastapi import FastAPI

from app.models import Channel, ScheduleEntry
from tests.archive_factory import create_recorded_channel


@dataclass
class ArchiveChannel:
    channel: Channel
    entries: list[ScheduleEntry]

    @property
    def key(self) -> str:
        assert self.channel.cdn_channel_key
        return self.channel.cdn_channel_key


async def create_channel(
    app: FastAPI, first_start: datetime, programme_seconds: int, count: int, **channel_fields: Any
) -> ArchiveChannel:
    """A private TSTV channel with `count` back-to-back programmes starting at `first_start`."""
    channel, entries = await create_recorded_channel(
        app, first_start, programme_seconds, count, **channel_fields
    )
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
