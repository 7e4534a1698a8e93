from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class SessionCreateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel_id: str = Field(min_length=1, max_length=20, description="The channel's CDN key")
    schedule_entry_id: uuid.UUID
    session_type: Literal["startover", "catchup"]
    profile_id: uuid.UUID | None = None


class SessionHeartbeatIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    last_position_s: float | None = Field(default=None, ge=0, le=7 * 24 * 3600, allow_inf_nan=False)
    completed: bool | None = None


class SessionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    profile_id: uuid.UUID
    channel_id: str
    schedule_entry_id: uuid.UUID
    session_type: str
    started_at: datetime
    updated_at: datetime
    last_position_s: float
    completed: bool
