"""The `tz` query parameter (an IANA zone name, validated into a 422 naming the field) and local days."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
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


def local_day(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[local midnight, the next local midnight) of `day` in UTC: 23 or 25 hours long across a
    daylight-saving change. A midnight that does not exist (a zone springing forward at 00:00) is
    read with the offset before the change, which lands on the day's first instant."""
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)
