"""Cloud recordings (README, "Recordings API") against PostgreSQL and a real archive layout: a recording
outlives the catch-up window and holds its media through retention (files on disk), idempotent under 20
concurrent requests, private to its owner, the quota, series recordings fed by the schedule job,
statuses from the archive index, and the refusals.

The module has its own database (seeded like production) and archive directory, so it can reshape
the schedule of a seeded channel without touching other modules' data.
"""

from __future__ import annotations

import asyncio
import math
import secrets
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, func, select

from app.main import create_app
from app.models import Profile, Recording, ScheduleEntry, User
from app.services.accounts.auth_service import hash_password
from app.services.archive import archive_layout as layout
from app.services.catalogue.channel_catalogue import series_id as series_id_of
from app.services.viewing.recording_service import schedule_job
from tests.archive_factory import create_recorded_channel, write_run
from tests.conftest import API, DEMO_PASSWORD, create_database, drop_database, login, make_settings, migrate
from tests.playlist_helpers import media_playlists

SEG = 6
Clock = Callable[[Any], None]


@pytest.fixture(scope="module")
async def rec_app(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FastAPI]:
    name = f"tstv_rec_{secrets.token_hex(4)}"
    url = await create_database(name)
    try:
        await migrate(url)
        application = create_app(make_settings(url, tmp_path_factory.mktemp("rec-hls")))
        async with application.router.lifespan_context(application):
            yield application
    finally:
        await drop_database(name)


@pytest.fixture
async def rc(rec_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=rec_app), base_url="http://test") as c:
        yield c


async def new_viewer(app: FastAPI, client: httpx.AsyncClient, subscription: bool = True) -> dict[str, str]:
    """A fresh viewer (own quota, own recordings), logged in."""
    email = f"rec-{secrets.token_hex(4)}@tstv.local"
    async with app.state.db.sessionmaker() as session:
        user = User(
            email=email,
            password_hash=hash_password(DEMO_PASSWORD),
            role="viewer",
            subscription_active=subscription,
        )
        session.add(user)
        await session.flush()
        session.add(Profile(user_id=user.id, name="Main", is_default=True))
        await session.commit()
    return await login(client, email)


def boundary_now() -> datetime:
    """Now, rounded down to a segment boundary (programmes then start on segment boundaries)."""
    return datetime.fromtimestamp(math.floor(datetime.now(UTC).timestamp() / SEG) * SEG, UTC)


async def record(client: httpx.AsyncClient, headers: dict[str, str], entry_id: uuid.UUID) -> httpx.Response:
    return await client.post(f"{API}/recordings", json={"schedule_entry_id": str(entry_id)}, headers=headers)


def segment_files(root: Path, key: str) -> dict[float, list[Path]]:
    """Every media segment file of a channel on disk, by its start (timeline) time."""
    out: dict[float, list[Path]] = {}
    for rdir in (root / key).iterdir():
        info = layout.read_run_info(rdir)
        if info is None:
            continue
        for rendition in layout.RENDITIONS:
            for path in (rdir / rendition).glob("*.m4s"):
                seg = layout.parse_segment_name(path.name)
                assert seg is not None
                out.setdefault(info.anchor + seg.seq * info.segment_duration, []).append(path)
    return out


async def test_a_recording_outlives_catchup_and_retention_until_deleted(
    rec_app: FastAPI, rc: httpx.AsyncClient, frozen_clock: Clock
) -> None:
    now = boundary_now()
    # Four aired 10-minute programmes, all in the archive; catch-up and retention windows of 2 h.
    channel, entries = await create_recorded_channel(
        rec_app,
        now - timedelta(minutes=50),
        600,
        4,
        recorded=(0, 4),
        cutv_window_hours=2,
        catchup_window_hours=2,
    )
    key = channel.cdn_channel_key
    assert key
    root: Path = rec_app.state.settings.hls_segment_dir
    for paths in segment_files(root, key).values():
        for path in paths:
            path.write_bytes(b"x" * 10)  # so the disk the recording holds is measurable
    viewer, other = await new_viewer(rec_app, rc), await new_viewer(rec_app, rc)
    kept = entries[1]
    r = await record(rc, viewer, kept.id)
    assert r.status_code == 201, r.text
    rec = r.json()
    assert rec["status"] == "recorded" and rec["recorded_seconds"] == 600 and rec["playable"] is True
    assert rec["title"] == kept.title and rec["channel"]["id"] == str(channel.id)
    assert rec["channel"]["number"] == channel.number and rec["channel"]["name"] == channel.name
    assert datetime.fromisoformat(rec["expires_at"]) == kept.end_time + timedelta(days=90)
    assert rec["deep_link"] == f"/watch/catchup/{channel.id}/{kept.id}?recording={rec['id']}"
    # A second viewer's recording of the same programme points at the same media.
    assert (await record(rc, other, kept.id)).status_code == 201

    later = now + timedelta(hours=3)  # every catch-up window of the channel has closed
    frozen_clock(later)
    catchup = f"{API}/tstv/catchup/{channel.id}/manifest?schedule_entry_id={entries[2].id}"
    refused = await rc.get(catchup, headers=viewer)
    assert refused.status_code == 403 and refused.json()["detail"] == "catch_up_window_expired"
    manifest = f"{API}/recordings/{rec['id']}/manifest"
    _master, media = await media_playlists(rc, manifest, viewer)
    assert len(media["video"].segments) == 100 and len(media["audio"].segments) == 100
    assert media["video"].is_endlist

    # Retention at that time: everything but the recorded programme goes (files on disk).
    await rec_app.state.simlive.cleanup(later)
    s1, e1 = kept.start_time.timestamp(), kept.end_time.timestamp()
    left = segment_files(root, key)
    assert all(s1 - SEG <= start < e1 + SEG for start in left), "only the recording's range is kept"
    assert all(start in left for start in range(int(s1), int(e1), SEG)), "every recorded segment kept"
    # ... and the playlist built from the index still lists (only) files that exist.
    _master, media = await media_playlists(rc, manifest, viewer)
    assert len(media["video"].segments) == 100
    for seg in media["video"].segments:
        assert (root / seg.uri.split("/hls/", 1)[1].split("?", 1)[0]).exists()
        assert (await rc.get(seg.uri)).status_code == 200, "served through its signed URL"

    # Operators see what recordings hold, beyond the retention window (100 + 100 segments of 10 bytes).
    admin = await login(rc, "admin@tstv.local")
    cov = (await rc.get(f"{API}/admin/archive/coverage/{key}", headers=admin)).json()
    assert [(datetime.fromisoformat(h["start"]), h["seconds"]) for h in cov["held_by_recordings"]] == [
        (kept.start_time, 600)
    ]
    assert cov["held_by_recordings_bytes"] == 2000 and cov["held_beyond_retention_bytes"] == 2000

    # One viewer deleting theirs frees nothing; the last one does, at the next clean-up.
    for headers in (viewer, other):
        mine = (await rc.get(f"{API}/recordings", headers=headers)).json()["recordings"]
        assert (await rc.delete(f"{API}/recordings/{mine[0]['id']}", headers=headers)).status_code == 204
        await rec_app.state.simlive.cleanup(later)
        assert bool(segment_files(root, key)) == (headers is viewer)
    assert not any((root / key).iterdir()), "the finished run went as a whole"
    assert (await rc.get(f"{API}/recordings/{rec['id']}", headers=viewer)).status_code == 404


async def test_concurrent_requests_make_one_recording_that_only_its_owner_sees(
    rec_app: FastAPI, rc: httpx.AsyncClient
) -> None:
    _channel, entries = await create_recorded_channel(rec_app, boundary_now() + timedelta(hours=1), 600, 1)
    viewer, other = await new_viewer(rec_app, rc), await new_viewer(rec_app, rc)
    answers = await asyncio.gather(*(record(rc, viewer, entries[0].id) for _ in range(20)))
    assert sorted(a.status_code for a in answers) == [200] * 19 + [201]
    assert len({a.json()["id"] for a in answers}) == 1
    rec = answers[0].json()
    assert rec["status"] == "scheduled" and rec["recorded_seconds"] == 0 and rec["playable"] is False
    async with rec_app.state.db.sessionmaker() as session:
        rows = await session.scalar(
            select(func.count()).select_from(Recording).where(Recording.schedule_entry_id == entries[0].id)
        )
    assert rows == 1
    url = f"{API}/recordings/{rec['id']}"
    for method, path in (("GET", url), ("GET", f"{url}/manifest"), ("GET", f"{url}/manifest/video.m3u8")):
        r = await rc.request(method, path, headers=other)
        assert r.status_code == 404 and r.json()["detail"] == "recording_not_found", (path, r.text)
    r = await rc.delete(url, headers=other)
    assert r.status_code == 404 and r.json()["detail"] == "recording_not_found"
    assert (await rc.get(f"{API}/recordings", headers=other)).json()["total"] == 0
    # Still there for its owner; not playable before the programme has aired.
    assert (await rc.get(url, headers=viewer)).status_code == 200
    r = await rc.get(f"{url}/manifest", headers=viewer)
    assert r.status_code == 409 and r.json()["detail"] == "not_recorded_yet"


async def test_quota_refusal_gives_the_hours_used_and_allowed(
    rec_app: FastAPI, rc: httpx.AsyncClient
) -> None:
    _channel, entries = await create_recorded_channel(
        rec_app, boundary_now() + timedelta(hours=1), 6 * 3600, 4
    )
    viewer = await new_viewer(rec_app, rc)
    for entry in entries[:3]:
        assert (await record(rc, viewer, entry.id)).status_code == 201
    r = await record(rc, viewer, entries[3].id)
    assert r.status_code == 409, r.text
    assert r.json() == {"detail": "quota_exceeded", "used_hours": 18, "allowed_hours": 20, "needed_hours": 6}
    listing = (await rc.get(f"{API}/recordings", headers=viewer)).json()
    assert (
        listing["total"] == 3
        and listing["quota"]["used_hours"] == 18
        and listing["quota"]["allowed_hours"] == 20
    )
    # Newest programme first.
    assert [x["schedule_entry_id"] for x in listing["recordings"]] == [
        str(e.id) for e in reversed(entries[:3])
    ]
    assert (await rc.get(f"{API}/recordings?limit=1&offset=2", headers=viewer)).json()["recordings"][0][
        "schedule_entry_id"
    ] == str(entries[0].id)


@pytest.mark.parametrize("when", ["now", "before_a_locked_episode"])
async def test_a_series_recording_picks_up_the_episodes_the_schedule_job_adds(
    rec_app: FastAPI, rc: httpx.AsyncClient, frozen_clock: Clock, when: str
) -> None:
    now = datetime.now(UTC)
    series = series_id_of("Northern Lights")  # ch1, every 50 minutes
    sm = rec_app.state.db.sessionmaker
    if when == "before_a_locked_episode":  # the first episode the job re-adds has no catch-up rights
        async with sm() as session:
            locked_start = await session.scalar(
                select(func.min(ScheduleEntry.start_time)).where(
                    ScheduleEntry.series_id == series,
                    ScheduleEntry.start_time > now + timedelta(hours=3),
                    ~ScheduleEntry.catchup_eligible,
                )
            )
        assert locked_start is not None
        now = locked_start - timedelta(hours=2, minutes=5)
    frozen_clock(now)
    horizon = now + timedelta(hours=2)
    async with sm() as session:  # the schedule has not been filled beyond two hours yet
        await session.execute(
            delete(ScheduleEntry).where(ScheduleEntry.series_id == series, ScheduleEntry.start_time > horizon)
        )
        await session.commit()
        # One airing in 13 carries no catch-up rights (the seed's locks): those are never recorded.
        eligible_now = await session.scalar(
            select(func.count()).where(
                ScheduleEntry.series_id == series,
                ScheduleEntry.end_time > now,
                ScheduleEntry.catchup_eligible,
            )
        )
    viewer = await new_viewer(rec_app, rc)
    r = await rc.post(f"{API}/recordings/series", json={"series_id": series}, headers=viewer)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["series_title"] == "Northern Lights" and made["episodes"] == eligible_now >= 1
    again = await rc.post(f"{API}/recordings/series", json={"series_id": series}, headers=viewer)
    assert again.status_code == 200 and again.json()["id"] == made["id"]

    settings, archive = rec_app.state.settings, rec_app.state.archive
    async with sm() as session:
        added = await schedule_job(session, now, settings, archive)
        first_new = await session.scalar(
            select(ScheduleEntry)
            .where(
                ScheduleEntry.series_id == series,
                ScheduleEntry.start_time > horizon,
                ScheduleEntry.catchup_eligible,
            )
            .order_by(ScheduleEntry.start_time)
            .limit(1)
        )
        locked = set(
            await session.scalars(
                select(ScheduleEntry.id).where(
                    ScheduleEntry.series_id == series, ~ScheduleEntry.catchup_eligible
                )
            )
        )
    assert first_new is not None and added > 0 and locked
    listing = (await rc.get(f"{API}/recordings?limit=200", headers=viewer)).json()
    by_entry = {x["schedule_entry_id"]: x for x in listing["recordings"]}
    assert by_entry[str(first_new.id)]["series_recording"] == {"id": made["id"], "series_id": series}
    assert by_entry[str(first_new.id)]["status"] == "scheduled"
    assert not {str(e) for e in locked} & by_entry.keys()
    # A week of episodes is more than 20 hours: the ones that no longer fit are skipped, and it says so.
    assert listing["total"] == made["episodes"] + added == 120
    assert listing["quota"]["used_hours"] == 20
    mine = (await rc.get(f"{API}/recordings/series/{made['id']}", headers=viewer)).json()
    assert mine["episodes"] == 120 and mine["skipped_episodes"] > 0
    assert mine["last_skipped_reason"] == "quota_exceeded"
    async with sm() as session:  # nothing is considered twice
        assert await schedule_job(session, now, settings, archive) == 0
    listed = (await rc.get(f"{API}/recordings/series", headers=viewer)).json()["series"]
    assert [s["id"] for s in listed] == [made["id"]]
    r = await rc.delete(f"{API}/recordings/series/{made['id']}?keep_recordings=false", headers=viewer)
    assert r.status_code == 204
    assert (await rc.get(f"{API}/recordings", headers=viewer)).json()["total"] == 0
    assert (await rc.get(f"{API}/recordings/series/{made['id']}", headers=viewer)).status_code == 404


async def test_statuses_follow_the_archive(
    rec_app: FastAPI, rc: httpx.AsyncClient, frozen_clock: Clock
) -> None:
    now = boundary_now()
    channel, entries = await create_recorded_channel(rec_app, now - timedelta(minutes=30), 600, 2)
    assert channel.cdn_channel_key
    s0 = entries[0].start_time
    root = rec_app.state.settings.hls_segment_dir
    # The encoder was stopped during the first programme: 2 minutes in, back after 5.
    write_run(root, channel.cdn_channel_key, s0, s0 + timedelta(seconds=120))
    write_run(root, channel.cdn_channel_key, s0 + timedelta(seconds=300), entries[0].end_time)
    rec_app.state.archive.rescan_channel(channel.cdn_channel_key)
    viewer = await new_viewer(rec_app, rc)

    frozen_clock(s0 + timedelta(seconds=200))  # on air, and the next one upcoming
    on_air = (await record(rc, viewer, entries[0].id)).json()
    upcoming = (await record(rc, viewer, entries[1].id)).json()
    assert (on_air["status"], on_air["recorded_seconds"]) == ("recording", 120)
    assert (upcoming["status"], upcoming["recorded_seconds"]) == ("scheduled", 0)
    frozen_clock(s0 + timedelta(seconds=400))
    r = (await rc.get(f"{API}/recordings/{on_air['id']}", headers=viewer)).json()
    assert (r["status"], r["recorded_seconds"]) == ("recording", 220)

    frozen_clock(now)  # both have aired; the encoder never recorded the second one
    r = (await rc.get(f"{API}/recordings/{on_air['id']}", headers=viewer)).json()
    assert (r["status"], r["recorded_seconds"], r["playable"]) == ("partial", 420, True)
    r = (await rc.get(f"{API}/recordings/{upcoming['id']}", headers=viewer)).json()
    assert (r["status"], r["recorded_seconds"], r["playable"]) == ("failed", 0, False)
    _master, media = await media_playlists(rc, f"{API}/recordings/{on_air['id']}/manifest", viewer)
    assert len(media["video"].segments) == 420 // SEG  # the gap is skipped
    r = await rc.get(f"{API}/recordings/{upcoming['id']}/manifest", headers=viewer)
    assert r.status_code == 404 and r.json()["detail"] == "not_recorded"
    nosub = await new_viewer(rec_app, rc, subscription=False)
    assert (await record(rc, nosub, entries[0].id)).status_code == 201
    nosub_rec = (await rc.get(f"{API}/recordings", headers=nosub)).json()["recordings"][0]
    r = await rc.get(f"{API}/recordings/{nosub_rec['id']}/manifest", headers=nosub)
    assert r.status_code == 403 and r.json()["detail"] == "subscription_required"


async def test_a_recording_on_air_plays_from_its_start_as_start_over_does(
    rec_app: FastAPI, rc: httpx.AsyncClient, frozen_clock: Clock
) -> None:
    now = boundary_now()
    # Two 10-minute programmes in the archive; the clock puts the first one on air, 5 minutes in.
    _channel, entries = await create_recorded_channel(
        rec_app, now - timedelta(minutes=30), 600, 2, recorded=(0, 2)
    )
    s0, e0 = entries[0].start_time, entries[0].end_time
    viewer = await new_viewer(rec_app, rc)
    frozen_clock(s0 + timedelta(seconds=300))
    on_air = (await record(rc, viewer, entries[0].id)).json()
    upcoming = (await record(rc, viewer, entries[1].id)).json()
    assert (on_air["status"], on_air["playable"], upcoming["playable"]) == ("recording", True, False)
    manifest = f"{API}/recordings/{on_air['id']}/manifest"

    def check(form: str, media: dict[str, Any]) -> None:
        for pl in media.values():
            assert pl.playlist_type == form and pl.is_endlist is (form == "vod")
            assert pl.segments[0].program_date_time == s0, "from the programme's start"

    # On air: an EVENT playlist up to now, no ENDLIST, never cached (it grows); DASH is dynamic.
    master, media = await media_playlists(rc, manifest, viewer)
    check("event", media)
    assert len(media["video"].segments) == 300 // SEG
    video = master.playlists[0].absolute_uri
    r = await rc.get(video, headers=viewer)
    assert r.headers["cache-control"] == "no-cache"
    frozen_clock(s0 + timedelta(seconds=360))  # the same playback's playlist has grown
    assert m3u8_segments(await rc.get(video, headers=viewer)) == 360 // SEG
    mpd = await rc.get(f"{manifest}?format=dash", headers=viewer)
    assert mpd.status_code == 200 and 'type="dynamic"' in mpd.text

    # Ended (and the archive holds its end): VOD of the whole programme with ENDLIST, cached; DASH static.
    frozen_clock(e0 + timedelta(seconds=SEG))
    master, media = await media_playlists(rc, manifest, viewer)
    check("vod", media)
    assert len(media["video"].segments) == 600 // SEG
    r = await rc.get(master.playlists[0].absolute_uri, headers=viewer)
    assert r.headers["cache-control"] == "private, max-age=30"
    mpd = await rc.get(f"{manifest}?format=dash", headers=viewer)
    assert mpd.status_code == 200 and 'type="static"' in mpd.text

    # Refusals unchanged: before its start a recording does not play yet.
    frozen_clock(s0 + timedelta(seconds=300))
    r = await rc.get(f"{API}/recordings/{upcoming['id']}/manifest", headers=viewer)
    assert r.status_code == 409 and r.json()["detail"] == "not_recorded_yet"


def m3u8_segments(r: httpx.Response) -> int:
    assert r.status_code == 200, r.text
    return sum(1 for line in r.text.splitlines() if line.startswith("#EXTINF"))


async def test_refusals_and_bad_input(rec_app: FastAPI, rc: httpx.AsyncClient) -> None:
    now = boundary_now()
    viewer = await new_viewer(rec_app, rc)
    # 422 naming the field; unknown ids 404.
    r = await rc.post(f"{API}/recordings", json={"schedule_entry_id": "nope"}, headers=viewer)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "schedule_entry_id"]
    r = await rc.get(f"{API}/recordings/nope", headers=viewer)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["path", "recording_id"]
    r = await rc.get(f"{API}/recordings?limit=0", headers=viewer)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "limit"]
    unknown = uuid.uuid4()
    r = await record(rc, viewer, unknown)
    assert r.status_code == 404 and r.json()["detail"] == "schedule_entry_not_found"
    for method, path, detail in (
        ("GET", f"/recordings/{unknown}", "recording_not_found"),
        ("DELETE", f"/recordings/{unknown}", "recording_not_found"),
        ("GET", f"/recordings/{unknown}/manifest", "recording_not_found"),
        ("GET", f"/recordings/series/{unknown}", "series_recording_not_found"),
        ("DELETE", f"/recordings/series/{unknown}", "series_recording_not_found"),
    ):
        r = await rc.request(method, f"{API}{path}", headers=viewer)
        assert r.status_code == 404 and r.json()["detail"] == detail, (method, path, r.text)
    r = await rc.post(f"{API}/recordings/series", json={"series_id": "no-such-series"}, headers=viewer)
    assert r.status_code == 404 and r.json()["detail"] == "series_not_found"
    assert (await rc.get(f"{API}/recordings")).status_code == 401
    r = await rc.delete(f"{API}/recordings/series", headers=viewer)  # not a recording id
    assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD, POST"

    # A programme of another channel.
    _ch_a, entries_a = await create_recorded_channel(rec_app, now + timedelta(hours=1), 600, 1)
    ch_b, _ = await create_recorded_channel(rec_app, now + timedelta(hours=1), 600, 1)
    body = {"schedule_entry_id": str(entries_a[0].id), "channel_id": str(ch_b.id)}
    r = await rc.post(f"{API}/recordings", json=body, headers=viewer)
    assert r.status_code == 404 and r.json()["detail"] == "schedule_entry_not_found"
    # Not eligible: the channel has no catch-up, or the programme is switched off.
    _, no_catchup = await create_recorded_channel(
        rec_app, now + timedelta(hours=1), 600, 1, catchup_enabled=False
    )
    r = await record(rc, viewer, no_catchup[0].id)
    assert r.status_code == 403 and r.json()["detail"] == "program_not_eligible"
    async with rec_app.state.db.sessionmaker() as session:
        entry = await session.get(ScheduleEntry, entries_a[0].id)
        assert entry is not None
        entry.catchup_eligible = False
        await session.commit()
    r = await record(rc, viewer, entries_a[0].id)
    assert r.status_code == 403 and r.json()["detail"] == "program_not_eligible"
    # Aired and expired from catch-up (in the archive), or aired and never recorded: gone.
    _, expired = await create_recorded_channel(
        rec_app, now - timedelta(hours=4), 600, 1, recorded=(0, 1), cutv_window_hours=2
    )
    r = await record(rc, viewer, expired[0].id)
    assert r.status_code == 409 and r.json()["detail"] == "no_longer_available"
    assert datetime.fromisoformat(r.json()["expires_at"]) == expired[0].end_time + timedelta(hours=2)
    _, never = await create_recorded_channel(rec_app, now - timedelta(hours=1), 600, 1)
    r = await record(rc, viewer, never[0].id)
    assert r.status_code == 409 and r.json()["detail"] == "no_longer_available"
    # Beyond the guide's 7 days.
    _, far = await create_recorded_channel(rec_app, now + timedelta(days=8), 600, 1)
    r = await record(rc, viewer, far[0].id)
    assert r.status_code == 409 and r.json()["detail"] == "not_in_guide_yet"
    # None of the refusals left a recording behind.
    assert (await rc.get(f"{API}/recordings", headers=viewer)).json()["total"] == 0
