"""Cloud recordings (network PVR): requests and answers of `/recordings`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.errors import ErrorOut
from app.schemas.patterns import NO_NUL

RecordingStatus = Literal["scheduled", "recording", "recorded", "partial", "failed"]


class RecordingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schedule_entry_id: uuid.UUID = Field(description="The programme to record")
    channel_id: uuid.UUID | None = Field(
        default=None, description="Optional: the programme's channel (404 if it is another channel's)"
    )


class SeriesRecordingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    series_id: str = Field(
        min_length=1,
        max_length=64,
        pattern=NO_NUL,
        description="A programme's `series_id` (schedule entries)",
    )


class RecordingChannelOut(BaseModel):
    id: uuid.UUID
    name: str
    number: int
    cdn_channel_key: str


class RecordingSeriesRefOut(BaseModel):
    """The series recording that made a recording (`DELETE /recordings/series/{id}` stops it)."""

    id: uuid.UUID
    series_id: str


class RecordingOut(BaseModel):
    id: uuid.UUID
    schedule_entry_id: uuid.UUID
    title: str
    synopsis: str | None
    genre: str | None
    series_id: str | None
    series_title: str | None
    season_number: int | None
    episode_number: int | None
    series_recording: RecordingSeriesRefOut | None = Field(
        description="The series recording that made it, if any"
    )
    channel: RecordingChannelOut
    start_time: datetime
    end_time: datetime
    duration_seconds: float = Field(description="The programme's length (what the quota counts)")
    requested_at: datetime
    status: RecordingStatus = Field(
        description="`scheduled` (upcoming), `recording` (on air), `recorded` (ended, all in the archive), "
        "`partial` (ended, only part in the archive), `failed` (ended, none in the archive)"
    )
    recorded_seconds: float = Field(description="Seconds of the programme the archive holds (so far)")
    expires_at: datetime = Field(
        description="When the recording goes: the programme's end + RECORDING_RETENTION_DAYS"
    )
    playable: bool = Field(
        description="Whether `manifest_url` would play now (begun, in the archive, rights; "
        "while on air it plays from the start and grows)"
    )
    manifest_url: str = Field(
        description="Its playlist, `/api/v1/recordings/{id}/manifest`: VOD (catch-up) once the programme "
        "ended, EVENT (start-over) while it airs"
    )
    deep_link: str = Field(
        description="The web app's catch-up player for the programme, playing this recording: "
        "`/watch/catchup/{channel_id}/{schedule_entry_id}?recording={id}`"
    )


class QuotaOut(BaseModel):
    used_hours: float = Field(description="Programme hours of the caller's recordings")
    allowed_hours: float = Field(description="RECORDING_QUOTA_HOURS")
    used_seconds: float
    allowed_seconds: float


class RecordingListOut(BaseModel):
    recordings: list[RecordingOut] = Field(description="Newest programme first")
    total: int
    quota: QuotaOut


class SeriesRecordingOut(BaseModel):
    id: uuid.UUID
    series_id: str
    series_title: str | None
    created_at: datetime
    episodes: int = Field(description="Recordings it made that still exist")
    skipped_episodes: int = Field(description="Episodes it skipped because they did not fit the quota")
    last_skipped_schedule_entry_id: uuid.UUID | None
    last_skipped_reason: Literal["quota_exceeded"] | None


class SeriesRecordingListOut(BaseModel):
    series: list[SeriesRecordingOut]


class QuotaErrorOut(ErrorOut):
    """`quota_exceeded`: the recording would take the caller past RECORDING_QUOTA_HOURS."""

    used_hours: float
    allowed_hours: float
    needed_hours: float = Field(description="The programme's length")


class RecordingRefusalOut(ErrorOut):
    """A recording refused or not playable; `expires_at` when the programme's catch-up window or the
    recording's retention ends (or ended), if known."""

    expires_at: datetime | None = None
