from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ScheduleEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    channel_id: uuid.UUID
    title: str
    synopsis: str | None
    genre: str | None
    start_time: datetime
    end_time: datetime
    series_title: str | None = None
    series_id: str | None = None
    season_number: int | None = None
    episode_number: int | None = None
    catchup_eligible: bool
    startover_eligible: bool


class ChannelOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    number: int
    genre: str | None
    logo_url: str | None
    cdn_channel_key: str | None
    tstv_enabled: bool
    startover_enabled: bool
    catchup_enabled: bool
    cutv_window_hours: int


class EpgChannelOut(ChannelOut):
    now: ScheduleEntryOut | None


class EpgChannelsOut(BaseModel):
    channels: list[EpgChannelOut]


class CatchupStateOut(BaseModel):
    available: bool
    reason: str | None = Field(
        description="Why not: `program_not_eligible`, `catch_up_window_expired` or `not_recorded`"
    )
    expires_at: datetime


class EpgScheduleEntryOut(ScheduleEntryOut):
    """A programme with what a viewer can do with it now."""

    status: Literal["aired", "on_air", "upcoming"]
    on_air: bool
    startover_available: bool = Field(description="On air, and start-over is allowed")
    catchup: CatchupStateOut | None = Field(default=None, description="Once aired: catch-up or why not")
    still_url: str | None = Field(
        default=None,
        description="Its still (JPEG, 320x180, no token needed) once its recording holds the frame "
        "the still is taken from; null: show the channel logo",
    )


class EpgProgrammeOut(EpgScheduleEntryOut):
    """One programme with what a viewer can do with it now."""

    channel: ChannelOut


class EpgScheduleOut(BaseModel):
    channel_id: uuid.UUID
    date: str
    tz: str
    entries: list[EpgScheduleEntryOut]


class EpgGuideEntryOut(EpgScheduleEntryOut):
    bookmark_position_seconds: float | None = Field(
        description="Where the profile stopped (furthest of catch-up and start-over): *Resume*"
    )


class EpgGuideChannelOut(ChannelOut):
    entries: list[EpgGuideEntryOut] = Field(
        description="Programmes overlapping the day, in air order (the first may start the day "
        "before, the last end the day after)"
    )


class EpgGuideOut(BaseModel):
    date: str = Field(description="The local day shown (YYYY-MM-DD)")
    tz: str
    start: datetime = Field(description="Its local midnight")
    end: datetime = Field(description="The next local midnight (23 or 25 hours later across a DST change)")
    now: datetime = Field(description="The server's clock when answering: where the *now* line is")
    earliest_date: str = Field(description="The first day a guide shows (7 days back)")
    latest_date: str = Field(description="The last day a guide shows (7 days ahead)")
    channels: list[EpgGuideChannelOut] = Field(description="Every channel, by number")
