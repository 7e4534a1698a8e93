"""The `tz` query parameter: an IANA zone name, validated into a 422 naming the field."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from fastapi import Query
from pydantic import AfterValidator


def _check_zone(name: str) -> str:
    if name not in _ZONES:
        raise ValueError("unknown time zone (IANA name expected, e.g. Europe/London)")
    ZoneInfo(name)
    return name


try:
    _ZONES = available_timezones() | {"UTC"}
except ZoneInfoNotFoundError:  # pragma: no cover - tzdata is a dependency
    _ZONES = {"UTC"}

# The zones are listed in the schema too: any other name is invalid input, not a valid request refused.
TzQuery = Annotated[
    str,
    Query(max_length=64, description="IANA time zone", json_schema_extra={"enum": sorted(_ZONES)}),
    AfterValidator(_check_zone),
]
