"""TSTV rules: admin only, validated windows, retention never below the viewer window."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI

from tests.archive_factory import create_recorded_channel
from tests.conftest import API


async def test_rules_are_admin_only(
    client: httpx.AsyncClient, viewer_headers: dict[str, str], admin_headers: dict[str, str]
) -> None:
    assert (await client.get(f"{API}/admin/tstv/rules", headers=viewer_headers)).status_code == 403
    assert (await client.get(f"{API}/admin/tstv/rules")).status_code == 401
    r = await client.put(f"{API}/admin/tstv/rules/ch1", headers=viewer_headers, json={"cutv_window_hours": 2})
    assert r.status_code == 403
    r = await client.put(
        f"{API}/admin/schedule/{uuid.uuid4()}/rights",
        headers=viewer_headers,
        json={"catchup_eligible": False},
    )
    assert r.status_code == 403
    r = await client.get(f"{API}/admin/tstv/rules", headers=admin_headers)
    assert r.status_code == 200
    rules = {c["cdn_channel_key"]: c for c in r.json()["channels"]}
    assert rules["ch3"]["cutv_window_hours"] == 48 and rules["ch3"]["catchup_window_hours"] == 168
    assert set(rules["ch1"]) >= {
        "channel_id",
        "channel_name",
        "tstv_enabled",
        "startover_enabled",
        "catchup_enabled",
        "cutv_window_hours",
        "catchup_window_hours",
    }


async def test_partial_updates_and_window_validation(
    client: httpx.AsyncClient, app: FastAPI, admin_headers: dict[str, str]
) -> None:
    start = datetime.now(UTC) - timedelta(days=1)
    ch, _ = await create_recorded_channel(app, start, 600, 1, catchup_window_hours=24, cutv_window_hours=24)
    url = f"{API}/admin/tstv/rules/{ch.id}"

    async def put(body: object) -> httpx.Response:
        return await client.put(url, headers=admin_headers, json=body)

    r = await put({"startover_enabled": False})
    assert r.status_code == 200
    assert r.json() | {"channel_id": None} == {
        "channel_id": None,
        "channel_name": ch.name,
        "cdn_channel_key": ch.cdn_channel_key,
        "tstv_enabled": True,
        "startover_enabled": False,
        "catchup_enabled": True,
        "cutv_window_hours": 24,
        "catchup_window_hours": 24,
    }
    # Widening the viewer window raises retention with it; narrowing leaves retention alone.
    r = await put({"cutv_window_hours": 72})
    assert (r.json()["cutv_window_hours"], r.json()["catchup_window_hours"]) == (72, 72)
    r = await put({"cutv_window_hours": 6})
    assert (r.json()["cutv_window_hours"], r.json()["catchup_window_hours"]) == (6, 72)
    r = await put({"catchup_window_hours": 168, "cutv_window_hours": 168})
    assert (r.json()["cutv_window_hours"], r.json()["catchup_window_hours"]) == (168, 168)
    assert r.json()["startover_enabled"] is False  # untouched fields stay

    for body, field in (
        ({"cutv_window_hours": 5}, "cutv_window_hours"),
        ({"cutv_window_hours": 0}, "cutv_window_hours"),
        ({"cutv_window_hours": "a"}, "cutv_window_hours"),
        ({"catchup_window_hours": 100}, "catchup_window_hours"),  # below the 168 h window
        ({"cutv_window_hours": 24, "catchup_window_hours": 12}, "catchup_window_hours"),
        ({"catchup_window_hours": -1}, "catchup_window_hours"),
        ({"tstv_enabled": None}, "tstv_enabled"),
        ({"tstv_enabled": "maybe"}, "tstv_enabled"),
        ({"colour": "red"}, "colour"),
    ):
        r = await put(body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["detail"][0]["loc"][-1] == field, (body, r.text)
    r = await client.get(f"{API}/admin/tstv/rules", headers=admin_headers)
    mine = next(c for c in r.json()["channels"] if c["channel_id"] == str(ch.id))
    assert (mine["cutv_window_hours"], mine["catchup_window_hours"]) == (
        168,
        168,
    )  # refused ones changed nothing

    r = await client.put(f"{API}/admin/tstv/rules/{ch.cdn_channel_key}", headers=admin_headers, json={})
    assert r.status_code == 200  # by key, and an empty update is a no-op
    r = await client.put(f"{API}/admin/tstv/rules/nope", headers=admin_headers, json={"tstv_enabled": True})
    assert r.status_code == 404 and r.json()["detail"] == "channel_not_found"


async def test_entry_rights(client: httpx.AsyncClient, app: FastAPI, admin_headers: dict[str, str]) -> None:
    _, es = await create_recorded_channel(app, datetime.now(UTC) - timedelta(days=1), 600, 1)
    url = f"{API}/admin/schedule/{es[0].id}/rights"
    r = await client.put(url, headers=admin_headers, json={"startover_eligible": False})
    assert r.status_code == 200
    assert (r.json()["startover_eligible"], r.json()["catchup_eligible"]) == (False, True)
    assert (await client.put(url, headers=admin_headers, json={"catchup_eligible": None})).status_code == 422
    r = await client.put(f"{API}/admin/schedule/{uuid.uuid4()}/rights", headers=admin_headers, json={})
    assert r.status_code == 404 and r.json()["detail"] == "schedule_entry_not_found"
    assert (
        await client.put(f"{API}/admin/schedule/x/rights", headers=admin_headers, json={})
    ).status_code == 422
