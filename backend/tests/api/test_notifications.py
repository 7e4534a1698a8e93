"""Expiry notifications: one per profile and programme, never for finished or expired items."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from app.services.viewing.notification_service import run_expiry_notifications
from tests.archive_factory import create_recorded_channel, days_ago
from tests.conftest import API

Clock = Callable[[Any], None]


async def test_expiry_job_creates_each_notification_once(
    client: httpx.AsyncClient,
    app: FastAPI,
    viewer_headers: dict[str, str],
    nosub_headers: dict[str, str],
    frozen_clock: Clock,
) -> None:
    start = days_ago(2, 6)
    # Programme 1 and 3 are episodes of Northern Lights (odd numbers), 0 and 2 are not.
    ch, es = await create_recorded_channel(
        app, start, 3600, 5, recorded=(0, 5), partial_seconds=6, cutv_window_hours=48
    )
    _gone, old = await create_recorded_channel(
        app, start, 3600, 1, recorded=(0, 1), partial_seconds=6, cutv_window_hours=2
    )
    es = [old[0], *es[1:]]  # programme 0 from a 2-hour window channel: long expired when the job runs
    h = nosub_headers  # an account whose notifications only this test makes

    async def put(entry_id: uuid.UUID, pos: float) -> None:
        r = await client.put(
            f"{API}/viewing/bookmarks/tstv_catchup/{entry_id}", headers=h, json={"position_seconds": pos}
        )
        assert r.status_code == 200, r.text

    frozen_clock(es[-1].end_time)
    await put(es[0].id, 100)  # expired by the time the job runs
    await put(es[1].id, 1200)  # started, 22 h 30 min left: notified
    await put(es[2].id, 3500)  # finished: never
    await put(es[3].id, 0)  # not started: never
    await put(es[4].id, 50)  # more than 24 h left: not yet

    now = es[1].end_time + timedelta(hours=48) - timedelta(hours=22, minutes=30)
    assert es[0].end_time + timedelta(hours=2) <= now
    frozen_clock(now)
    archive = app.state.archive
    created = [await run_expiry_notifications(app.state.db.sessionmaker, now, archive) for _ in range(3)]
    assert created[0] >= 1 and created[1:] == [0, 0]

    r = await client.get(f"{API}/notifications", headers=h)
    assert r.status_code == 200
    notes = [n for n in r.json()["notifications"] if n["schedule_entry_id"] in {str(e.id) for e in es}]
    mine = {n["schedule_entry_id"] for n in notes}
    assert mine == {str(es[1].id)}
    note = notes[0]
    assert note["body"] == "Episode 1 of Northern Lights expires in 22 h"
    assert note["deep_link"] == f"/watch/catchup/{ch.id}/{es[1].id}"
    assert note["read"] is False and note["kind"] == "catchup_expiring"

    # Later runs: es[4] comes within 24 h and gets its one notice; es[1] is not notified again.
    later = es[4].end_time + timedelta(hours=25)
    frozen_clock(later)
    assert await run_expiry_notifications(app.state.db.sessionmaker, later, archive) >= 1
    assert await run_expiry_notifications(app.state.db.sessionmaker, later, archive) == 0
    r = await client.get(f"{API}/notifications", headers=h)
    notes = [n for n in r.json()["notifications"] if n["schedule_entry_id"] in {str(e.id) for e in es}]
    assert sorted(n["schedule_entry_id"] for n in notes) == sorted([str(es[1].id), str(es[4].id)])
    assert notes[-1]["body"] == f"{es[4].title} expires in 23 h" or "expires in 23 h" in notes[0]["body"]

    # Reading one puts it after the unread ones; another user cannot read it.
    first = notes[0]["id"]
    assert (await client.post(f"{API}/notifications/{first}/read", headers=viewer_headers)).status_code == 404
    r = await client.post(f"{API}/notifications/{first}/read", headers=h)
    assert r.status_code == 200 and r.json()["read"] is True
    listing = (await client.get(f"{API}/notifications", headers=h)).json()
    flags = [n["read"] for n in listing["notifications"]]
    assert flags == sorted(flags)  # unread (False) first
    assert listing["notifications"][-1]["id"] == first or flags.count(True) > 1
    assert (await client.post(f"{API}/notifications/not-a-uuid/read", headers=h)).status_code == 422
    assert (await client.post(f"{API}/notifications/{uuid.uuid4()}/read", headers=h)).json() == {
        "detail": "notification_not_found"
    }
    assert (await client.get(f"{API}/notifications")).status_code == 401
