"""The multi-channel TV guide: one local day of every channel, with what can be done with each
programme, on ordinary days and across daylight-saving changes, in two queries."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, update

from app.main import create_app
from app.models import ScheduleEntry
from app.schemas.epg import EpgGuideOut
from tests.archive_factory import create_recorded_channel, days_ago
from tests.conftest import API, login, make_settings, migrate

Clock = Callable[[Any], None]


async def guide(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    r = await client.get(f"{API}/epg/guide", headers=headers, params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def channel_of(body: dict[str, Any], channel_id: Any) -> dict[str, Any]:
    found: list[dict[str, Any]] = [c for c in body["channels"] if c["id"] == str(channel_id)]
    assert len(found) == 1
    return found[0]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


@contextmanager
def statements(app: FastAPI) -> Iterator[list[str]]:
    """The SQL statements the app sends meanwhile (both of its pools)."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        seen.append(sql)

    engines = [app.state.db.engine.sync_engine, app.state.db.reader_engine.sync_engine]
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)


async def test_guide_shows_what_can_be_done_with_each_programme(
    client: httpx.AsyncClient, app: FastAPI, viewer_headers: dict[str, str], frozen_clock: Clock
) -> None:
    hour = 3600
    t0 = days_ago(1, 7)  # yesterday 07:00 UTC: programmes 07:00..16:00, all on that day
    ch, es = await create_recorded_channel(app, t0, hour, 9, recorded=(0, 3), cutv_window_hours=2)
    async with app.state.db.sessionmaker() as session:
        await session.execute(
            update(ScheduleEntry).where(ScheduleEntry.id == es[1].id).values(catchup_eligible=False)
        )
        await session.commit()
    now = t0 + timedelta(hours=4, minutes=30)  # e4 on air
    frozen_clock(now)
    r = await client.put(
        f"{API}/viewing/bookmarks/tstv_catchup/{es[2].id}",
        headers=viewer_headers,
        json={"position_seconds": 99},
    )
    assert r.status_code == 200, r.text

    body = await guide(client, viewer_headers)  # default: today in UTC
    assert body["date"] == now.date().isoformat() and body["tz"] == "UTC"
    assert at(body["start"]) == datetime.combine(now.date(), datetime.min.time(), UTC)
    assert at(body["end"]) - at(body["start"]) == timedelta(hours=24)
    assert at(body["now"]) == now
    assert body["earliest_date"] == (now.date() - timedelta(days=7)).isoformat()
    assert body["latest_date"] == (now.date() + timedelta(days=7)).isoformat()
    mine = channel_of(body, ch.id)
    assert mine["cdn_channel_key"] == ch.cdn_channel_key and mine["cutv_window_hours"] == 2
    assert {"name", "number", "logo_url", "tstv_enabled", "startover_enabled", "catchup_enabled"} <= set(mine)
    entries = mine["entries"]
    assert [e["id"] for e in entries] == [str(e.id) for e in es]
    assert [e["status"] for e in entries] == ["aired"] * 4 + ["on_air"] + ["upcoming"] * 4
    assert [e["on_air"] for e in entries] == [False] * 4 + [True] + [False] * 4
    catchup = [e["catchup"] for e in entries]
    assert [(c["available"], c["reason"]) for c in catchup[:4]] == [
        (False, "catch_up_window_expired"),  # ended 3.5 h ago, the window is 2 h
        (False, "program_not_eligible"),  # switched off (and expired: eligibility is told first)
        (True, None),
        (False, "not_recorded"),
    ]
    assert at(catchup[2]["expires_at"]) == es[2].end_time + timedelta(hours=2)
    assert catchup[4:] == [None] * 5
    assert [e["startover_available"] for e in entries] == [False] * 4 + [True] + [False] * 4
    assert [e["bookmark_position_seconds"] for e in entries] == [None, None, 99.0] + [None] * 6
    # A still for every recorded programme that has aired, none for the others (logo instead).
    assert [e["still_url"] for e in entries] == [
        f"{API}/epg/programmes/{e.id}/still.jpg" if i < 3 else None for i, e in enumerate(es)
    ]
    detail = entries[2]
    assert detail["title"] == "Show 2" and detail["genre"] == "Test" and "synopsis" in detail
    assert {"series_title", "season_number", "episode_number", "start_time", "end_time"} <= set(detail)

    # The same shaping as a channel's day schedule and a single programme.
    schedule = (
        await client.get(f"{API}/epg/schedule", params={"channel_id": str(ch.id)}, headers=viewer_headers)
    ).json()["entries"]
    assert [{k: v for k, v in e.items() if k != "bookmark_position_seconds"} for e in entries] == schedule
    one = (await client.get(f"{API}/epg/programmes/{es[4].id}", headers=viewer_headers)).json()
    assert one["status"] == "on_air" and one["startover_available"] is True and one["still_url"] is None

    # An operator switching start-over off shows on the next load.
    async with app.state.db.sessionmaker() as session:
        await session.execute(
            update(ScheduleEntry).where(ScheduleEntry.id == es[4].id).values(startover_eligible=False)
        )
        await session.commit()
    on_air = channel_of(await guide(client, viewer_headers), ch.id)["entries"][4]
    assert on_air["status"] == "on_air" and on_air["startover_available"] is False

    # The seeded channels: each day covered from midnight to midnight without a hole.
    for c in body["channels"]:
        if c["cdn_channel_key"] not in {"ch1", "ch2", "ch3", "ch4", "ch5"}:
            continue
        days = c["entries"]
        assert at(days[0]["start_time"]) <= at(body["start"]) < at(days[0]["end_time"])
        assert at(days[-1]["start_time"]) < at(body["end"]) <= at(days[-1]["end_time"])
        assert all(a["end_time"] == b["start_time"] for a, b in itertools.pairwise(days))

    r = await client.get(f"{API}/epg/guide", headers=viewer_headers)
    assert r.text == EpgGuideOut.model_validate_json(r.text).model_dump_json()  # the model's exact shape


async def test_a_guide_of_every_channel_is_two_queries(
    client: httpx.AsyncClient, app: FastAPI, viewer_headers: dict[str, str], frozen_clock: Clock
) -> None:
    for _ in range(3):
        await create_recorded_channel(app, days_ago(1, 6), 600, 30, recorded=(0, 10))
    frozen_clock(days_ago(1, 9))
    await guide(client, viewer_headers)  # warm: the token's profile needs no query
    with statements(app) as seen:
        body = await guide(client, viewer_headers)
    assert len(body["channels"]) >= 8
    assert len(seen) == 2, seen


@pytest.mark.parametrize(
    ("tz", "day", "hours"),
    [
        ("Europe/London", date(2026, 3, 28), 24),
        ("Europe/London", date(2026, 3, 29), 23),  # clocks go forward at 01:00 GMT
        ("Europe/London", date(2026, 10, 25), 25),  # and back at 01:00 BST
        ("America/New_York", date(2026, 3, 8), 23),  # forward at 02:00 EST
        ("America/New_York", date(2026, 11, 1), 25),  # back at 02:00 EDT
        ("America/New_York", date(2026, 11, 2), 24),
    ],
)
async def test_guide_day_is_local_midnight_to_midnight_across_dst(
    client: httpx.AsyncClient,
    app: FastAPI,
    viewer_headers: dict[str, str],
    frozen_clock: Clock,
    tz: str,
    day: date,
    hours: int,
) -> None:
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    midnight = datetime.combine(day, datetime.min.time(), zone).astimezone(UTC)
    # Hourly programmes on whole UTC hours (local midnights are whole UTC hours in both zones),
    # from three hours before the day to three after it.
    ch, _ = await create_recorded_channel(app, midnight - timedelta(hours=3), 3600, hours + 6)
    frozen_clock(midnight + timedelta(hours=12))
    body = await guide(client, viewer_headers, tz=tz, date=day.isoformat())
    start, end = at(body["start"]), at(body["end"])
    assert start == midnight and end - start == timedelta(hours=hours)
    assert start.astimezone(zone).hour == 0 and end.astimezone(zone).hour == 0
    assert end.astimezone(zone).date() == day + timedelta(days=1)
    entries = channel_of(body, ch.id)["entries"]
    assert len(entries) == hours
    assert at(entries[0]["start_time"]) == start and at(entries[-1]["end_time"]) == end
    # Today (the default) is the day in the viewer's zone, not in UTC.
    assert (await guide(client, viewer_headers, tz=tz))["date"] == day.isoformat()


async def test_default_day_follows_the_viewers_zone(
    client: httpx.AsyncClient, viewer_headers: dict[str, str], frozen_clock: Clock
) -> None:
    frozen_clock(datetime(2026, 3, 29, 0, 30, tzinfo=UTC))
    assert (await guide(client, viewer_headers, tz="Europe/London"))["date"] == "2026-03-29"
    assert (await guide(client, viewer_headers, tz="America/New_York"))["date"] == "2026-03-28"
    assert (await guide(client, viewer_headers, tz="Asia/Tokyo"))["date"] == "2026-03-29"


async def test_guide_days_are_7_back_to_7_ahead_in_the_viewers_zone(
    client: httpx.AsyncClient, viewer_headers: dict[str, str], frozen_clock: Clock
) -> None:
    frozen_clock(datetime(2026, 11, 1, 3, 0, tzinfo=UTC))  # still Oct 31 in New York
    tz = "America/New_York"
    today = date(2026, 10, 31)
    for ok in (today - timedelta(days=7), today, today + timedelta(days=7)):
        assert (await guide(client, viewer_headers, tz=tz, date=ok.isoformat()))["date"] == ok.isoformat()
    for bad in (today - timedelta(days=8), today + timedelta(days=8)):
        r = await client.get(
            f"{API}/epg/guide", headers=viewer_headers, params={"tz": tz, "date": bad.isoformat()}
        )
        assert r.status_code == 404
        assert r.json() == {
            "detail": "date_outside_guide_window",
            "loc": ["query", "date"],
            "earliest": "2026-10-24",
            "latest": "2026-11-07",
        }
    # In UTC it is already Nov 1: the window moves with the zone.
    r = await client.get(f"{API}/epg/guide", headers=viewer_headers, params={"date": "2026-11-08"})
    assert r.status_code == 200


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"date": "2026-02-30"}, "date"),
        ({"date": "today"}, "date"),
        ({"tz": "Mars/Olympus"}, "tz"),
        ({"profile_id": "nope"}, "profile_id"),
    ],
)
async def test_guide_bad_input_is_422_naming_the_field(
    client: httpx.AsyncClient, viewer_headers: dict[str, str], params: dict[str, str], field: str
) -> None:
    r = await client.get(f"{API}/epg/guide", headers=viewer_headers, params=params)
    assert r.status_code == 422
    assert any(field in err["loc"] for err in r.json()["detail"])


async def test_guide_needs_a_token_and_the_callers_profile(
    client: httpx.AsyncClient, viewer_headers: dict[str, str]
) -> None:
    r = await client.get(f"{API}/epg/guide")
    assert r.status_code == 401
    other = (await client.get(f"{API}/profiles", headers=await login(client, "nosub@tstv.local"))).json()
    other_id = other["profiles"][0]["id"]
    r = await client.get(f"{API}/epg/guide", headers=viewer_headers, params={"profile_id": other_id})
    assert r.status_code == 403 and r.json() == {"detail": "profile_forbidden"}


async def test_guide_on_sqlite(tmp_path: Path, hls_dir: Path, frozen_clock: Clock) -> None:
    """The embedded database `make run` uses."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'guide.db'}"
    await migrate(url)
    application = create_app(make_settings(url, hls_dir))
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://test") as client,
    ):
        headers = await login(client, "viewer@tstv.local")
        ch, es = await create_recorded_channel(application, days_ago(1, 8), 600, 3, recorded=(0, 2))
        frozen_clock(es[1].end_time + timedelta(minutes=1))
        r = await client.put(
            f"{API}/viewing/bookmarks/tstv_startover/{es[1].id}",
            headers=headers,
            json={"position_seconds": 5},
        )
        assert r.status_code == 200, r.text
        entries = channel_of(await guide(client, headers), ch.id)["entries"]
        assert [e["status"] for e in entries] == ["aired", "aired", "on_air"]
        assert [e["catchup"]["available"] for e in entries[:2]] == [True, True]
        assert [e["bookmark_position_seconds"] for e in entries] == [None, 5.0, None]
