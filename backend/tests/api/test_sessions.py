"""TSTV sessions: start with rights checked, heartbeats move the bookmark, owner only."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from tests.archive_factory import create_recorded_channel, days_ago
from tests.conftest import API

Clock = Callable[[Any], None]


def t0() -> datetime:
    return days_ago(1, 7)


async def test_catchup_session_heartbeats_move_the_bookmark(
    client: httpx.AsyncClient,
    app: FastAPI,
    viewer_headers: dict[str, str],
    nosub_headers: dict[str, str],
    frozen_clock: Clock,
) -> None:
    ch, es = await create_recorded_channel(app, t0(), 600, 2, recorded=(0, 2), partial_seconds=6)
    frozen_clock(es[-1].end_time + timedelta(minutes=1))
    body = {"channel_id": ch.cdn_channel_key, "schedule_entry_id": str(es[0].id), "session_type": "catchup"}
    r = await client.post(f"{API}/tstv/sessions", headers=viewer_headers, json=body)
    assert r.status_code == 201, r.text
    sess = r.json()
    assert (
        sess["last_position_s"] == 0
        and sess["completed"] is False
        and sess["channel_id"] == ch.cdn_channel_key
    )
    url = f"{API}/tstv/sessions/{sess['id']}"
    bookmark = f"{API}/viewing/bookmarks/tstv_catchup/{es[0].id}"

    for pos, stored in ((30, 30), (90.5, 90.5), (60, 90.5)):
        r = await client.patch(url, headers=viewer_headers, json={"last_position_s": pos})
        assert r.status_code == 200, r.text
        assert r.json()["last_position_s"] == pos
        assert (await client.get(bookmark, headers=viewer_headers)).json()["position_seconds"] == stored

    # Another user's session does not exist for me; bad values name the field.
    assert (await client.patch(url, headers=nosub_headers, json={"last_position_s": 1})).status_code == 404
    assert (await client.patch(f"{API}/tstv/sessions/999999999", headers=viewer_headers, json={})).json() == {
        "detail": "session_not_found"
    }
    for payload in ({"last_position_s": -1}, {"last_position_s": 601}, {"last_position_s": "x"}):
        r = await client.patch(url, headers=viewer_headers, json=payload)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "last_position_s", r.text
    assert (
        await client.patch(f"{API}/tstv/sessions/abc", headers=viewer_headers, json={})
    ).status_code == 422

    # Completing marks the programme watched: it leaves Continue Watching.
    r = await client.patch(url, headers=viewer_headers, json={"completed": True})
    assert r.status_code == 200 and r.json()["completed"] is True
    assert (await client.get(bookmark, headers=viewer_headers)).json()["position_seconds"] == 600
    rail = (await client.get(f"{API}/viewing/continue-watching", headers=viewer_headers)).json()["items"]
    assert str(es[0].id) not in {i["content_id"] for i in rail}


async def test_startover_session_and_refusals(
    client: httpx.AsyncClient,
    app: FastAPI,
    viewer_headers: dict[str, str],
    admin_headers: dict[str, str],
    frozen_clock: Clock,
) -> None:
    ch, es = await create_recorded_channel(app, t0(), 600, 3, recorded=(0, 1), partial_seconds=6)
    other, _ = await create_recorded_channel(app, t0(), 600, 1)
    frozen_clock(es[1].start_time + timedelta(seconds=200))  # es[1] on air

    async def post(**fields: Any) -> httpx.Response:
        body = {
            "channel_id": ch.cdn_channel_key,
            "schedule_entry_id": str(es[1].id),
            "session_type": "startover",
        }
        return await client.post(f"{API}/tstv/sessions", headers=viewer_headers, json={**body, **fields})

    r = await post()
    assert r.status_code == 201
    r = await client.patch(
        f"{API}/tstv/sessions/{r.json()['id']}", headers=viewer_headers, json={"last_position_s": 150}
    )
    assert r.status_code == 200
    r = await client.get(f"{API}/viewing/bookmarks/tstv_startover/{es[1].id}", headers=viewer_headers)
    assert r.json()["position_seconds"] == 150

    assert (await post(schedule_entry_id=str(es[2].id))).json()["detail"] == "not_on_air"
    assert (await post(session_type="catchup")).json()["detail"] == "catchup_not_available_yet"
    r = await post(schedule_entry_id=str(es[0].id), session_type="catchup")
    assert r.status_code == 201
    assert (await post(channel_id="nope")).status_code == 404
    assert (await post(channel_id=other.cdn_channel_key)).json() == {"detail": "schedule_entry_not_found"}
    assert (await post(schedule_entry_id=str(uuid.uuid4()))).status_code == 404
    for field, value in (("session_type", "live"), ("schedule_entry_id", "x"), ("channel_id", "")):
        r = await post(**{field: value})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == field
    admin_profile = (await client.get(f"{API}/auth/me", headers=admin_headers)).json()["profile_id"]
    assert (await post(profile_id=admin_profile)).json() == {"detail": "profile_forbidden"}

    r = await client.put(
        f"{API}/admin/tstv/rules/{ch.id}", headers=admin_headers, json={"startover_enabled": False}
    )
    assert r.status_code == 200
    r = await post()
    assert r.status_code == 403 and r.json()["detail"] == "startover_not_allowed"
