from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest


async def test_channels_each_with_the_programme_on_air(
    client: httpx.AsyncClient, viewer_headers: dict[str, str]
) -> None:
    channels = (await client.get("/api/v1/epg/channels", headers=viewer_headers)).json()["channels"]
    seeded = [c for c in channels if c["cdn_channel_key"] in {"ch1", "ch2", "ch3", "ch4", "ch5"}]
    assert [c["cdn_channel_key"] for c in seeded] == ["ch1", "ch2", "ch3", "ch4", "ch5"]
    now = datetime.now(UTC)
    for c in seeded:
        assert c["name"] and c["logo_url"] and c["genre"] and c["number"]
        on_air = c["now"]
        assert (
            datetime.fromisoformat(on_air["start_time"]) <= now < datetime.fromisoformat(on_air["end_time"])
        )
    assert {c["cdn_channel_key"]: c["cutv_window_hours"] for c in seeded}["ch3"] == 48
    for c in seeded:  # every logo URL resolves to an image
        logo = await client.get(c["logo_url"])
        assert logo.status_code == 200 and logo.headers["content-type"] == "image/svg+xml"
        assert c["name"] in logo.text
    assert (await client.get("/static/logos/nope.svg")).status_code == 404
    assert (await client.get("/api/v1/epg/channels")).status_code == 401


async def test_day_schedule_has_loop_length_entries_and_catchup_state(
    client: httpx.AsyncClient, viewer_headers: dict[str, str]
) -> None:
    channels = (await client.get("/api/v1/epg/channels", headers=viewer_headers)).json()["channels"]
    ch3 = next(c for c in channels if c["cdn_channel_key"] == "ch3")
    day = (datetime.now(UTC) - timedelta(days=1)).date()
    r = await client.get(
        "/api/v1/epg/schedule",
        params={"channel_id": ch3["id"], "date": day.isoformat()},
        headers=viewer_headers,
    )
    assert r.status_code == 200
    entries = r.json()["entries"]
    assert len(entries) == 24 * 60 // 12  # one per 12-minute loop
    for e in entries:
        start, end = datetime.fromisoformat(e["start_time"]), datetime.fromisoformat(e["end_time"])
        assert end - start == timedelta(minutes=12) and start.date() == day
        assert e["catchup"]["expires_at"] == (end + timedelta(hours=48)).isoformat().replace("+00:00", "Z")
    assert any(not e["catchup_eligible"] for e in entries), "some programmes are locked"
    series = [e for e in entries if e["series_id"]]
    assert all(e["season_number"] and e["episode_number"] for e in series)
    future = (datetime.now(UTC) + timedelta(days=6)).date().isoformat()
    r = await client.get(
        "/api/v1/epg/schedule", params={"channel_id": ch3["id"], "date": future}, headers=viewer_headers
    )
    assert r.status_code == 200 and all(e["catchup"] is None for e in r.json()["entries"])


async def test_one_programme_with_what_can_be_done_with_it(
    client: httpx.AsyncClient, viewer_headers: dict[str, str]
) -> None:
    channels = (await client.get("/api/v1/epg/channels", headers=viewer_headers)).json()["channels"]
    ch3 = next(c for c in channels if c["cdn_channel_key"] == "ch3")
    r = await client.get(f"/api/v1/epg/programmes/{ch3['now']['id']}", headers=viewer_headers)
    assert r.status_code == 200, r.text
    on_air = r.json()
    assert on_air["on_air"] is True and on_air["catchup"] is None
    assert on_air["channel"]["id"] == ch3["id"] and on_air["channel"]["cdn_channel_key"] == "ch3"
    assert on_air["startover_available"] is on_air["startover_eligible"]
    day = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    entries = (
        await client.get(
            "/api/v1/epg/schedule", params={"channel_id": ch3["id"], "date": day}, headers=viewer_headers
        )
    ).json()["entries"]
    aired = (await client.get(f"/api/v1/epg/programmes/{entries[0]['id']}", headers=viewer_headers)).json()
    assert aired["on_air"] is False and aired["startover_available"] is False
    assert aired["catchup"] == entries[0]["catchup"]  # the same decision as the day's schedule
    unknown = await client.get(f"/api/v1/epg/programmes/{uuid.uuid4()}", headers=viewer_headers)
    assert unknown.status_code == 404 and unknown.json()["detail"] == "schedule_entry_not_found"
    assert (await client.get("/api/v1/epg/programmes/nope", headers=viewer_headers)).status_code == 422
    assert (await client.get(f"/api/v1/epg/programmes/{entries[0]['id']}")).status_code == 401


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"channel_id": "not-a-uuid"}, 422, "channel_id"),
        ({"channel_id": str(uuid.uuid4()), "date": "2026-13-45"}, 422, "date"),
        ({"channel_id": str(uuid.uuid4()), "tz": "Mars/Olympus"}, 422, "tz"),
        ({}, 422, "channel_id"),
        ({"channel_id": str(uuid.uuid4())}, 404, None),
    ],
)
async def test_schedule_bad_input(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    params: dict[str, str],
    status: int,
    field: str | None,
) -> None:
    r = await client.get("/api/v1/epg/schedule", params=params, headers=viewer_headers)
    assert r.status_code == status
    detail = r.json()["detail"]
    if field:
        assert any(field in err["loc"] for err in detail)
    else:
        assert detail == "channel_not_found"


async def test_malformed_json_is_422_naming_the_body(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/api/v1/auth/login",
        content=b'{"email": "viewer@tstv.local", ',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][0] == "body"
    r = await client.post("/api/v1/auth/login", json={"email": "viewer@tstv.local"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "password"]


async def test_viewer_on_admin_route_gets_403(
    client: httpx.AsyncClient, viewer_headers: dict[str, str]
) -> None:
    admin_paths = [
        p
        for p, ops in (await client.get("/api/v1/openapi.json")).json()["paths"].items()
        if p.startswith("/api/v1/admin/") and "get" in ops and "{" not in p
    ]
    assert admin_paths
    for path in admin_paths:
        r = await client.get(path, headers=viewer_headers)
        assert r.status_code == 403, path
        assert r.json()["detail"] == "admin_required"
