"""Catch-up catalogue: time rules at their edges, archive and rights filtering, paging, dates."""

from __future__ import annotations

import asyncio
import random
import secrets
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from app.config import Settings
from app.domain import rights
from app.main import create_app
from app.models import Channel, Profile, ScheduleEntry
from app.schemas.catalogue import CatchupChannelListOut, CatchupDayListOut, CatchupRecentListOut
from app.services.catalogue import catalogue_service
from app.services.catalogue.catalogue_cache import ListingCache
from tests.archive_factory import append_segments, create_recorded_channel, days_ago, index_channel, write_run
from tests.conftest import API, asyncpg_dsn, login, make_settings, migrate

Clock = Callable[[Any], None]


def day_start(days_back: int) -> datetime:
    return days_ago(days_back, 10)


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
    manifest = f"{url}/manifest?schedule_entry_id={e.id}"
    assert (await client.get(manifest, headers=viewer_headers)).status_code == 200

    for at in (expires, expires + timedelta(seconds=1)):
        frozen_clock(at)
        assert str(e.id) not in ids(await listing(client, url, viewer_headers))
        r = await client.get(manifest, headers=viewer_headers)
        assert (r.status_code, r.json()["detail"]) == (403, "catch_up_window_expired")
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


async def test_a_change_notified_while_a_request_checks_the_version_is_not_missed(
    app: FastAPI, settings: Settings, frozen_clock: Clock
) -> None:
    """A page is served from the cache only if the database is at the version the page was taken
    at. The listener's notification of a change can arrive while the request reads the version; it
    moves the cache to the new version, and comparing with that passed the old page off as current
    (a channel switched off still listed its programmes)."""
    ch, es = await create_recorded_channel(app, day_start(4), 600, 3, recorded=(0, 3))
    now = es[-1].end_time + timedelta(minutes=1)
    cache = ListingCache()  # fed here by hand as the listener feeds the app's own
    engine = app.state.db.reader_engine

    async def listed(notified: int | None = None) -> int:
        async with engine.connect() as conn:
            if notified is not None:  # delivered at the request's first wait: its version check
                asyncio.get_running_loop().call_soon(cache.observe, notified)
            _channel, page = await catalogue_service.channel_catchup(
                conn, cache, app.state.archive, str(ch.id), uuid.uuid4(), now, 50, 0
            )
        return page.total

    assert await listed() == 3 and await listed() == 3  # the second from the cache
    conn = await asyncpg.connect(asyncpg_dsn(settings.database_url))
    try:
        await conn.execute("UPDATE channels SET catchup_enabled = false WHERE id = $1", ch.id)
        version = await conn.fetchval("SELECT version FROM catalogue_state WHERE id = 1")
    finally:
        await conn.close()
    assert await listed(notified=version) == 0


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
    # A valid date outside the window: no catch-up that day (404, not 422: the window moves with the
    # clock, so the schema cannot exclude it), naming the field and the window.
    for day in ("2026-03-02", "2026-03-11"):  # 8 days back, tomorrow
        r = await client.get(f"{API}/tstv/catchup", headers=viewer_headers, params={"date": day})
        assert (r.status_code, r.json()) == (
            404,
            {
                "detail": "date_outside_catchup_window",
                "loc": ["query", "date"],
                "earliest": "2026-03-03",
                "latest": "2026-03-10",
            },
        )
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


# ---- the SQL listing agrees with the rights, on every archive shape ----------------------------


async def test_listing_agrees_with_the_rights_on_a_patchy_archive(
    client: httpx.AsyncClient,
    app: FastAPI,
    viewer_headers: dict[str, str],
    frozen_clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Recorded stretches that touch programme edges exactly, sit inside one programme, cross a
    boundary or cover several: the listing (SQL over the covered ranges) and its fallback (the
    archive checked per row in Python) both list exactly what `rights.catchup_decision` allows."""
    ch, es = await create_recorded_channel(app, day_start(2), 600, 40)
    key = ch.cdn_channel_key
    assert key is not None
    d = app.state.settings.hls_segment_duration
    spans = [
        (es[2].start_time + timedelta(seconds=300), es[3].start_time),  # ends where es[3] starts
        (es[6].end_time, es[6].end_time + timedelta(seconds=4 * d)),  # starts where es[6] ends
        (es[10].start_time + timedelta(seconds=120), es[10].start_time + timedelta(seconds=120 + d)),
        (es[14].end_time - timedelta(seconds=2 * d), es[15].start_time + timedelta(seconds=2 * d)),
        (es[20].start_time, es[24].end_time),
    ]
    rng = random.Random(7)
    for e in es[26:]:
        if rng.random() < 0.5:
            at = e.start_time + timedelta(seconds=d * rng.randrange(0, 600 // d))
            spans.append((at, at + timedelta(seconds=d)))
    for start, end in spans:
        write_run(app.state.settings.hls_segment_dir, key, start, end, segment_duration=d, loop_seconds=600)
    index_channel(app.state.archive, key)
    now = es[-1].end_time + timedelta(minutes=1)
    frozen_clock(now)
    expected = [
        str(e.id) for e in reversed(es) if rights.catchup_decision(ch, e, now, app.state.archive).allowed
    ]
    assert str(es[2].id) in expected and str(es[3].id) not in expected
    assert str(es[6].id) not in expected and str(es[7].id) in expected
    assert {str(es[14].id), str(es[15].id), str(es[10].id)} <= set(expected)
    assert len(app.state.archive.covered_ranges(key)) >= 8

    async def check() -> None:
        url = f"{API}/tstv/catchup/{ch.id}"
        full = await listing(client, url, viewer_headers, limit=200)
        assert ids(full) == expected and full["total"] == len(expected)
        paged: list[str] = []
        for offset in range(0, len(expected) + 7, 7):
            page = await listing(client, url, viewer_headers, limit=7, offset=offset)
            assert page["total"] == len(expected)  # also past the end
            paged += ids(page)
        assert paged == expected
        day = await listing(
            client,
            f"{API}/tstv/catchup",
            viewer_headers,
            date=es[0].start_time.date().isoformat(),
            channel_id=key,
            limit=200,
        )
        assert ids(day) == expected and day["total"] == len(expected)

    await check()
    monkeypatch.setattr(catalogue_service, "MAX_RANGE_TERMS", 0)  # the Python fallback
    await check()


async def test_long_programme_recorded_before_the_window_cutoff_stays_listed(
    client: httpx.AsyncClient, app: FastAPI, viewer_headers: dict[str, str], frozen_clock: Clock
) -> None:
    # Three-hour programmes, a two-hour window, only each programme's first minute recorded: an
    # hour and a half after es[1] ends, its recording lies before the window's cutoff, yet es[1]
    # ended inside the window and the archive holds part of it.
    ch, es = await create_recorded_channel(
        app, day_start(3), 3 * 3600, 3, recorded=(0, 3), partial_seconds=60, cutv_window_hours=2
    )
    frozen_clock(es[1].end_time + timedelta(minutes=90))
    body = await listing(client, f"{API}/tstv/catchup/{ch.id}", viewer_headers)
    assert ids(body) == [str(es[1].id)] and body["total"] == 1


def test_recorded_ranges_keeps_only_what_can_overlap() -> None:
    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    cutoff = now - timedelta(hours=2)

    def ts(minutes: float) -> float:
        return (now + timedelta(minutes=minutes)).timestamp()

    ranges = [
        (ts(-600), ts(-500)),  # before the cutoff, superseded by the next one
        (ts(-400), ts(-300)),  # the last one ending before the cutoff: kept
        (ts(-130), ts(-100)),  # across the cutoff
        (ts(-60), ts(-30)),
        (ts(0), ts(10)),  # starts at `now`: no ended programme overlaps it
    ]
    got = catalogue_service.recorded_ranges(ranges, now, cutoff, None)
    assert [(s.timestamp(), e.timestamp()) for s, e in got] == [r for r in ranges[1:4]]
    # A day listing starting 110 minutes ago: ranges ending before it cannot overlap.
    day = catalogue_service.recorded_ranges(ranges, now, cutoff, now - timedelta(minutes=110))
    assert [(s.timestamp(), e.timestamp()) for s, e in day] == [r for r in ranges[2:4]]
    # Rounded outwards to whole microseconds (a float epoch is finer than that).
    ((s, e),) = catalogue_service.recorded_ranges([(ts(-60) + 4e-7, ts(-30) + 4e-7)], now, cutoff, None)
    assert s == now - timedelta(minutes=60)
    assert e == now - timedelta(minutes=30, microseconds=-1)


async def test_listing_bookmarks_follow_the_chosen_profile(
    client: httpx.AsyncClient,
    app: FastAPI,
    viewer_headers: dict[str, str],
    admin_headers: dict[str, str],
    frozen_clock: Clock,
) -> None:
    ch, es = await create_recorded_channel(app, day_start(2), 600, 2, recorded=(0, 2), partial_seconds=6)
    frozen_clock(es[-1].end_time)
    me = (await client.get(f"{API}/auth/me", headers=viewer_headers)).json()
    async with app.state.db.sessionmaker() as session:
        second = Profile(user_id=uuid.UUID(me["id"]), name="Second")
        session.add(second)
        await session.commit()
    url = f"{API}/tstv/catchup/{ch.id}"
    # The furthest of the catch-up and start-over bookmarks, per profile.
    for kind, pos, profile in (
        ("tstv_catchup", 100.0, None),
        ("tstv_startover", 250.0, None),
        ("tstv_catchup", 42.0, second.id),
    ):
        r = await client.put(
            f"{API}/viewing/bookmarks/{kind}/{es[0].id}",
            headers=viewer_headers,
            params={"profile_id": str(profile)} if profile else {},
            json={"position_seconds": pos},
        )
        assert r.status_code == 200, r.text

    def positions(body: dict[str, Any]) -> dict[str, Any]:
        return {p["schedule_entry"]["id"]: p["bookmark_position_seconds"] for p in body["programs"]}

    for params, want in (
        ({}, 250.0),
        ({"profile_id": me["profile_id"]}, 250.0),
        ({"profile_id": str(second.id)}, 42.0),
    ):
        assert positions(await listing(client, url, viewer_headers, **params)) == {
            str(es[1].id): None,
            str(es[0].id): want,
        }
        day = await listing(
            client,
            f"{API}/tstv/catchup",
            viewer_headers,
            date=es[0].start_time.date().isoformat(),
            channel_id=str(ch.id),
            **params,
        )
        assert positions(day)[str(es[0].id)] == want
    theirs = (await client.get(f"{API}/auth/me", headers=admin_headers)).json()["profile_id"]
    for other in (theirs, str(uuid.uuid4())):
        for u in (url, f"{API}/tstv/catchup"):
            r = await client.get(u, headers=viewer_headers, params={"profile_id": other})
            assert r.status_code == 403 and r.json() == {"detail": "profile_forbidden"}


async def test_listings_have_exactly_the_response_models_shape(
    client: httpx.AsyncClient, app: FastAPI, viewer_headers: dict[str, str], frozen_clock: Clock
) -> None:
    ch, es = await create_recorded_channel(app, day_start(2), 600, 3, recorded=(0, 3), partial_seconds=6)
    frozen_clock(es[-1].end_time)
    r = await client.put(
        f"{API}/viewing/bookmarks/tstv_catchup/{es[1].id}",
        headers=viewer_headers,
        json={"position_seconds": 7},
    )
    assert r.status_code == 200
    for url, params, model in (
        (f"{API}/tstv/catchup/{ch.id}", {}, CatchupChannelListOut),
        (f"{API}/tstv/catchup", {"date": es[0].start_time.date().isoformat()}, CatchupDayListOut),
    ):
        r = await client.get(url, headers=viewer_headers, params=params)
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        assert r.json()["programs"]
        # Same keys, values and formatting as the response model would produce.
        assert r.text == model.model_validate_json(r.text).model_dump_json()


async def test_listing_follows_key_and_window_changes_at_once(
    client: httpx.AsyncClient,
    app: FastAPI,
    viewer_headers: dict[str, str],
    admin_headers: dict[str, str],
    frozen_clock: Clock,
) -> None:
    """Moving a CDN key (and so its recordings) to another channel, or changing the window, shows
    in the very next request, whether the channel is named by id or by key."""
    t0 = day_start(4)
    a, a_es = await create_recorded_channel(app, t0, 3600, 6, recorded=(0, 6), partial_seconds=60)
    b, b_es = await create_recorded_channel(app, t0, 3600, 6)  # same times, nothing recorded
    frozen_clock(a_es[-1].end_time + timedelta(minutes=1))
    a_key = a.cdn_channel_key
    by_key, by_a, by_b = (f"{API}/tstv/catchup/{r}" for r in (a_key, a.id, b.id))
    for _ in range(2):  # the second round may rely on what the first one learnt
        assert ids(await listing(client, by_key, viewer_headers)) == [str(e.id) for e in reversed(a_es)]
        assert (await listing(client, by_b, viewer_headers))["total"] == 0

    # B takes over A's key (and so A's recordings); A gets a key with nothing recorded.
    async with app.state.db.sessionmaker() as session:
        for channel, key in ((a, "x" + secrets.token_hex(4)), (b, a_key)):
            await session.execute(update(Channel).where(Channel.id == channel.id).values(cdn_channel_key=key))
            await session.flush()
        await session.commit()
    for url in (by_key, by_b):
        body = await listing(client, url, viewer_headers)
        assert body["channel_id"] == str(b.id)
        assert ids(body) == [str(e.id) for e in reversed(b_es)] and body["total"] == 6
    assert (await listing(client, by_a, viewer_headers))["total"] == 0

    # A window of 2 h keeps only the programmes that ended in the last two hours.
    r = await client.put(
        f"{API}/admin/tstv/rules/{b.id}", headers=admin_headers, json={"cutv_window_hours": 2}
    )
    assert r.status_code == 200, r.text
    body = await listing(client, by_key, viewer_headers)
    assert ids(body) == [str(e.id) for e in reversed(b_es[-2:])] and body["total"] == 2
    # Past the end, `total` still counts the whole listing.
    body = await listing(client, by_key, viewer_headers, offset=5)
    assert body["programs"] == [] and body["total"] == 2


async def test_listing_follows_the_live_edge_past_a_programme_start(
    client: httpx.AsyncClient, app: FastAPI, viewer_headers: dict[str, str], frozen_clock: Clock
) -> None:
    """A short programme that aired while the encoder lagged is listed once the recording reaches
    it, though the archive's ranges keep their start (the page is reused only while the live edge
    has not passed a programme start)."""
    t0 = day_start(1)
    ch, es = await create_recorded_channel(app, t0, 60, 3)  # [0, 60), [60, 120), [120, 180)
    hls, key = app.state.settings.hls_segment_dir, ch.cdn_channel_key or ""
    run = write_run(hls, key, t0, t0 + timedelta(seconds=54))
    index_channel(app.state.archive, key)
    frozen_clock(t0 + timedelta(seconds=130))
    url = f"{API}/tstv/catchup/{ch.id}"
    assert ids(await listing(client, url, viewer_headers)) == [str(es[0].id)]
    next_seq = append_segments(hls, run, 9, (t0 + timedelta(seconds=60)).timestamp())  # up to its start
    index_channel(app.state.archive, key)
    assert ids(await listing(client, url, viewer_headers)) == [str(es[0].id)]
    append_segments(hls, run, next_seq, (t0 + timedelta(seconds=66)).timestamp())  # past it
    index_channel(app.state.archive, key)
    body = await listing(client, url, viewer_headers)
    assert ids(body) == [str(es[1].id), str(es[0].id)] and body["total"] == 2


async def test_listing_sees_writes_made_outside_the_app(
    client: httpx.AsyncClient,
    app: FastAPI,
    settings: Settings,
    viewer_headers: dict[str, str],
    frozen_clock: Clock,
) -> None:
    """Plain SQL on another connection (another process, an operator's psql) shows in the very next
    request: the rights switch through the catalogue version, a bookmark at once."""
    ch, es = await create_recorded_channel(app, day_start(3), 600, 3, recorded=(0, 3))
    frozen_clock(es[-1].end_time + timedelta(minutes=5))
    url = f"{API}/tstv/catchup/{ch.id}"
    day = f"{API}/tstv/catchup"
    day_params = {"date": es[0].start_time.date().isoformat(), "channel_id": str(ch.id)}
    assert len(ids(await listing(client, url, viewer_headers))) == 3
    assert len(ids(await listing(client, day, viewer_headers, **day_params))) == 3
    me = (await client.get(f"{API}/auth/me", headers=viewer_headers)).json()
    conn = await asyncpg.connect(asyncpg_dsn(settings.database_url))
    try:
        await conn.execute("UPDATE schedule_entries SET catchup_eligible = false WHERE id = $1", es[1].id)
        await conn.execute(
            "INSERT INTO bookmarks (id, profile_id, content_id, content_type, position_seconds, updated_at) "
            "VALUES ($1, $2, $3, 'tstv_catchup', 123, now())",
            uuid.uuid4(),
            uuid.UUID(me["profile_id"]),
            es[2].id,
        )
    finally:
        await conn.close()
    for body in (
        await listing(client, url, viewer_headers),
        await listing(client, day, viewer_headers, **day_params),
    ):
        assert ids(body) == [str(es[2].id), str(es[0].id)] and body["total"] == 2
        assert body["programs"][0]["bookmark_position_seconds"] == 123.0


async def test_catalogue_on_sqlite(tmp_path: Path, hls_dir: Path, frozen_clock: Clock) -> None:
    """The embedded database `make run` uses: the same listing, bookmarks and change tracking
    (SQLite's row triggers, IN lists instead of arrays)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'catalogue.db'}"
    await migrate(url)
    application = create_app(make_settings(url, hls_dir))
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://test") as client,
    ):
        headers = await login(client, "viewer@tstv.local")
        ch, es = await create_recorded_channel(application, day_start(2), 600, 3, recorded=(0, 3))
        frozen_clock(es[-1].end_time + timedelta(minutes=5))
        r = await client.put(
            f"{API}/viewing/bookmarks/tstv_catchup/{es[1].id}", headers=headers, json={"position_seconds": 42}
        )
        assert r.status_code == 200, r.text
        url = f"{API}/tstv/catchup/{ch.id}"
        body = await listing(client, url, headers)
        assert ids(body) == [str(e.id) for e in reversed(es)]
        assert [p["bookmark_position_seconds"] for p in body["programs"]] == [None, 42.0, None]
        async with application.state.db.sessionmaker() as session:
            await session.execute(
                update(ScheduleEntry).where(ScheduleEntry.id == es[0].id).values(catchup_eligible=False)
            )
            await session.commit()
        body = await listing(client, url, headers)
        assert ids(body) == [str(es[2].id), str(es[1].id)] and body["total"] == 2
        day = await listing(
            client, f"{API}/tstv/catchup", headers, date=es[0].start_time.date().isoformat(), channel_id=ch.id
        )
        assert ids(day) == [str(es[2].id), str(es[1].id)]


async def test_recently_aired_is_the_newest_catchup_across_channels_even_after_midnight(
    client: httpx.AsyncClient, app: FastAPI, viewer_headers: dict[str, str], frozen_clock: Clock
) -> None:
    t0 = days_ago(3, 23) + timedelta(minutes=20)
    a, a_es = await create_recorded_channel(app, t0, 600, 4, recorded=(0, 4))  # end 23:30 .. 00:00
    b, b_es = await create_recorded_channel(  # end 23:40, 23:55, 00:10; the first not recorded
        app, t0 + timedelta(minutes=5), 900, 3, recorded=(1, 3)
    )
    async with app.state.db.sessionmaker() as session:
        await session.execute(
            update(ScheduleEntry).where(ScheduleEntry.id == a_es[2].id).values(catchup_eligible=False)
        )
        await session.commit()
    now = b_es[2].end_time + timedelta(minutes=2)  # 00:12: every programme has ended
    frozen_clock(now)
    r = await client.put(
        f"{API}/viewing/bookmarks/tstv_catchup/{a_es[3].id}",
        headers=viewer_headers,
        json={"position_seconds": 60},
    )
    assert r.status_code == 200, r.text
    url = f"{API}/tstv/recently-aired"
    # Most recently ended first; a tie broken by the later start.
    newest = [b_es[2], a_es[3], b_es[1], a_es[1], a_es[0]]
    body = await listing(client, url, viewer_headers, limit=5)
    assert ids(body) == [str(e.id) for e in newest]
    assert body["total"] >= 5 and body["limit"] == 5 and body["offset"] == 0
    assert [p["channel"]["id"] for p in body["programs"]] == [str(c.id) for c in (b, a, b, a, a)]
    assert [p["bookmark_position_seconds"] for p in body["programs"]] == [None, 60.0, None, None, None]
    page = await listing(client, url, viewer_headers, limit=2, offset=2)
    assert ids(page) == [str(b_es[1].id), str(a_es[1].id)] and page["total"] == body["total"]
    r = await client.get(url, headers=viewer_headers, params={"limit": 5})
    assert r.text == CatchupRecentListOut.model_validate_json(r.text).model_dump_json()
    # Today's catch-up (by date) has none of them yet: they all started yesterday.
    today = await listing(client, f"{API}/tstv/catchup", viewer_headers, limit=200)
    assert not {str(e.id) for e in a_es + b_es} & set(ids(today))
    # A window closing takes a programme out at once.
    frozen_clock(a_es[0].end_time + timedelta(hours=168))
    assert str(a_es[0].id) not in ids(await listing(client, url, viewer_headers, limit=200))

    assert (await client.get(url, headers=viewer_headers, params={"limit": 0})).status_code == 422
    assert (await client.get(url, headers=viewer_headers, params={"offset": -1})).status_code == 422
    assert (await client.get(url)).status_code == 401
