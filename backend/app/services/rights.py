"""Eligibility: the one place that decides start-over and catch-up rights (SPEC §3).

Every listing and every playlist calls these functions; nothing else re-derives the rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

# Reason codes, also the `detail` of the 403/404 answers.
STARTOVER_NOT_ALLOWED = "startover_not_allowed"
PROGRAM_NOT_ELIGIBLE = "program_not_eligible"
WINDOW_EXPIRED = "catch_up_window_expired"
NOT_AVAILABLE_YET = "catchup_not_available_yet"
NOT_RECORDED = "not_recorded"
NOT_ON_AIR = "not_on_air"


class ArchiveView(Protocol):
    """What the rights need from the archive: does it hold any media of this time range?"""

    def holds(self, channel_key: str, start: datetime, end: datetime) -> bool: ...


class ChannelRights(Protocol):
    """What the rules read of a channel (an ORM row, or a listing's lighter row)."""

    @property
    def cdn_channel_key(self) -> str | None: ...
    @property
    def tstv_enabled(self) -> bool: ...
    @property
    def startover_enabled(self) -> bool: ...
    @property
    def catchup_enabled(self) -> bool: ...
    @property
    def cutv_window_hours(self) -> int: ...


class EntryRights(Protocol):
    """What the rules read of a programme."""

    @property
    def start_time(self) -> datetime: ...
    @property
    def end_time(self) -> datetime: ...
    @property
    def catchup_eligible(self) -> bool: ...
    @property
    def startover_eligible(self) -> bool: ...


class EmptyArchive:
    def holds(self, channel_key: str, start: datetime, end: datetime) -> bool:
        return False


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str | None = None
    expires_at: datetime | None = None


def catchup_expires_at(channel: ChannelRights, entry: EntryRights) -> datetime:
    return entry.end_time + timedelta(hours=channel.cutv_window_hours)


def startover_decision(channel: ChannelRights, entry: EntryRights, now: datetime) -> Decision:
    if not (channel.tstv_enabled and channel.startover_enabled and entry.startover_eligible):
        return Decision(False, STARTOVER_NOT_ALLOWED)
    if not (entry.start_time <= now < entry.end_time):
        return Decision(False, NOT_ON_AIR)
    return Decision(True)


def catchup_rights(channel: ChannelRights, entry: EntryRights, now: datetime) -> Decision:
    """Catch-up rights ignoring the archive (cheap: usable in SQL-backed listings' post-filter)."""
    expires_at = catchup_expires_at(channel, entry)
    if not (channel.tstv_enabled and channel.catchup_enabled and entry.catchup_eligible):
        return Decision(False, PROGRAM_NOT_ELIGIBLE, expires_at)
    if now < entry.end_time:
        return Decision(False, NOT_AVAILABLE_YET, expires_at)
    if now >= expires_at:
        return Decision(False, WINDOW_EXPIRED, expires_at)
    return Decision(True, None, expires_at)


def catchup_decision(
    channel: ChannelRights, entry: EntryRights, now: datetime, archive: ArchiveView
) -> Decision:
    """Full catch-up eligibility: rights, window, and the archive holding part of the programme."""
    rights = catchup_rights(channel, entry, now)
    if not rights.allowed:
        return rights
    if not channel.cdn_channel_key or not archive.holds(
        channel.cdn_channel_key, entry.start_time, entry.end_time
    ):
        return Decision(False, NOT_RECORDED, rights.expires_at)
    return rights
