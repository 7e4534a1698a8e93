from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ConfigDict, TypeAdapter
from typing_extensions import TypedDict

from app.schemas.epg import ScheduleEntryOut


class TstvChannelOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    number: int
    logo_url: str | None
    cdn_channel_key: str | None
    tstv_enabled: bool
    startover_enabled: bool
    catchup_enabled: bool
    cutv_window_hours: int


class TstvChannelsOut(BaseModel):
    channels: list[TstvChannelOut]


class ChannelRefOut(BaseModel):
    """The channel of a listed programme, as every listing item carries it."""

    id: uuid.UUID
    name: str
    cdn_channel_key: str | None


class CatchupProgramOut(BaseModel):
    schedule_entry: ScheduleEntryOut
    channel: ChannelRefOut
    duration_seconds: float
    expires_at: datetime
    bookmark_position_seconds: float | None


class CatchupChannelListOut(BaseModel):
    channel_id: uuid.UUID
    programs: list[CatchupProgramOut]
    total: int
    limit: int
    offset: int


class CatchupRecentListOut(BaseModel):
    programs: list[CatchupProgramOut]
    total: int
    limit: int
    offset: int


class CatchupDayListOut(BaseModel):
    date: str
    tz: str
    programs: list[CatchupProgramOut]
    total: int
    limit: int
    offset: int


# ---- fast serialisation of the listings ------------------------------------------------------

_typed_dicts: dict[type[BaseModel], Any] = {}


def _dict_type(annotation: Any) -> Any:
    """`annotation` with every model in it replaced by its TypedDict twin."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return typed_dict_of(annotation)
    if get_origin(annotation) is list:
        (item,) = get_args(annotation)
        return list[_dict_type(item)]  # type: ignore[misc]
    args = get_args(annotation)
    if any(isinstance(a, type) and issubclass(a, BaseModel) for a in args):
        if len(args) == 2 and type(None) in args:  # an optional model
            (model,) = (a for a in args if a is not type(None))
            return _dict_type(model) | None
        raise TypeError(f"no TypedDict twin for {annotation!r}")
    return annotation


def typed_dict_of(model: type[BaseModel]) -> Any:
    """A TypedDict with the fields of `model` (nested models and lists of them included), in the
    same order and with the same types: pydantic serialises plain dicts through it exactly as it
    would serialise the model, without building (and validating) a model instance per item."""
    found = _typed_dicts.get(model)
    if found is None:
        fields = {name: _dict_type(f.annotation) for name, f in model.model_fields.items()}
        found = _typed_dicts[model] = TypedDict(f"{model.__name__}Dict", fields)  # type: ignore[operator]
    return found


def json_serializer(model: type[BaseModel]) -> TypeAdapter[Any]:
    """Serialises a dict shaped as `model` to JSON bytes (`.dump_json(body)`)."""
    return TypeAdapter(typed_dict_of(model))


CHANNEL_LISTING_JSON = json_serializer(CatchupChannelListOut)
DAY_LISTING_JSON = json_serializer(CatchupDayListOut)
RECENT_LISTING_JSON = json_serializer(CatchupRecentListOut)
PROGRAM_JSON = json_serializer(CatchupProgramOut)
FLOAT_JSON = TypeAdapter(float)
