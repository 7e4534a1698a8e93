from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat

from app.schemas.patterns import CHANNEL_KEY


class SessionCreateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel_id: str = Field(pattern=CHANNEL_KEY, description="The channel's CDN key")
    schedule_entry_id: uuid.UUID
    session_type: Literal["startover", "catchup"]
    profile_id: uuid.UUID | None = None


class SessionHeartbeatIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Strict: a string or boolean is refused as the schema says, not converted.
    last_position_s: StrictFloat | None = Field(
        default=None,
        ge=0,
        le=7 * 24 * 3600,
        allow_inf_nan=False,
        description="At most the programme's duration, else 422",
    )
    completed: StrictBool | None = None


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
