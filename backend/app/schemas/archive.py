from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field


class TimeRangeOut(BaseModel):
    start: datetime
    end: datetime
    seconds: float = Field(description="end - start")


class WindowOut(BaseModel):
    start: datetime = Field(description="now - hours")
    end: datetime = Field(description="now")
    hours: int


class KeyChangeOut(BaseModel):
    at: datetime = Field(description="First frame recorded under the new key")
    key_id: uuid.UUID | None = Field(description="The new key (null: recorded unencrypted)")
    previous_key_id: uuid.UUID | None


class ChannelCoverageOut(BaseModel):
    channel_key: str
    channel_name: str
    retention_window: WindowOut = Field(
        description="What retention keeps on disk: max(`catchup_window_hours`, `cutv_window_hours`)"
    )
    viewer_window: WindowOut = Field(description="Catch-up offered to viewers (`cutv_window_hours`)")
    recorded: list[TimeRangeOut] = Field(description="Recorded stretches inside the retention window")
    gaps: list[TimeRangeOut] = Field(
        description="Unrecorded stretches inside the retention window (encoder down, not yet running, "
        "or stopped now); the segment being written at the live edge is not a gap"
    )
    recorded_hours: float = Field(description="Hours recorded inside the retention window (exact)")
    merged_gaps: int = Field(
        description="Gaps left out to bound the answer (the shortest ones, joined into `recorded`); "
        "0 unless the window holds more than 500 recorded stretches"
    )
    recorded_until: datetime | None = Field(description="End of the newest recorded video")
    key_changes: list[KeyChangeOut] = Field(description="Where the content key changed, oldest first")
    held_by_recordings: list[TimeRangeOut] = Field(
        description="Archived ranges that cloud recordings point at, oldest first; retention keeps them "
        "(they may be older than the retention window) until no recording needs them"
    )
    held_by_recordings_hours: float
    held_by_recordings_bytes: int = Field(description="Disk their segments take (every rendition)")
    held_beyond_retention_bytes: int = Field(
        description="Of which older than the retention window: kept only because of recordings"
    )


class CoverageOut(BaseModel):
    generated_at: datetime
    channels: list[ChannelCoverageOut]
