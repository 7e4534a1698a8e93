from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

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
    backfilled: list[TimeRangeOut] = Field(
        description="Recorded stretches written after the fact by a backfill (from the channel's "
        "source or a backup file), not by the live encoder; oldest first",
    )
    catchup_hours_available: float = Field(
        description="Hours recorded inside the viewer window: what catch-up actually offers now "
        "(less than the window after gaps or disk evictions)"
    )
    evicted_segments: int = Field(
        description="Segment files evicted to keep ARCHIVE_DISK_FLOOR since this process started"
    )
    evicted_bytes: int
    evicted_before: datetime | None = Field(
        description="The last eviction's cut-off: nothing older is left but what recordings hold"
    )


class DiskOut(BaseModel):
    total_bytes: int = Field(description="Size of the archive's filesystem (HLS_SEGMENT_DIR)")
    free_bytes: int
    floor_bytes: int = Field(description="ARCHIVE_DISK_FLOOR in bytes: free space never goes below it")
    growth_bytes_per_second: float | None = Field(
        description="How fast the filesystem fills (eviction added back), over the last day; null "
        "until measured for 30 s"
    )
    full_in_seconds: float | None = Field(
        description="When free space reaches the floor at that rate (then the oldest catch-up is "
        "evicted); null when it does not grow"
    )
    storage_full: bool = Field(
        description="Recordings and live windows alone breach the floor: new recordings are refused (507)"
    )
    evicted_bytes: int = Field(description="Bytes evicted since this process started, every channel")


class CoverageOut(BaseModel):
    generated_at: datetime
    channels: list[ChannelCoverageOut]
    disk: DiskOut


class BackfillRequest(BaseModel):
    channel_key: str = Field(max_length=64, description="The channel's CDN key (or id)")
    start: datetime = Field(description="Start of the range to fill (with a time zone)")
    end: datetime = Field(description="End of the range to fill; cut to now")


class BackfillJobOut(BaseModel):
    id: str
    channel_key: str
    start: datetime
    end: datetime
    origin: Literal["operator", "first_run"] = Field(
        description="`first_run`: the start-up backfill of `BACKFILL_HOURS` on an empty archive"
    )
    state: Literal["queued", "running", "done", "failed"]
    progress: float = Field(description="0..1")
    created_at: datetime
    finished_at: datetime | None
    written: list[TimeRangeOut] = Field(description="Archive written (one range per run), when done")
    skipped: list[TimeRangeOut] = Field(
        description="Parts of the range whose archive existed: left as it was"
    )
    notes: list[str] = Field(description="What else was left out of the range, and why")
    speed: float | None = Field(description="Seconds of archive written per second (x real time)")
    error: str | None


class BackfillJobsOut(BaseModel):
    jobs: list[BackfillJobOut]
