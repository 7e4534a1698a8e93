"""What a viewer can do with a programme now: the one shaping of rights that the guide, a channel's
day schedule and a single programme share (the decisions themselves are `rights`')."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from app.domain import rights
from app.services.archive import stills

Status = Literal["aired", "on_air", "upcoming"]


@dataclass(frozen=True, slots=True)
class ProgrammeState:
    status: Status
    startover_available: bool  # on air and start-over allowed
    catchup: rights.Decision | None  # once aired: available or why not, and `expires_at`
    has_still: bool  # the archive holds the frame its still is taken from


def status_at(entry: rights.EntryRights, now: datetime) -> Status:
    if now < entry.start_time:
        return "upcoming"
    return "on_air" if now < entry.end_time else "aired"


def programme_state(
    channel: rights.ChannelRights, entry: rights.EntryRights, now: datetime, archive: rights.ArchiveView
) -> ProgrammeState:
    status = status_at(entry, now)
    catchup = rights.catchup_decision(channel, entry, now, archive) if status == "aired" else None
    return ProgrammeState(
        status=status,
        startover_available=status == "on_air" and rights.startover_decision(channel, entry, now).allowed,
        catchup=catchup,
        has_still=stills.has_still(archive, channel.cdn_channel_key, entry, now),
    )
