"""Eligibility: the one place that decides start-over and catch-up rights (docs/PRODUCT.md, 'Eligibility').

Every listing and every playlist calls these functions; nothing else re-derives the rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, Protocol, TypeVar

# Reason codes, also the `detail` of the 403/404 answers.
STARTOVER_NOT_ALLOWED = "startover_not_allowed"
PROGRAM_NOT_ELIGIBLE = "program_not_eligible"
WINDOW_EXPIRED = "catch_up_window_expired"
NOT_AVAILABLE_YET = "catchup_not_available_yet"
NOT_RECORDED = "not_recorded"
NOT_ON_AIR = "not_on_air"
# A time range of the archive (any span, not one programme).
RANGE_OUTSIDE_WINDOW = "range_outside_window"
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


def startover_switched_on(channel: ChannelRights, entry: EntryRights) -> bool:
    """The operator's start-over switches (channel and programme), whatever the time. A licence of a
    started playback reads these again: revoking them stops it, the clock does not."""
    return channel.tstv_enabled and channel.startover_enabled and entry.startover_eligible


def catchup_switched_on(channel: ChannelRights, entry: EntryRights) -> bool:
    """The operator's catch-up switches (channel and programme), whatever the time."""
    return channel.tstv_enabled and channel.catchup_enabled and entry.catchup_eligible


def startover_decision(channel: ChannelRights, entry: EntryRights, now: datetime) -> Decision:
    if not startover_switched_on(channel, entry):
        return Decision(False, STARTOVER_NOT_ALLOWED)
    if not (entry.start_time <= now < entry.end_time):
        return Decision(False, NOT_ON_AIR)
    return Decision(True)


def catchup_rights(channel: ChannelRights, entry: EntryRights, now: datetime) -> Decision:
    """Catch-up rights ignoring the archive (cheap: usable in SQL-backed listings' post-filter)."""
    expires_at = catchup_expires_at(channel, entry)
    if not catchup_switched_on(channel, entry):
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


# ---- a time range of the archive ---------------------------------------------------------------
# Any span of a channel's archive inside its viewer window (docs/PRODUCT.md, 'Time ranges'): every
# programme the range touches must be playable on its own, by the right that covers it at that
# moment (catch-up once it has aired, start-over while it is on air), else the whole range is
# refused naming the first one that is not; never cut at it.


E = TypeVar("E", bound=EntryRights)


@dataclass(frozen=True)
class RangeDecision(Generic[E]):
    allowed: bool
    reason: str | None = None
    entry: E | None = None  # the programme refused, if one is
    window: tuple[datetime, datetime] | None = None  # the viewer window, when the range is outside it


def range_window(channel: ChannelRights, now: datetime) -> tuple[datetime, datetime]:
    """What a viewer may play of a channel's archive: the last `cutv_window_hours` up to now."""
    return now - timedelta(hours=channel.cutv_window_hours), now


def _programme_in_range(channel: ChannelRights, entry: EntryRights, now: datetime) -> Decision:
    if now < entry.end_time:
        return startover_decision(channel, entry, now)
    return catchup_rights(channel, entry, now)


def range_decision(
    channel: ChannelRights, entries: Iterable[E], start: datetime, end: datetime, now: datetime
) -> RangeDecision[E]:
    """May a viewer start playing [start, end) of the channel's archive? `entries` are the
    programmes the range touches, in time order. (Whether the archive holds any of it is the
    caller's: a range is not one programme, so it has no `not_recorded` of its own here.)"""
    window = range_window(channel, now)
    if start < window[0] or end > window[1]:
        return RangeDecision(False, RANGE_OUTSIDE_WINDOW, window=window)
    if not (channel.tstv_enabled and channel.catchup_enabled):
        return RangeDecision(False, PROGRAM_NOT_ELIGIBLE)
    for entry in entries:
        d = _programme_in_range(channel, entry, now)
        if not d.allowed:
            return RangeDecision(False, d.reason, entry)
    return RangeDecision(True)


def range_switched_on(channel: ChannelRights, entries: Iterable[E], now: datetime) -> RangeDecision[E]:
    """A started range's rights read again (a licence): refused, naming the programme, when the
    operator has since switched off the right `range_decision` applied to one of its programmes.
    As for a single programme, time does not stop a started playback; switches do."""
    if not (channel.tstv_enabled and channel.catchup_enabled):
        return RangeDecision(False, PROGRAM_NOT_ELIGIBLE)
    for entry in entries:
        if now < entry.end_time and not startover_switched_on(channel, entry):
            return RangeDecision(False, STARTOVER_NOT_ALLOWED, entry)
        if now >= entry.end_time and not catchup_switched_on(channel, entry):
            return RangeDecision(False, PROGRAM_NOT_ELIGIBLE, entry)
    return RangeDecision(True)


# ---- cloud recordings -------------------------------------------------------------------------
# A recording is a pointer to the programme's range of the archive, played with the catch-up
# playlist; the same rights apply (the channel allows catch-up, the programme is eligible), but not
# the catch-up window: a recording lasts `retention_days` after the programme ended.


def recordable(channel: ChannelRights, entry: EntryRights) -> bool:
    """Rights a recording needs at all: the catch-up rights, on a channel with an archive."""
    return bool(channel.cdn_channel_key and catchup_switched_on(channel, entry))


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
    """May the owner of a recording start playing it now? Once the programme has begun: while it
    airs it plays from its start as start-over does (a growing playlist), after it as VOD."""
    expires_at = recording_expires_at(entry, retention_days)
    if not recordable(channel, entry):
        return Decision(False, PROGRAM_NOT_ELIGIBLE, expires_at)
    if now < entry.start_time:
        return Decision(False, NOT_RECORDED_YET, expires_at)
    if now >= expires_at:
        return Decision(False, NO_LONGER_AVAILABLE, expires_at)
    if not channel.cdn_channel_key or not archive.holds(
        channel.cdn_channel_key, entry.start_time, min(entry.end_time, now)
    ):
        return Decision(False, NOT_RECORDED, expires_at)
    return Decision(True, None, expires_at)
