"""Catch-up catalogue: time rules at their edges, archive and rights filtering, paging, dates."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from tests.archive_factory import create_recorded_channel

API = "/api/v1"
Clock = Callable[[Any], None]


def day_start(days_back: int) -> datetime:
    """10:00 UTC, `days_back` days ago: well inside the seeded schedule, far from midnight."""
    d = datetime.now(UTC) - timedelta(days=days_back)
    return d.replace(hour=10, minute=0, second=0, microsecond=0)


async def listing(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], **params: Any
) -> dict[str, Any]:
    r = await client.get(url, headers=headers, params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def ids(body: dict[str, Any]) -> list[str]:
    return [p["schedule_entry"]["id"] for p in body["programs"]]


async def test_tstv_channels_lists_enabled_channels(
    client: httpx.AsyncClient, app: FastAPI, viewer_headers: dict[str, str]
) -> None:
    off, _ = await create_recorded_channel(app, day_start(1), 600, 1, tstv_enabled=False)
    body = await listing(client, f"{API}/tstv/channels", viewer_headers)
    keys = [c["cdn_channel_key"] for c in body["channels"]]
    assert {"ch1", "ch2", "ch3", "ch4", "ch5"} <= set(keys)
    assert off.cdn_channel_key not in keys
    first = body["channels"][0]
    assert set(first) >= {
        "id",
        "name",
        "cdn_channel_key",
        "tstv_enabled",
        "startover_enabled",
        "catchup_enabled",
        "cutv_window_hours",
    }
    assert (await client.get(f"{API}/tstv/channels")).status_code == 401


async def test_programme_appears_when_it_ends_and_leaves_when_window_closes(
    client: httpx.AsyncClient, app: FastAPI, viewer_headers: dict[str, str], frozen_clock: Clock
) -> None:
    ch, es = await create_recorded_channel(app, day_start(2), 600, 6, recorded=(0, 6), cutv_window_hours=2)
    e = es[2]
    url = f"{API}/tstv/catchup/{ch.id}"

    frozen_clock(e.end_time - timedelta(seconds=1))
    assert str(e.id) not in ids(await listing(client, url, viewer_headers))

    frozen_clock(e.end_time)  # the moment it ends
    body = await listing(client, url, viewer_headers)
    assert ids(body)[0] == str(e.id)
    assert body["programs"][0]["expires_at"].startswith((e.end_time + timedelta(hours=2)).isoformat()[:19])

    expires = e.end_time + timedelta(hours=2)
    frozen_clock(expires - timedelta(seconds=1))
    assert str(e.id) in ids(await listing(client, url, viewer_headers))
    # ... and playable: a catch-up session may start.
    r = await client.post(
        f"{API}/tstv/sessions",
        headers=viewer_headers,
        json={"channel_id": ch.cdn_channel_key, "schedule_entry_id": str(e.id), "session_type": "catchup"},
    )
    assert r.status_code == 201, r.text

    for at in (expires, expires + timedelta(seconds=1)):
        frozen_clock(at)
        assert str(e.id) not in ids(await listing(client, url, viewer_headers))
    r = await client.post(
        f"{API}/tstv/sessions",
        headers=viewer_headers,
        json={"channel_id": ch.cdn_channel_key, "schedule_entry_id": str(e.id), "session_type": "catchup"},
    )
    assert r.status_code == 403
    assert r.json()["detail"] == "catch_up_window_expired"
    assert r.json()["expires_at"].startswith(expires.isoformat()[:19])


async def test_only_recorded_and_eligible_programmes_are_listed(
    client: httpx.AsyncClient,
    app: FastAPI,
    viewer_headers: dict[str, str],
    admin_headers: dict[str, str],
    frozen_clock: Clock,
) -> None:
    t0 = day_start(2)
    ch, es = await create_recorded_channel(app, t0, 600, 6, recorded=(0, 3), partial_seconds=30)
    frozen_clock(es[-1].end_time + timedelta(minutes=1))
    url = f"{API}/tstv/catchup/{ch.cdn_channel_key}"  # by CDN key works as well as by id
    body = await listing(client, url, viewer_headers)
    assert ids(body) == [str(es[2].id), str(es[1].id), str(es[0].id)]  # newest first
    assert body["total"] == 3
    item = body["programs"][0]
    assert item["channel"]["cdn_channel_key"] == ch.cdn_channel_key
    assert item["duration_seconds"] == 600
    assert item["bookmark_position_seconds"] is None

    # Revoking a programme removes it from the very next listing; the EPG shows the lock.
    r = await client.put(
        f"{API}/admin/schedule/{es[1].id}/rights", headers=admin_headers, json={"catchup_eligible": False}
    )
    assert r.status_code == 200 and r.json()["catchup_eligible"] is False
    assert ids(await listing(client, url, viewer_headers)) == [str(es[2].id), str(es[0].id)]
    epg = await listing(
        client, f"{API}/epg/schedule", viewer_headers, channel_id=str(ch.id), date=t0.date().isoformat()
    )
    states = {e["id"]: e["catchup"] for e in epg["entries"]}
    assert states[str(es[0].id)]["available"] is True
    assert states[str(es[1].id)] == {
        "available": False,
        "reason": "program_not_eligible",
        "expires_at": states[str(es[1].id)]["expires_at"],
    }
    assert states[str(es[4].id)]["reason"] == "not_recorded"
    r = await client.put(
        f"{API}/admin/schedule/{es[1].id}/rights", headers=admin_headers, json={"catchup_eligible": True}
    )
    assert r.status_code == 200
    assert len(ids(await listing(client, url, viewer_headers))) == 3

    # Channel switches apply at once as well.
    r = await client.put(
        f"{API}/admin/tstv/rules/{ch.id}", headers=admin_headers, json={"catchup_enabled": False}
    )
    assert r.status_code == 200
    assert (await listing(client, url, viewer_headers))["total"] == 0


async def test_paging_is_consistent_with_total(
    client: httpx.AsyncClient, app: FastAPI, viewer_headers: dict[str, str], frozen_clock: Clock
) -> None:
    ch, es = await create_recorded_channel(app, day_start(3), 300, 12, recorded=(1, 11), partial_seconds=12)
    frozen_clock(es[-1].end_time)
    url = f"{API}/tstv/catchup/{ch.id}"
    full = await listing(client, url, viewer_headers, limit=200)
    assert full["total"] == 10 and len(full["programs"]) == 10
    paged: list[str] = []
    for offset in range(0, 12, 3):
        page = await listing(client, url, viewer_headers, limit=3, offset=offset)
        assert page["total"] == 10
        paged += ids(page)
    assert paged == ids(full) == [str(e.id) for e in reversed(es[1:11])]
    assert (await listing(client, url, viewer_headers, offset=50))["programs"] == []


async def test_narrowing_the_window_removes_older_programmes(
    client: httpx.AsyncClient,
    app: FastAPI,
    viewer_headers: dict[str, str],
    admin_headers: dict[str, str],
    frozen_clock: Clock,
) -> None:
    # Twelve-hour programmes over four days, each recorded (its first minute is enough).
    ch, es = await create_recorded_channel(
        app, day_start(5), 12 * 3600, 8, recorded=(0, 8), partial_seconds=60
    )
    frozen_clock(es[-1].end_time + timedelta(minutes=5))
    url = f"{API}/tstv/catchup/{ch.id}"
    assert (await listing(client, url, viewer_headers))["total"] == 8
    r = await client.put(
        f"{API}/admin/tstv/rules/{ch.id}", headers=admin_headers, json={"cutv_window_hours": 48}
    )
    assert r.status_code == 200
    body = await listing(client, url, viewer_headers)
    # Ended within the last 48 h: the newest four.
    assert ids(body) == [str(e.id) for e in reversed(es[4:])]
    assert body["total"] == 4


async def test_catchup_by_date_channel_genre_and_timezone(
    client: httpx.AsyncClient, app: FastAPI, viewer_headers: dict[str, str], frozen_clock: Clock
) -> None:
    t0 = day_start(1)
    genre = "Genre" + t0.strftime("%H%M%S%f")
    ch, es = await create_recorded_channel(app, t0, 600, 6, recorded=(0, 6), partial_seconds=6, genre=genre)
    frozen_clock(es[-1].end_time + timedelta(hours=1))
    url = f"{API}/tstv/catchup"
    day = t0.date().isoformat()
    body = await listing(client, url, viewer_headers, date=day, genre=genre.lower())
    assert body["date"] == day and body["tz"] == "UTC"
    assert ids(body) == [str(e.id) for e in reversed(es)]
    assert body["total"] == 6
    by_channel = await listing(client, url, viewer_headers, date=day, channel_id=str(ch.id), limit=2)
    assert ids(by_channel) == [str(es[5].id), str(es[4].id)] and by_channel["total"] == 6
    everything = await listing(client, url, viewer_headers, date=day, limit=200)
    assert everything["total"] >= 6
    # Default day is today (of the clock, in the given zone).
    today = await listing(client, url, viewer_headers, genre=genre)
    assert today["date"] == day and ids(today) == ids(body)
    # In UTC+14 the 10:00 UTC programmes belong to the next local day.
    kiri = await listing(
        client,
        url,
        viewer_headers,
        date=(t0.date() + timedelta(days=1)).isoformat(),
        tz="Pacific/Kiritimati",
        genre=genre,
    )
    assert ids(kiri) == ids(body)
    kiri_before = await listing(client, url, viewer_headers, date=day, tz="Pacific/Kiritimati", genre=genre)
    assert kiri_before["programs"] == []


async def test_catalogue_bad_input(
    client: httpx.AsyncClient, viewer_headers: dict[str, str], frozen_clock: Clock
) -> None:
    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    frozen_clock(now)

    async def error(url: str, **params: Any) -> tuple[int, Any]:
        r = await client.get(url, headers=viewer_headers, params=params)
        return r.status_code, r.json().get("detail")

    for params, field in (
        ({"date": "2026-03-02"}, "date"),  # 8 days back
        ({"date": "2026-03-11"}, "date"),  # tomorrow
        ({"date": "10/03/2026"}, "date"),
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"offset": -1}, "offset"),
        ({"tz": "Mars/Olympus"}, "tz"),
        ({"profile_id": "nope"}, "profile_id"),
    ):
        status, detail = await error(f"{API}/tstv/catchup", **params)
        assert status == 422, (params, detail)
        assert detail[0]["loc"][-1] == field
    assert (await error(f"{API}/tstv/catchup", date="2026-03-03"))[0] == 200  # 7 days back is fine
    assert (await error(f"{API}/tstv/catchup", channel_id="nope")) == (404, "channel_not_found")
    assert (await error(f"{API}/tstv/catchup/00000000-0000-0000-0000-000000000000")) == (
        404,
        "channel_not_found",
    )
    assert (await error(f"{API}/tstv/catchup/ch1", limit=500))[0] == 422


async def test_listing_carries_the_profiles_bookmark(
    client: httpx.AsyncClient, app: FastAPI, viewer_headers: dict[str, str], frozen_clock: Clock
) -> None:
    ch, es = await create_recorded_channel(app, day_start(2), 600, 3, recorded=(0, 3), partial_seconds=6)
    frozen_clock(es[-1].end_time)
    r = await client.put(
        f"{API}/viewing/bookmarks/tstv_catchup/{es[1].id}",
        headers=viewer_headers,
        json={"position_seconds": 123.5},
    )
    assert r.status_code == 200, r.text
    body = await listing(client, f"{API}/tstv/catchup/{ch.id}", viewer_headers)
    positions = {p["schedule_entry"]["id"]: p["bookmark_position_seconds"] for p in body["programs"]}
    assert positions == {str(es[2].id): None, str(es[1].id): 123.5, str(es[0].id): None}
