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
# Cloud recordings (network PVR).
NO_LONGER_AVAILABLE = "no_longer_available"
NOT_IN_GUIDE_YET = "not_in_guide_yet"
NOT_RECORDED_YET = "not_recorded_yet"
GUIDE_HORIZON = timedelta(days=7)


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


# ---- cloud recordings -------------------------------------------------------------------------
# A recording is a pointer to the programme's range of the archive, played with the catch-up
# playlist; the same rights apply (the channel allows catch-up, the programme is eligible), but not
# the catch-up window: a recording lasts `retention_days` after the programme ended.


def recordable(channel: ChannelRights, entry: EntryRights) -> bool:
    """Rights a recording needs at all: the catch-up rights, on a channel with an archive."""
    return bool(
        channel.cdn_channel_key
        and channel.tstv_enabled
        and channel.catchup_enabled
        and entry.catchup_eligible
    )


def recording_expires_at(entry: EntryRights, retention_days: int) -> datetime:
    return entry.end_time + timedelta(days=retention_days)


def record_decision(
    channel: ChannelRights, entry: EntryRights, now: datetime, archive: ArchiveView
) -> Decision:
    """May a viewer record this programme now? Upcoming (within the guide's 7 days), on air, or
    aired and still offered on catch-up."""
    if not recordable(channel, entry):
        return Decision(False, PROGRAM_NOT_ELIGIBLE)
    if entry.start_time >= now + GUIDE_HORIZON:
        return Decision(False, NOT_IN_GUIDE_YET)
    if now < entry.end_time:
        return Decision(True)
    catchup = catchup_decision(channel, entry, now, archive)
    if catchup.allowed:
        return catchup
    # Expired from catch-up, or never in the archive: there is nothing left to record.
    return Decision(False, NO_LONGER_AVAILABLE, catchup.expires_at)


def recording_playback_decision(
    channel: ChannelRights, entry: EntryRights, now: datetime, archive: ArchiveView, retention_days: int
) -> Decision:
    """May the owner of a recording start playing it now (its VOD playlist)?"""
    expires_at = recording_expires_at(entry, retention_days)
    if not recordable(channel, entry):
        return Decision(False, PROGRAM_NOT_ELIGIBLE, expires_at)
    if now < entry.end_time:
        return Decision(False, NOT_RECORDED_YET, expires_at)
    if now >= expires_at:
        return Decision(False, NO_LONGER_AVAILABLE, expires_at)
    if not channel.cdn_channel_key or not archive.holds(
        channel.cdn_channel_key, entry.start_time, entry.end_time
    ):
        return Decision(False, NOT_RECORDED, expires_at)
    return Decision(True, None, expires_at)
