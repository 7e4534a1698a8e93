"""Bookmarks (furthest wins for TSTV, last write for VOD, concurrent writers) and Continue Watching."""

from __future__ import annotations

import asyncio
import itertools
import random
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from app.models import Bookmark
from app.services.viewing import bookmark_service
from tests.archive_factory import create_recorded_channel, days_ago
from tests.conftest import API

Clock = Callable[[Any], None]


def t0(days_back: int = 2) -> datetime:
    return days_ago(days_back, 9)


async def me(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = (await client.get(f"{API}/auth/me", headers=headers)).json()
    return body


async def test_tstv_bookmark_furthest_wins_and_vod_last_write_wins(
    client: httpx.AsyncClient, app: FastAPI, viewer_headers: dict[str, str]
) -> None:
    _, es = await create_recorded_channel(app, t0(), 600, 1)
    url = f"{API}/viewing/bookmarks/tstv_catchup/{es[0].id}"
    assert (await client.get(url, headers=viewer_headers)).json() == {"detail": "bookmark_not_found"}
    for pos in (100, 40.5, 250, 0):
        r = await client.put(url, headers=viewer_headers, json={"position_seconds": pos})
        assert r.status_code == 200, r.text
    body = (await client.get(url, headers=viewer_headers)).json()
    assert body["position_seconds"] == 250
    assert body["duration_seconds"] == 600  # the programme's
    assert body["content_type"] == "tstv_catchup" and body["content_id"] == str(es[0].id)

    movie = f"{API}/viewing/bookmarks/movie/{uuid.uuid4()}"
    for pos in (900, 300):
        r = await client.put(
            movie, headers=viewer_headers, json={"position_seconds": pos, "duration_seconds": 5400}
        )
        assert r.status_code == 200
    assert (await client.get(movie, headers=viewer_headers)).json()["position_seconds"] == 300


async def test_bookmark_bad_input(
    client: httpx.AsyncClient, app: FastAPI, viewer_headers: dict[str, str], admin_headers: dict[str, str]
) -> None:
    _, es = await create_recorded_channel(app, t0(), 600, 1)
    url = f"{API}/viewing/bookmarks/tstv_catchup/{es[0].id}"
    cases: list[tuple[str, dict[str, Any], str]] = [
        (url, {"position_seconds": -1}, "position_seconds"),
        (url, {"position_seconds": 601}, "position_seconds"),  # beyond the programme
        (url, {"position_seconds": "abc"}, "position_seconds"),
        (url, {}, "position_seconds"),
        (f"{API}/viewing/bookmarks/podcast/{es[0].id}", {"position_seconds": 1}, "content_type"),
        (f"{API}/viewing/bookmarks/movie/not-a-uuid", {"position_seconds": 1}, "content_id"),
        (
            f"{API}/viewing/bookmarks/movie/{uuid.uuid4()}",
            {"position_seconds": 10, "duration_seconds": 5},
            "position_seconds",
        ),
    ]
    for target, body, field in cases:
        r = await client.put(target, headers=viewer_headers, json=body)
        assert r.status_code == 422, (target, body, r.text)
        assert r.json()["detail"][0]["loc"][-1] == field
    r = await client.put(
        f"{API}/viewing/bookmarks/tstv_catchup/{uuid.uuid4()}",
        headers=viewer_headers,
        json={"position_seconds": 1},
    )
    assert r.status_code == 404 and r.json()["detail"] == "schedule_entry_not_found"
    assert (await client.put(url, json={"position_seconds": 1})).status_code == 401

    # Explicit profiles: my own works, another user's is refused without revealing anything.
    mine = (await me(client, viewer_headers))["profile_id"]
    theirs = (await me(client, admin_headers))["profile_id"]
    r = await client.put(
        url, headers=viewer_headers, params={"profile_id": mine}, json={"position_seconds": 5}
    )
    assert r.status_code == 200
    for profile in (theirs, str(uuid.uuid4())):
        r = await client.get(url, headers=viewer_headers, params={"profile_id": profile})
        assert r.status_code == 403 and r.json() == {"detail": "profile_forbidden"}
    # The admin's own (default) profile has no bookmark there.
    assert (await client.get(url, headers=admin_headers)).status_code == 404


async def test_concurrent_writers_keep_the_maximum(
    client: httpx.AsyncClient, app: FastAPI, viewer_headers: dict[str, str]
) -> None:
    """20 writers at once on separate connections (PostgreSQL); a reader never sees it go back."""
    _, es = await create_recorded_channel(app, t0(), 3600, 1)
    url = f"{API}/viewing/bookmarks/tstv_startover/{es[0].id}"
    profile = uuid.UUID((await me(client, viewer_headers))["profile_id"])
    sessionmaker = app.state.db.sessionmaker
    rng = random.Random(5)
    seen: list[float] = []
    done = asyncio.Event()

    async def reader() -> None:
        async with sessionmaker() as s:
            while not done.is_set():
                value = await s.scalar(
                    select(Bookmark.position_seconds).where(
                        Bookmark.profile_id == profile, Bookmark.content_id == es[0].id
                    )
                )
                await s.rollback()
                if value is not None:
                    seen.append(value)
                await asyncio.sleep(0)

    async def http_writer(pos: float) -> None:
        r = await client.put(url, headers=viewer_headers, json={"position_seconds": pos})
        assert r.status_code == 200, r.text
        assert r.json()["position_seconds"] >= pos  # the stored value, never below what I wrote

    async def service_writer(pos: float) -> None:
        async with sessionmaker() as s:
            row = await bookmark_service.save_bookmark(
                s, profile, "tstv_startover", es[0].id, pos, None, datetime.now(UTC)
            )
            assert row.position_seconds >= pos

    expected = 0.0
    reading = asyncio.create_task(reader())
    for round_ in range(3):
        positions = [round(rng.uniform(0, 3600), 3) for _ in range(20)]
        expected = max(expected, *positions)
        writers = [(http_writer if i % 2 else service_writer)(p) for i, p in enumerate(positions)]
        await asyncio.gather(*writers)
        r = await client.get(url, headers=viewer_headers)
        assert r.json()["position_seconds"] == expected, round_
    done.set()
    await reading
    assert seen, "the reader saw the bookmark"
    assert all(a <= b for a, b in itertools.pairwise(seen)), "the stored position went back"


async def test_continue_watching_rail(
    client: httpx.AsyncClient,
    app: FastAPI,
    viewer_headers: dict[str, str],
    admin_headers: dict[str, str],
    frozen_clock: Clock,
) -> None:
    start = t0(3)
    ch, es = await create_recorded_channel(
        app, start, 600, 6, recorded=(0, 5), partial_seconds=6, cutv_window_hours=24
    )
    # The admin account has a profile of its own: its rail holds only what this test writes.
    h = admin_headers
    now = [es[-1].end_time - timedelta(seconds=100)]  # es[5] on air

    def tick() -> None:  # each write a second after the one before: a clear "newest first"
        now[0] += timedelta(seconds=1)
        frozen_clock(now[0])

    async def put(kind: str, entry_id: uuid.UUID, pos: float) -> None:
        tick()
        r = await client.put(
            f"{API}/viewing/bookmarks/{kind}/{entry_id}", headers=h, json={"position_seconds": pos}
        )
        assert r.status_code == 200, r.text

    movie = uuid.uuid4()
    await put("tstv_catchup", es[0].id, 300)  # partly watched: on the rail
    await put("tstv_catchup", es[1].id, 590)  # finished (>= 95 %)
    await put("tstv_catchup", es[2].id, 100)  # revoked below
    await put("tstv_catchup", es[3].id, 0)  # not started
    await put("tstv_startover", es[4].id, 60)
    await put("tstv_catchup", es[4].id, 120)  # same programme twice: one item, furthest
    await put("tstv_startover", es[5].id, 200)  # on air: plays as start-over
    tick()
    r = await client.put(
        f"{API}/viewing/bookmarks/movie/{movie}",
        headers=h,
        json={"position_seconds": 60, "duration_seconds": 6000},
    )
    assert r.status_code == 200
    tick()
    await client.put(f"{API}/admin/schedule/{es[2].id}/rights", headers=h, json={"catchup_eligible": False})

    r = await client.get(f"{API}/viewing/continue-watching", headers=h)
    assert r.status_code == 200
    items = [i for i in r.json()["items"] if i["content_id"] in {str(e.id) for e in es} | {str(movie)}]
    assert [(i["content_id"], i["position_seconds"]) for i in items] == [
        (str(movie), 60),
        (str(es[5].id), 200),
        (str(es[4].id), 120),
        (str(es[0].id), 300),
    ]
    tstv = items[3]
    assert tstv["title"] == es[0].title
    assert tstv["channel"] == {"id": str(ch.id), "name": ch.name, "cdn_channel_key": ch.cdn_channel_key}
    assert tstv["duration_seconds"] == 600 and tstv["playback"] == "catchup"
    assert tstv["expires_at"].startswith((es[0].end_time + timedelta(hours=24)).isoformat()[:19])
    assert items[1]["playback"] == "startover"
    assert items[0]["progress"] == 0.01 and items[0]["channel"] is None

    # Expired items leave the rail: es[0] expires 24 h after it ended.
    frozen_clock(es[0].end_time + timedelta(hours=24, seconds=1))
    r = await client.get(f"{API}/viewing/continue-watching", headers=h)
    assert str(es[0].id) not in {i["content_id"] for i in r.json()["items"]}
    assert (
        await client.get(f"{API}/viewing/continue-watching", headers=h, params={"limit": 0})
    ).status_code == 422
