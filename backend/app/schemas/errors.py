"""The error bodies `app/errors.py` and FastAPI send, as models for the OpenAPI (`responses=`)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class ErrorOut(BaseModel):
    """A refusal: `detail` is a machine-readable code."""

    detail: str = Field(description="A code such as `channel_not_found`", examples=["channel_not_found"])


class ExpiredErrorOut(ErrorOut):
    """A catch-up refusal that says when the programme's catch-up window ends (or ended)."""

    expires_at: datetime


class DateWindowErrorOut(ErrorOut):
    """A day outside the days a listing shows (`date_outside_catchup_window`,
    `date_outside_guide_window`), naming the field and the valid days."""

    loc: list[str] = Field(description='The offending field, e.g. `["query", "date"]`')
    earliest: date = Field(description="The first valid day")
    latest: date = Field(description="The last valid day (catch-up: today)")


class EncoderErrorOut(ErrorOut):
    """An encoder that failed to start (`encoder_restart_failed`), with its last error."""

    error: str | None


class FieldErrorOut(BaseModel):
    loc: list[str | int] = Field(description="Where: `body`, `query`, `path`, then the field (and index)")
    type: str = Field(description="Why, as a code: `missing`, `string_too_long`, `value_error`, ...")
    msg: str = Field(description="Why, in words")


class ValidationErrorOut(BaseModel):
    """Invalid input (422): one entry per offending field."""

    detail: list[FieldErrorOut]


class RangeErrorOut(ErrorOut):
    """A time range that is no range (`range_reversed`, `range_empty`) or too long
    (`range_too_long`, with the most seconds one may cover), naming the field."""

    loc: list[str] = Field(description='The offending field, e.g. `["query", "end"]`')
    max_seconds: int | None = None


class RangeRefusedOut(ErrorOut):
    """A time range refused: a programme it touches may not be played (`schedule_entry_id` names
    it), or the range is outside the viewer window (`window_start`, `window_end`)."""

    schedule_entry_id: str | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
