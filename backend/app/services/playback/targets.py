"""What a playback request is about: its form (`Mode`), what a playlist covers (`Target`, carried
inside the playback token), a started playback (`Grant`) and a resolved request (`Resolved`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from app.services.playback.rights_cache import ChannelRow, EntryRow


class Mode:
    LIVE = "live"
    STARTOVER = "startover"
    CATCHUP = "catchup"
    # A cloud recording: the catch-up (VOD) playlist of its programme, past the catch-up window.
    RECORDING = "recording"
    # Any time range of a channel's archive (VOD), whatever programmes it spans.
    RANGE = "range"


@dataclass(frozen=True)
class Target:
    """What a playlist covers. Carried inside the playback token, so media playlists of a started
    playback are served without touching the database."""

    mode: str
    channel_id: uuid.UUID
    channel_key: str
    entry_id: uuid.UUID | None = None
    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True)
class Grant:
    """A playback token (`pb`), the target it covers and when it expires (epoch seconds)."""

    target: Target
    token: str
    expires: int


@dataclass(frozen=True)
class Resolved:
    target: Target
    channel: ChannelRow
    entry: EntryRow | None
    entries: tuple[EntryRow, ...] = ()  # a range: every programme it touches
