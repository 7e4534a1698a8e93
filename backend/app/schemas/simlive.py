from __future__ import annotations

from pydantic import BaseModel


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
