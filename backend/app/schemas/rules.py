from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

CutvWindow = Literal[2, 6, 12, 24, 48, 72, 168]
CUTV_WINDOWS: tuple[int, ...] = (2, 6, 12, 24, 48, 72, 168)
MAX_RETENTION_HOURS = 24 * 31


class ChannelRulesOut(BaseModel):
    channel_id: uuid.UUID
    channel_name: str
    cdn_channel_key: str | None
    tstv_enabled: bool
    startover_enabled: bool
    catchup_enabled: bool
    cutv_window_hours: int
    catchup_window_hours: int


class RulesOut(BaseModel):
    channels: list[ChannelRulesOut]


class ChannelRulesIn(BaseModel):
    """Partial update: only the fields sent change. Nulls are refused (422)."""

    model_config = ConfigDict(extra="forbid")

    tstv_enabled: bool | None = None
    startover_enabled: bool | None = None
    catchup_enabled: bool | None = None
    cutv_window_hours: CutvWindow | None = Field(default=None, description="Viewer window, hours")
    catchup_window_hours: int | None = Field(
        default=None, ge=1, le=MAX_RETENTION_HOURS, description="Retention on disk, hours (>= cutv window)"
    )


class EntryRightsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    startover_eligible: bool | None = None
    catchup_eligible: bool | None = None
