from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict


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
    reason: str | None
    expires_at: datetime


class EpgScheduleEntryOut(ScheduleEntryOut):
    on_air: bool
    catchup: CatchupStateOut | None = None


class EpgProgrammeOut(EpgScheduleEntryOut):
    """One programme with what a viewer can do with it now."""

    channel: ChannelOut
    startover_available: bool


class EpgScheduleOut(BaseModel):
    channel_id: uuid.UUID
    date: str
    tz: str
    entries: list[EpgScheduleEntryOut]
