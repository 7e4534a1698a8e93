"""Seek-bar thumbnails (app/services/archive/thumbnails.py): tile sheets of each source decoded once, an
image playlist per playback announced in every master, lined up with the video playlist, served
by the CDN. In Chromium, Shaka's own getThumbnails: tests/web/test_thumbnails_in_chromium.py."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import m3u8
import pytest
from fastapi import FastAPI
from lxml import etree

from app.main import create_app
from app.models import Channel, ScheduleEntry
from app.services.archive import thumbnails
from app.services.archive.archive_layout import RunInfo
from tests.archive_factory import create_recorded_channel
from tests.conftest import API, login, make_settings
from tests.media_factory import prepare_sources, write_encoded_run
from tests.xml_paths import xpath

LOOP = 30
SEG = 6
TILE_W, TILE_H = thumbnails.TILE_WIDTH, thumbnails.TILE_HEIGHT


@pytest.fixture(scope="module")
async def thumbs_app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FastAPI]:
    tmp = tmp_path_factory.mktemp("thumbs-app")
    application = create_app(make_settings(database_url, tmp / "hls"))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(thumbs_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=thumbs_app), base_url="http://test") as c:
        yield c


class Recorded:
    def __init__(self, channel: Channel, entries: list[ScheduleEntry], runs: list[RunInfo]) -> None:
        self.channel, self.entries, self.runs = channel, entries, runs


@pytest.fixture(scope="module")
async def recorded(thumbs_app: FastAPI) -> Recorded:
    """Programmes of LOOP s, the fifth on air now; two real encrypted runs, the second starting
    in the middle of the second programme (a restart: a discontinuity inside a catch-up). The
    fifth is on air for 14-20 s after the clock is read: the sources are prepared before."""
    await prepare_sources(thumbs_app, LOOP)
    first = datetime.fromtimestamp((int(time.time()) - 130) // SEG * SEG, UTC)
    channel, entries = await create_recorded_channel(thumbs_app, first, LOOP, 8)
    a = await write_encoded_run(thumbs_app, channel, first, 2 * LOOP, LOOP)
    b = await write_encoded_run(thumbs_app, channel, first + timedelta(seconds=48), 4 * LOOP, LOOP)
    return Recorded(channel, entries, [a, b])


async def _get(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> httpx.Response:
    r = await client.get(url, headers=headers)
    assert r.status_code == 200, f"{url}: {r.status_code} {r.text}"
    return r


async def _master_with_images(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> m3u8.M3U8:
    """The master, once the sheets it needs are built (the first master asks for them)."""
    deadline = time.monotonic() + 60
    while True:
        master = m3u8.loads((await _get(client, url, headers)).text, uri="http://test" + url)
        if master.image_playlists or time.monotonic() > deadline:
            return master
        await asyncio.sleep(0.2)


async def test_every_master_lists_an_image_stream_lined_up_with_its_video(
    thumbs_app: FastAPI, client: httpx.AsyncClient, recorded: Recorded
) -> None:
    viewer = await login(client, "viewer@tstv.local")
    cid, e = recorded.channel.id, recorded.entries
    rec = await client.post(f"{API}/recordings", json={"schedule_entry_id": str(e[1].id)}, headers=viewer)
    assert rec.status_code in (200, 201), rec.text
    forms = {
        "live": f"{API}/tstv/live/{cid}/manifest",
        "startover": f"{API}/tstv/startover/{cid}/manifest?schedule_entry_id={e[4].id}",
        "catchup": f"{API}/tstv/catchup/{cid}/manifest?schedule_entry_id={e[1].id}",
        "recording": f"{API}/recordings/{rec.json()['id']}/manifest",
    }
    runs = {r.run_id: r for r in recorded.runs}
    for form, url in forms.items():
        master = await _master_with_images(client, url, viewer)
        assert len(master.image_playlists) == 1, f"{form}: {master.dumps()}"
        image = master.image_playlists[0]
        assert image.image_stream_info.codecs == "jpeg"
        assert image.image_stream_info.resolution == (TILE_W, TILE_H)
        assert image.image_stream_info.bandwidth and image.image_stream_info.bandwidth > 0
        assert image.uri.startswith("manifest/images.m3u8?pb=")
        base = url.split("?")[0].rsplit("/", 1)[0] + "/"
        video = m3u8.loads((await _get(client, base + master.playlists[0].uri, viewer)).text)
        text = (await _get(client, base + image.uri, viewer)).text
        images = m3u8.loads(text)
        lines = text.splitlines()
        tiles = [lines[n - 1] for n, line in enumerate(lines) if line.startswith("#EXTINF")]
        # The same timeline: sequence numbers, durations, PROGRAM-DATE-TIMEs, discontinuities.
        assert images.media_sequence == video.media_sequence, form
        assert images.discontinuity_sequence == video.discontinuity_sequence, form
        assert images.is_endlist == video.is_endlist, form
        assert images.playlist_type == video.playlist_type, form
        assert len(images.segments) == len(video.segments) > 0, form
        for v, i, tile in zip(video.segments, images.segments, tiles, strict=True):
            assert i.duration == v.duration
            assert i.current_program_date_time == v.current_program_date_time
            assert i.discontinuity == v.discontinuity
            assert tile == f"#EXT-X-TILES:RESOLUTION={TILE_W}x{TILE_H},LAYOUT=3x1,DURATION=2.000"
            # The sheet of the segment's loop position in its run.
            run = runs[v.uri.split("/")[-3]]
            position = (run.loop_offset + v.current_program_date_time.timestamp() - run.anchor) % LOOP
            sheets = thumbnails.SheetSet(str(run.source), LOOP, SEG)
            assert i.uri == f"http://test:8081/hls/_thumbs/{sheets.tag}/{round(position / SEG):06d}.jpg"
        if form in ("catchup", "recording"):
            assert sum(s.discontinuity for s in video.segments) == 1, "the restart inside the programme"
        assert images.is_images_only, form


async def test_every_mpd_period_has_the_thumbnails_as_a_tiled_image_set(
    thumbs_app: FastAPI, client: httpx.AsyncClient, recorded: Recorded
) -> None:
    """MPEG-DASH (`?format=dash`): the same sheets, one per video segment, as a DASH-IF tiled image
    AdaptationSet in every Period (here two: a restart inside the programme)."""
    viewer = await login(client, "viewer@tstv.local")
    url = f"{API}/tstv/catchup/{recorded.channel.id}/manifest?schedule_entry_id={recorded.entries[1].id}"
    master = await _master_with_images(client, url, viewer)
    base = url.split("?")[0].rsplit("/", 1)[0] + "/"
    hls = m3u8.loads((await _get(client, base + master.image_playlists[0].uri, viewer)).text)
    mpd = etree.fromstring((await _get(client, url + "&format=dash", viewer)).content)
    ns = {"m": "urn:mpeg:dash:schema:mpd:2011"}
    periods = xpath(mpd, "m:Period", ns)
    assert len(periods) == 2
    sheets: list[str] = []
    for period in periods:
        (rep,) = xpath(period, "m:AdaptationSet[@contentType='image']/m:Representation", ns)
        assert (rep.get("width"), rep.get("height")) == (str(3 * TILE_W), str(TILE_H))
        (tile,) = xpath(rep, "m:EssentialProperty", ns)
        assert (tile.get("schemeIdUri"), tile.get("value")) == ("http://dashif.org/thumbnail_tile", "3x1")
        video = xpath(
            period, "m:AdaptationSet[@contentType='video']/m:Representation[@id='video']/m:SegmentList", ns
        )[0]
        images = xpath(rep, "m:SegmentList", ns)[0]
        timeline = "m:SegmentTimeline/m:S"
        assert [dict(s.attrib) for s in xpath(images, timeline, ns)] == [
            dict(s.attrib) for s in xpath(video, timeline, ns)
        ]
        assert images.get("presentationTimeOffset") == video.get("presentationTimeOffset")
        sheets += xpath(images, "m:SegmentURL/@media", ns)
    assert sheets == [s.uri for s in hls.segments]


async def test_sheets_are_built_once_per_source_and_are_small_jpegs(
    thumbs_app: FastAPI, client: httpx.AsyncClient, recorded: Recorded
) -> None:
    store: thumbnails.ThumbnailStore = thumbs_app.state.thumbnails
    sheets = thumbnails.SheetSet(str(recorded.runs[0].source), LOOP, SEG)
    assert recorded.runs[0].source == recorded.runs[1].source
    assert await store.wait(sheets)
    files = sorted((store.root / sheets.tag).glob("*.jpg"))
    assert [f.name for f in files] == [f"{k:06d}.jpg" for k in range(LOOP // SEG)]
    assert all(f.read_bytes().startswith(b"\xff\xd8") and f.stat().st_size < 20_000 for f in files)
    built = [b for b in store.built if b["source"] == sheets.source]
    assert len(built) == 1, "one build for every run and channel of the source"
    print(f"sheets of a {LOOP} s source: {built[0]}")
    # Served by the backend's CDN fallback with the CDN's caching (nginx: test_cdn).
    r = await client.get(f"/hls/_thumbs/{sheets.tag}/000001.jpg")
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert (await client.get(f"/hls/_thumbs/{sheets.tag}/../x.jpg")).status_code == 404
    assert (await client.get("/hls/_thumbs/0123456789abcdef0123/000001.jpg")).status_code == 404


async def test_runs_that_do_not_name_their_source_get_no_image_stream(
    thumbs_app: FastAPI, client: httpx.AsyncClient
) -> None:
    first = datetime.fromtimestamp((int(time.time()) - 7200) // SEG * SEG, UTC)
    channel, entries = await create_recorded_channel(thumbs_app, first, LOOP, 2, recorded=(0, 2))
    viewer = await login(client, "viewer@tstv.local")
    url = f"{API}/tstv/catchup/{channel.id}/manifest?schedule_entry_id={entries[0].id}"
    master = (await _get(client, url, viewer)).text
    assert "#EXT-X-STREAM-INF" in master and "IMAGE-STREAM" not in master


async def test_image_playlists_of_unknown_channels_or_programmes_are_clear_4xx(
    client: httpx.AsyncClient, recorded: Recorded
) -> None:
    viewer = await login(client, "viewer@tstv.local")
    nobody, cid = uuid.uuid4(), recorded.channel.id
    r = await client.get(f"{API}/tstv/live/{nobody}/manifest/images.m3u8", headers=viewer)
    assert r.status_code == 404 and r.json()["detail"] == "channel_not_found"
    r = await client.get(
        f"{API}/tstv/catchup/{cid}/manifest/images.m3u8?schedule_entry_id={nobody}", headers=viewer
    )
    assert r.status_code == 404 and r.json()["detail"] == "schedule_entry_not_found"
    r = await client.get(
        f"{API}/tstv/catchup/{cid}/manifest/thumbs.m3u8?schedule_entry_id={nobody}", headers=viewer
    )
    assert r.status_code == 422
    r = await client.get(f"{API}/tstv/live/{cid}/manifest/images.m3u8")
    assert r.status_code == 401


def test_a_run_written_before_runs_named_their_source_still_reads() -> None:
    old = '{"anchor": 6.0, "channel_key": "c1", "kid": null, "loop_offset": 0.0, "loop_seconds": 30,'
    old += ' "run_id": "r0000000000001", "segment_duration": 6, "started_at": 5.0}'
    info = RunInfo.from_json(old)
    assert info.source is None and info.anchor == 6.0
    assert RunInfo.from_json(info.to_json()) == info


def test_a_segment_without_a_sheet_is_left_out_and_the_next_one_re_anchored() -> None:
    from app.services.archive.archive_index import Segment
    from app.services.playback.manifest_generator import (
        ImageSegment,
        MediaPlaylistSpec,
        PlaylistKind,
        render_image_playlist,
    )

    run = RunInfo("r0000000000001", "c1", 600.0, SEG, None, 599.0, LOOP, 12.0, "src.mp4")
    segs = [Segment(600.0 + SEG * n, float(SEG), run, "video", n, 0) for n in range(4)]
    spec = MediaPlaylistSpec("c1", "video", 600.0, 624.0, PlaylistKind.VOD, closed=True)

    def sheet_of(seg: Segment) -> ImageSegment:
        uri = None if seg.seq == 1 else f"s{seg.seq}.jpg"
        return ImageSegment(uri, "3x1", "160x90", 2.0)

    text = render_image_playlist(spec, segs, sheet_of, discontinuity_sequence=lambda _s: 0)
    body = text.split("#EXT-X-IMAGES-ONLY\n", 1)[1].splitlines()
    assert body == [
        "#EXT-X-PROGRAM-DATE-TIME:1970-01-01T00:10:00.000Z",
        "#EXT-X-TILES:RESOLUTION=160x90,LAYOUT=3x1,DURATION=2.000",
        "#EXTINF:6.000000,",
        "s0.jpg",
        "#EXT-X-DISCONTINUITY",
        "#EXT-X-PROGRAM-DATE-TIME:1970-01-01T00:10:12.000Z",
        "#EXT-X-TILES:RESOLUTION=160x90,LAYOUT=3x1,DURATION=2.000",
        "#EXTINF:6.000000,",
        "s2.jpg",
        "#EXT-X-TILES:RESOLUTION=160x90,LAYOUT=3x1,DURATION=2.000",
        "#EXTINF:6.000000,",
        "s3.jpg",
        "#EXT-X-ENDLIST",
    ]
    # The loop position of a segment: the run's offset plus its time since the anchor, modulo.
    sheets = thumbnails.SheetSet("src.mp4", LOOP, SEG)
    assert [sheets.sheet_index(thumbnails.loop_position(s)) for s in segs] == [2, 3, 4, 0]
