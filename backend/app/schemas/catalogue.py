from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from app.schemas.epg import ScheduleEntryOut


class TstvChannelOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    number: int
    logo_url: str | None
    cdn_channel_key: str | None
    tstv_enabled: bool
    startover_enabled: bool
    catchup_enabled: bool
    cutv_window_hours: int


class TstvChannelsOut(BaseModel):
    channels: list[TstvChannelOut]


class ChannelRefOut(BaseModel):
    """The channel of a listed programme, as every listing item carries it."""

    id: uuid.UUID
    name: str
    cdn_channel_key: str | None


class CatchupProgramOut(BaseModel):
    schedule_entry: ScheduleEntryOut
    channel: ChannelRefOut
    duration_seconds: float
    expires_at: datetime
    bookmark_position_seconds: float | None


class CatchupChannelListOut(BaseModel):
    channel_id: uuid.UUID
    programs: list[CatchupProgramOut]
    total: int
    limit: int
    offset: int


class CatchupDayListOut(BaseModel):
    date: str
    tz: str
    programs: list[CatchupProgramOut]
    total: int
    limit: int
    offset: int
