"""Playlists built from a synthetic archive in the real on-disk layout (no FFmpeg needed).

The timeline (seconds after T0, programmes of 60 s):
  run A  [0, 150)    programmes 0, 1 and the first half of 2
  gap    [150, 162)  encoder down
  run B  [162, 400)  rest of 2, then 3..5, and 6 up to 400 (key rotated: another KID)
  nothing after 400: programmes 7.. are not recorded
"""

from __future__ import annotations

import math
import secrets
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import m3u8
import pytest
from fastapi import FastAPI

from app.config import Settings
from app.models import ScheduleEntry
from app.services.archive.archive_layout import INIT_NAMES, RunInfo
from app.services.playback.playback_service import END_OF_PROGRAMME_GRACE_SEGMENTS, cdn_base_for
from tests.archive_factory import write_run
from tests.playlist_helpers import ArchiveChannel, create_channel, get_playlist, media_playlists

PROG = 60


@pytest.fixture(scope="module")
def t0() -> datetime:
    now = datetime.now(UTC).timestamp()
    return datetime.fromtimestamp(math.floor(now / 600) * 600 - 3 * 3600, UTC)


@pytest.fixture(scope="module")
async def archive(app: FastAPI, settings: Settings, t0: datetime) -> tuple[ArchiveChannel, RunInfo, RunInfo]:
    ch = await create_channel(app, t0, PROG, 12)
    root = settings.hls_segment_dir
    run_a = write_run(root, ch.key, t0, t0 + timedelta(seconds=150), kid=secrets.token_hex(16))
    run_b = write_run(
        root,
        ch.key,
        t0 + timedelta(seconds=162),
        t0 + timedelta(seconds=400),
        kid=secrets.token_hex(16),
    )
    app.state.archive.rescan_channel(ch.key)
    return ch, run_a, run_b


def _url(ch: ArchiveChannel, mode: str, entry: int | None = None) -> str:
    base = f"/api/v1/tstv/{mode}/{ch.channel.id}/manifest"
    return base if entry is None else f"{base}?schedule_entry_id={ch.entries[entry].id}"


def _pdt_of_first(pl: Any) -> datetime:
    return pl.segments[0].current_program_date_time  # type: ignore[no-any-return]


async def test_catchup_is_vod_of_exactly_the_programme(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    archive: Any,
    t0: datetime,
    frozen_clock: Callable[[Any], None],
    settings: Settings,
) -> None:
    ch, run_a, _ = archive
    frozen_clock(t0 + timedelta(seconds=700))
    master, media = await media_playlists(client, _url(ch, "catchup", 0), viewer_headers)
    stream = master.playlists[0].stream_info
    assert stream.codecs and stream.bandwidth and master.media[0].group_id == stream.audio
    for rendition, pl in media.items():
        assert pl.playlist_type == "vod" and pl.is_endlist
        assert len(pl.segments) == 10
        assert sum(s.duration for s in pl.segments) == pytest.approx(PROG)
        assert _pdt_of_first(pl) == t0
        assert pl.segments[-1].current_program_date_time == t0 + timedelta(seconds=54)
        assert pl.start is not None and pl.start.time_offset == pytest.approx(0, abs=0.001)
        assert pl.media_sequence == int(t0.timestamp()) // 6
        key = pl.segments[0].key
        assert key.method == "SAMPLE-AES-CTR" and key.keyformat == "identity"
        assert run_a.kid in key.uri
        cdn = cdn_base_for(settings.cdn_base_url, "test")  # the test client's host name
        assert cdn == "http://test:8081/hls"
        assert pl.segments[0].init_section.uri.startswith(cdn)
        assert f"/{run_a.run_id}/{rendition}/init_" in pl.segments[0].init_section.uri
        assert all(s.uri.startswith(cdn + f"/{ch.key}/{run_a.run_id}/{rendition}/") for s in pl.segments)
        assert not any(s.discontinuity for s in pl.segments)


async def test_audio_segments_longer_than_video_do_not_start_the_audio_a_segment_early(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    app: FastAPI,
    settings: Settings,
    t0: datetime,
    frozen_clock: Callable[[Any], None],
) -> None:
    """FFmpeg's audio segments end a few ms after the video's (whole AAC frames), so the audio
    segment before a programme reaches 11 ms into it. Playlists that began with it started the audio
    6 s before the video, and Shaka then started start-over a segment off."""
    ch = await create_channel(app, t0, PROG, 3)
    root = settings.hls_segment_dir
    run = write_run(root, ch.key, t0, t0 + timedelta(seconds=180), renditions=("video",))
    audio = root / ch.key / run.run_id / "audio"
    (audio / INIT_NAMES["audio"]).touch()
    for seq in range(30):
        wall = (t0 + timedelta(seconds=6 * seq)).strftime("%Y%m%dT%H%M%S")
        (audio / f"{wall}_{seq:06d}_6011000.m4s").touch()
    app.state.archive.rescan_channel(ch.key)
    frozen_clock(t0 + timedelta(seconds=200))
    for mode in ("catchup", "startover"):
        frozen_clock(t0 + timedelta(seconds=200 if mode == "catchup" else 90))
        _, media = await media_playlists(client, _url(ch, mode, 1), viewer_headers)
        for rendition, pl in media.items():
            assert _pdt_of_first(pl) == t0 + timedelta(seconds=PROG), (mode, rendition)
            assert pl.start is not None and pl.start.time_offset == pytest.approx(0, abs=0.001)
        if mode == "catchup":
            assert len(media["video"].segments) == len(media["audio"].segments) == 10


async def test_programme_across_restart_and_key_change_has_discontinuity(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    archive: Any,
    t0: datetime,
    frozen_clock: Callable[[Any], None],
) -> None:
    ch, run_a, run_b = archive
    frozen_clock(t0 + timedelta(seconds=700))
    _, media = await media_playlists(client, _url(ch, "catchup", 2), viewer_headers)
    for pl in media.values():
        segs = pl.segments
        assert len(segs) == 5 + 3  # 120..150 from run A, 162..180 from run B: the gap is skipped
        assert [s.discontinuity for s in segs] == [False] * 5 + [True] + [False] * 2
        assert segs[5].current_program_date_time == t0 + timedelta(seconds=162)
        assert run_a.kid in segs[0].key.uri and run_b.kid in segs[5].key.uri
        assert run_b.run_id in segs[5].init_section.uri
        assert pl.discontinuity_sequence == 0


async def test_not_recorded_programme_is_404(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    archive: Any,
    t0: datetime,
    frozen_clock: Callable[[Any], None],
) -> None:
    ch, *_ = archive
    frozen_clock(t0 + timedelta(seconds=700))
    r = await client.get(_url(ch, "catchup", 8), headers=viewer_headers)
    assert r.status_code == 404 and r.json()["detail"] == "not_recorded"


async def test_startover_event_grows_then_closes(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    archive: Any,
    t0: datetime,
    frozen_clock: Callable[[Any], None],
) -> None:
    ch, *_ = archive
    frozen_clock(t0 + timedelta(seconds=200))  # programme 3 (180..240) is on air
    info = (await client.get(f"/api/v1/tstv/startover/{ch.channel.id}", headers=viewer_headers)).json()
    assert info["schedule_entry"]["id"] == str(ch.entries[3].id)
    assert info["elapsed_seconds"] == 20 and info["startover_available"] is True

    master, media = await media_playlists(client, _url(ch, "startover", 3), viewer_headers)
    video = media["video"]
    assert video.playlist_type == "event" and not video.is_endlist
    assert len(video.segments) == 4 and _pdt_of_first(video) == t0 + timedelta(seconds=180)
    first_sequence = video.media_sequence

    frozen_clock(t0 + timedelta(seconds=215))
    video = await get_playlist(client, master.playlists[0].absolute_uri, viewer_headers)
    assert len(video.segments) == 6 and video.media_sequence == first_sequence

    frozen_clock(t0 + timedelta(seconds=250))  # ended: the same URL now answers a closed playlist
    video = await get_playlist(client, master.playlists[0].absolute_uri, viewer_headers)
    assert video.is_endlist and len(video.segments) == 10 and video.media_sequence == first_sequence


async def test_startover_stays_open_until_the_archive_holds_the_programme_end(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    app: FastAPI,
    settings: Settings,
    frozen_clock: Callable[[Any], None],
) -> None:
    # The segment with a programme's last seconds is written after they air: closing the playlist
    # at the end itself would lose it (players never refresh a closed playlist).
    start = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    ch = await create_channel(app, start, PROG, 2)
    write_run(settings.hls_segment_dir, ch.key, start, start + timedelta(seconds=PROG - 6))
    app.state.archive.rescan_channel(ch.key)
    frozen_clock(start + timedelta(seconds=30))
    master, _ = await media_playlists(client, _url(ch, "startover", 0), viewer_headers)
    uri = master.playlists[0].absolute_uri

    frozen_clock(start + timedelta(seconds=PROG + 1))  # ended on air, last segment not yet written
    video = await get_playlist(client, uri, viewer_headers)
    assert not video.is_endlist and len(video.segments) == PROG // 6 - 1

    write_run(
        settings.hls_segment_dir,
        ch.key,
        start + timedelta(seconds=PROG - 6),
        start + timedelta(seconds=PROG + 6),
    )
    app.state.archive.rescan_channel(ch.key)
    video = await get_playlist(client, uri, viewer_headers)
    assert video.is_endlist and sum(s.duration for s in video.segments) >= PROG


async def test_startover_closes_after_a_grace_when_the_encoder_is_gone(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    app: FastAPI,
    settings: Settings,
    frozen_clock: Callable[[Any], None],
) -> None:
    start = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
    ch = await create_channel(app, start, PROG, 2)
    write_run(settings.hls_segment_dir, ch.key, start, start + timedelta(seconds=PROG // 2))
    app.state.archive.rescan_channel(ch.key)
    frozen_clock(start + timedelta(seconds=PROG // 2))
    master, _ = await media_playlists(client, _url(ch, "startover", 0), viewer_headers)
    frozen_clock(start + timedelta(seconds=PROG + 6 * END_OF_PROGRAMME_GRACE_SEGMENTS))
    video = await get_playlist(client, master.playlists[0].absolute_uri, viewer_headers)
    assert video.is_endlist and len(video.segments) == PROG // 12


async def test_live_window_slides_with_stable_numbers(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    archive: Any,
    t0: datetime,
    frozen_clock: Callable[[Any], None],
    settings: Settings,
) -> None:
    ch, *_ = archive
    frozen_clock(t0 + timedelta(seconds=300))
    _, media = await media_playlists(client, _url(ch, "live"), viewer_headers)
    video = media["video"]
    assert video.playlist_type is None and not video.is_endlist
    assert _pdt_of_first(video) == t0  # the whole (short) archive is inside the 30-minute window
    last = video.segments[-1]
    assert last.current_program_date_time == t0 + timedelta(seconds=294)

    frozen_clock(t0 + timedelta(seconds=settings.live_window_minutes * 60 + 30))
    _, media = await media_playlists(client, _url(ch, "live"), viewer_headers)
    video = media["video"]
    assert _pdt_of_first(video) == t0 + timedelta(seconds=30)
    assert video.media_sequence == int(t0.timestamp()) // 6 + 5
    # The run-A-to-B discontinuity is still inside the window.
    assert sum(s.discontinuity for s in video.segments) == 1


async def _set_entry(app: FastAPI, entry_id: uuid.UUID, **values: Any) -> None:
    async with app.state.db.sessionmaker() as session:
        entry = await session.get(ScheduleEntry, entry_id)
        assert entry is not None
        for k, v in values.items():
            setattr(entry, k, v)
        await session.commit()


async def test_rights_codes(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    nosub_headers: dict[str, str],
    archive: Any,
    app: FastAPI,
    t0: datetime,
    frozen_clock: Callable[[Any], None],
) -> None:
    ch, *_ = archive
    frozen_clock(t0 + timedelta(seconds=200))
    r = await client.get(_url(ch, "catchup", 3), headers=viewer_headers)
    assert (r.status_code, r.json()["detail"]) == (403, "catchup_not_available_yet")
    r = await client.get(_url(ch, "catchup", 1), headers=nosub_headers)
    assert (r.status_code, r.json()["detail"]) == (403, "subscription_required")

    await _set_entry(app, ch.entries[1].id, catchup_eligible=False)
    await _set_entry(app, ch.entries[3].id, startover_eligible=False)
    try:
        r = await client.get(_url(ch, "catchup", 1), headers=viewer_headers)
        assert (r.status_code, r.json()["detail"]) == (403, "program_not_eligible")
        r = await client.get(_url(ch, "startover", 3), headers=viewer_headers)
        assert (r.status_code, r.json()["detail"]) == (403, "startover_not_allowed")
    finally:
        await _set_entry(app, ch.entries[1].id, catchup_eligible=True)
        await _set_entry(app, ch.entries[3].id, startover_eligible=True)

    expires = ch.entries[0].end_time + timedelta(hours=168)
    frozen_clock(expires - timedelta(seconds=1))
    assert (await client.get(_url(ch, "catchup", 0), headers=viewer_headers)).status_code == 200
    frozen_clock(expires + timedelta(seconds=1))
    r = await client.get(_url(ch, "catchup", 0), headers=viewer_headers)
    assert r.status_code == 403
    assert r.json()["detail"] == "catch_up_window_expired"
    assert datetime.fromisoformat(r.json()["expires_at"]) == expires


async def test_unknown_and_malformed_ids(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    archive: Any,
    t0: datetime,
    frozen_clock: Callable[[Any], None],
) -> None:
    ch, *_ = archive
    other, *_ = await _other_channel_entry(client, viewer_headers)
    frozen_clock(t0 + timedelta(seconds=700))
    cases = {
        f"/api/v1/tstv/catchup/{uuid.uuid4()}/manifest?schedule_entry_id={ch.entries[0].id}": (
            404,
            "channel_not_found",
        ),
        f"/api/v1/tstv/catchup/{ch.channel.id}/manifest?schedule_entry_id={uuid.uuid4()}": (
            404,
            "schedule_entry_not_found",
        ),
        f"/api/v1/tstv/catchup/{ch.channel.id}/manifest?schedule_entry_id={other}": (
            404,
            "schedule_entry_not_found",
        ),
        f"/api/v1/tstv/live/{uuid.uuid4()}/manifest": (404, "channel_not_found"),
    }
    for url, (status, detail) in cases.items():
        r = await client.get(url, headers=viewer_headers)
        assert (r.status_code, r.json()["detail"]) == (status, detail), url
    for url, field in (
        ("/api/v1/tstv/catchup/not-a-uuid/manifest?schedule_entry_id=" + str(ch.entries[0].id), "channel_id"),
        (f"/api/v1/tstv/catchup/{ch.channel.id}/manifest?schedule_entry_id=42", "schedule_entry_id"),
        (f"/api/v1/tstv/catchup/{ch.channel.id}/manifest", "schedule_entry_id"),
        (
            f"/api/v1/tstv/catchup/{ch.channel.id}/manifest/subtitles.m3u8?schedule_entry_id={ch.entries[0].id}",
            "rendition",
        ),
    ):
        r = await client.get(url, headers=viewer_headers)
        assert r.status_code == 422, url
        assert field in str(r.json()["detail"]), url
    assert (await client.get(_url(ch, "catchup", 0))).status_code == 401


async def _other_channel_entry(client: httpx.AsyncClient, headers: dict[str, str]) -> list[str]:
    channels = (await client.get("/api/v1/epg/channels", headers=headers)).json()["channels"]
    return [c["now"]["id"] for c in channels if c["now"]]


async def test_revoked_rights_let_a_started_playback_finish(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    archive: Any,
    app: FastAPI,
    t0: datetime,
    frozen_clock: Callable[[Any], None],
) -> None:
    ch, *_ = archive
    frozen_clock(t0 + timedelta(seconds=700))
    master = await get_playlist(client, _url(ch, "catchup", 4), viewer_headers)
    media_url = master.playlists[0].absolute_uri
    await _set_entry(app, ch.entries[4].id, catchup_eligible=False)
    try:
        assert (await client.get(media_url, headers=viewer_headers)).status_code == 200
        assert (await client.get(_url(ch, "catchup", 4), headers=viewer_headers)).status_code == 403
        bare = media_url.split("&pb=")[0].split("?pb=")[0]
        r = await client.get(bare + f"?schedule_entry_id={ch.entries[4].id}", headers=viewer_headers)
        assert r.status_code == 403
        # The playback token is bound to its user.
        other = await client.post(
            "/api/v1/auth/login", json={"email": "admin@tstv.local", "password": "tstv-demo-test"}
        )
        admin = {"Authorization": f"Bearer {other.json()['access_token']}"}
        assert (await client.get(media_url, headers=admin)).status_code == 403
    finally:
        await _set_entry(app, ch.entries[4].id, catchup_eligible=True)


async def test_new_run_replaces_the_partial_tail_of_the_old_one(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    app: FastAPI,
    settings: Settings,
    t0: datetime,
    frozen_clock: Callable[[Any], None],
) -> None:
    """Make-before-break: the old encoder's last, partial segment overlaps the new run's first."""
    ch = await create_channel(app, t0, PROG, 3)
    root = settings.hls_segment_dir
    old = write_run(root, ch.key, t0, t0 + timedelta(seconds=36), kid=secrets.token_hex(16))
    for rendition in ("video", "audio"):  # the tail FFmpeg writes when stopped 0.4 s into a segment
        wall = (t0 + timedelta(seconds=36)).strftime("%Y%m%dT%H%M%S")
        (root / ch.key / old.run_id / rendition / f"{wall}_000006_400000.m4s").touch()
    new = write_run(
        root, ch.key, t0 + timedelta(seconds=36), t0 + timedelta(seconds=120), kid=secrets.token_hex(16)
    )
    app.state.archive.rescan_channel(ch.key)
    frozen_clock(t0 + timedelta(seconds=200))
    _, media = await media_playlists(client, _url(ch, "catchup", 0), viewer_headers)
    for pl in media.values():
        assert [round(s.duration, 1) for s in pl.segments] == [6.0] * 10, "no partial tail, no gap"
        assert [new.run_id in s.uri for s in pl.segments] == [False] * 6 + [True] * 4
        assert [s.discontinuity for s in pl.segments].count(True) == 1
        assert pl.segments[6].current_program_date_time == t0 + timedelta(seconds=36)


async def test_retention_removes_old_programmes_from_index_and_playlists(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    admin_headers: dict[str, str],
    app: FastAPI,
    settings: Settings,
) -> None:
    """A channel keeping 1 hour on disk: a clean-up deletes a 3-hour-old programme's files and the
    index forgets them at once, while a recent programme still plays."""
    now = datetime.now(UTC)
    old_start = datetime.fromtimestamp(math.floor(now.timestamp() / 60) * 60 - 3 * 3600, UTC)
    ch = await create_channel(app, old_start, PROG, 3 * 60 + 10, catchup_window_hours=1, cutv_window_hours=1)
    recent = next(i for i, e in enumerate(ch.entries) if e.start_time >= now - timedelta(minutes=10))
    root = settings.hls_segment_dir
    write_run(root, ch.key, old_start, old_start + timedelta(seconds=PROG), kid=secrets.token_hex(16))
    r = ch.entries[recent]
    write_run(root, ch.key, r.start_time, r.end_time, kid=secrets.token_hex(16))
    app.state.archive.rescan_channel(ch.key)
    old = ch.entries[0]
    assert app.state.archive.holds(ch.key, old.start_time, old.end_time)

    result = await client.post("/api/v1/admin/simlive/cleanup", headers=admin_headers)
    assert result.status_code == 200 and result.json()["total_segments_deleted"] >= 20
    assert app.state.archive.segment_count(ch.key) == PROG // 6
    assert not app.state.archive.holds(ch.key, old.start_time, old.end_time)
    assert not any((root / ch.key).glob(f"*/video/{old.start_time:%Y%m%dT%H}*.m4s"))
    assert (await client.get(_url(ch, "catchup", recent), headers=viewer_headers)).status_code == 200


def test_cdn_base_follows_the_host_the_viewer_used() -> None:
    template = "http://{host}:8081/hls"
    assert cdn_base_for(template, "localhost") == "http://localhost:8081/hls"
    assert cdn_base_for(template, "127.0.0.1") == "http://127.0.0.1:8081/hls"
    assert cdn_base_for(template, "192.168.1.20") == "http://192.168.1.20:8081/hls"
    assert cdn_base_for(template, "tv.example.com") == "http://tv.example.com:8081/hls"
    assert cdn_base_for(template, "::1") == "http://[::1]:8081/hls"
    # The Host header is the client's: nothing but a host name reaches a playlist.
    for bad in (None, "", 'evil"/x', "a b", "-x", "x/../y", "h\nEXT"):
        assert cdn_base_for(template, bad) == "http://localhost:8081/hls"
    assert cdn_base_for("https://cdn.example.com/hls", "192.168.1.20") == "https://cdn.example.com/hls"


async def test_media_playlist_points_at_the_cdn_on_the_viewers_host(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    archive: Any,
    t0: datetime,
    frozen_clock: Callable[[Any], None],
) -> None:
    ch, _, _ = archive
    frozen_clock(t0 + timedelta(seconds=700))
    master = await get_playlist(client, _url(ch, "catchup", 0), viewer_headers)
    uri = master.playlists[0].absolute_uri.replace("http://test", "http://192.168.1.20:8000")
    r = await client.get(uri, headers={**viewer_headers, "Host": "192.168.1.20:8000"})
    assert r.status_code == 200, r.text
    segment_uris = [s.uri for s in m3u8.loads(r.text).segments]
    assert segment_uris and all(u.startswith("http://192.168.1.20:8081/hls/") for u in segment_uris)
