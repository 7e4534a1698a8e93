from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field


class OnAirOut(BaseModel):
    schedule_entry_id: uuid.UUID
    title: str
    start_time: datetime
    end_time: datetime


class SimliveChannelStatus(BaseModel):
    channel_key: str
    channel_name: str
    state: str  # stopped | starting | running | error
    running: bool
    wanted: bool
    pid: int | None
    uptime_seconds: float | None
    started_at: str | None
    restarts: int
    error: str | None
    last_error: str | None
    last_exit_code: int | None
    run_id: str | None
    kid: str | None
    loop_seconds: int
    loop_offset: float | None
    source: str | None
    source_progress: float | None
    segment_count: int
    disk_bytes: int
    segments_written: int = Field(description="Segment files the encoders wrote since the backend started")
    on_air: OnAirOut | None = Field(default=None, description="The programme the EPG has on air now")
    worker_id: str | None = Field(
        default=None,
        description="The worker running this encoder (TSTV_ROLE=api; null in the single process)",
    )


class SimliveStatusOut(BaseModel):
    channels: list[SimliveChannelStatus]


class ChannelCleanupOut(BaseModel):
    channel_key: str
    cutoff: str
    segments_deleted: int
    bytes_freed: int
    runs_removed: int


class CleanupOut(BaseModel):
    channels_processed: int
    total_segments_deleted: int
    total_bytes_freed: int
    channels: list[ChannelCleanupOut]


class EncoderLogOut(BaseModel):
    channel_key: str
    lines: list[str] = Field(description="The newest lines of the encoder log, oldest first")
    truncated: bool = Field(description="Older lines exist than the ones returned")
    size_bytes: int = Field(description="Size of the current log file (0: no log yet)")
    modified_at: datetime | None = Field(description="When the log was last written")
