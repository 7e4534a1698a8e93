from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictFloat

from app.schemas.catalogue import ChannelRefOut

ContentType = Literal["movie", "episode", "tstv_catchup", "tstv_startover"]


class BookmarkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Strict: a string or boolean is refused as the schema says, not converted.
    position_seconds: StrictFloat = Field(
        ge=0,
        le=7 * 24 * 3600,
        allow_inf_nan=False,
        description="At most `duration_seconds` (TSTV types: the programme's duration), else 422",
    )
    duration_seconds: StrictFloat | None = Field(default=None, gt=0, le=7 * 24 * 3600, allow_inf_nan=False)


class BookmarkOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    content_type: str
    content_id: uuid.UUID
    position_seconds: float
    duration_seconds: float | None
    updated_at: datetime


class ContinueWatchingItemOut(BaseModel):
    content_type: str
    content_id: uuid.UUID
    position_seconds: float
    duration_seconds: float | None
    progress: float | None = Field(description="position / duration, 0..1 when the duration is known")
    updated_at: datetime
    # TSTV items only
    title: str | None = None
    channel: ChannelRefOut | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    expires_at: datetime | None = None
    playback: Literal["catchup", "startover"] | None = Field(
        default=None, description="How the item plays now (TSTV items)"
    )


class ContinueWatchingOut(BaseModel):
    items: list[ContinueWatchingItemOut]
