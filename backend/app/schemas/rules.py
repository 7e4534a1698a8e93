from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool
from pydantic_core import PydanticCustomError

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


def _json_integer(value: object) -> object:
    """JSON Schema's integer (48 or 48.0): plain `int` would also take `"48"` and `true`."""
    if isinstance(value, str | bool):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


def _not_null(schema: dict[str, Any]) -> None:
    """The fields' schemas without null (and `default: null`): a null field is refused (422)."""
    for prop in schema.get("properties", {}).values():
        options = [o for o in prop.pop("anyOf", ()) if o.get("type") != "null"]
        if options:
            (kept,) = options
            prop.update(kept)
        if "default" in prop and prop["default"] is None:
            del prop["default"]


# Partial updates: the fields sent change, null is refused. Strict types, so that `1` or `"true"` is
# refused as the schema says rather than read as `true`.
_PARTIAL = ConfigDict(extra="forbid", json_schema_extra=_not_null)
Flag = StrictBool | None
RetentionHours = Annotated[int, Field(ge=1, le=MAX_RETENTION_HOURS), BeforeValidator(_json_integer)]


class ChannelRulesIn(BaseModel):
    """Partial update: only the fields sent change. Nulls are refused (422)."""

    model_config = _PARTIAL

    tstv_enabled: Flag = None
    startover_enabled: Flag = None
    catchup_enabled: Flag = None
    cutv_window_hours: CutvWindow | None = Field(default=None, description="Viewer window, hours")
    catchup_window_hours: RetentionHours | None = Field(
        default=None, description="Retention on disk, hours (>= cutv window)"
    )


class EntryRightsIn(BaseModel):
    model_config = _PARTIAL

    startover_eligible: Flag = None
    catchup_eligible: Flag = None
