"""Seek-bar thumbnails (app/services/media/thumbnails.py): tile sheets of each source decoded once, an
image playlist per playback announced in every master, lined up with the video playlist, served
by the CDN; and in Chromium, Shaka 4.12's getThumbnails gives for a time of a catch-up programme
the tile whose picture is the archive's picture at that instant (and not another instant's)."""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import m3u8
import pytest
from fastapi import FastAPI
from playwright.sync_api import Page

from app.main import create_app
from app.models import Channel, ScheduleEntry
from app.services.media import thumbnails
from app.services.media.archive_layout import RunInfo
from tests.archive_factory import create_recorded_channel
from tests.browser import chromium
from tests.conftest import login, make_settings
from tests.media_factory import real_ffmpeg, write_encoded_run
from tests.stack import Stack, running_stack, wait_until

API = "/api/v1"
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
    in the middle of the second programme (a restart: a discontinuity inside a catch-up)."""
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


# ---- in Chromium: Shaka's getThumbnails against the archive's own pictures -------------------

BROWSER_LOOP = 12  # programmes of two segments: a whole one airs within half a minute


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("thumbs-e2e"), loop_seconds=BROWSER_LOOP) as s:
        r = s.post(f"/api/v1/admin/simlive/{s.channel_key}/start", s.admin_token)
        assert r.status_code == 200, r.text
        yield s


def _aired_programme(stack: Stack) -> dict[str, Any]:
    """The first programme recorded whole whose catch-up master lists the thumbnails."""
    first = stack.first_recorded(stack.channel_id)
    day = datetime.fromtimestamp(first, UTC).date().isoformat()
    entries = stack.get(f"{API}/epg/schedule?channel_id={stack.channel_id}&date={day}").json()["entries"]
    for e in entries:
        start = datetime.fromisoformat(e["start_time"]).timestamp()
        if start >= first:
            return dict(e)
    raise AssertionError("no programme after the first recorded instant")


def _gray(args: list[str], size: int) -> bytes:
    out = subprocess.run(
        [real_ffmpeg(), "-v", "error", *args, "-f", "rawvideo", "-pix_fmt", "gray", "-"],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    assert len(out) == size, f"{len(out)} bytes"
    return out


def _archive_frame(stack: Stack, video: m3u8.M3U8, at: float, tmp: Path) -> bytes:
    """The archive's picture at epoch `at`: the segment's frame decrypted with the channel's key,
    scaled to the tile size, as 8-bit grey."""
    seg = next(
        s
        for s in video.segments
        if s.current_program_date_time.timestamp()
        <= at
        < s.current_program_date_time.timestamp() + s.duration
    )
    key = httpx.get(seg.key.absolute_uri, headers=stack.headers(), timeout=10)
    assert key.status_code == 200 and len(key.content) == 16
    joined = tmp / f"seg-{at}.mp4"
    joined.write_bytes(
        httpx.get(seg.init_section.absolute_uri, timeout=10).raise_for_status().content
        + httpx.get(seg.absolute_uri, timeout=10).raise_for_status().content
    )
    n = round((at - seg.current_program_date_time.timestamp()) * 25)
    args = ["-decryption_key", key.content.hex(), "-i", str(joined)]
    args += ["-vf", f"select=eq(n\\,{n}),scale={TILE_W}:{TILE_H}", "-frames:v", "1"]
    return _gray(args, TILE_W * TILE_H)


def _tile(thumb: dict[str, Any], tmp: Path) -> bytes:
    """The tile, cropped from its sheet as fetched from the CDN, as 8-bit grey."""
    sheet = tmp / f"sheet-{thumb['startTime']}.jpg"
    sheet.write_bytes(httpx.get(thumb["uri"], timeout=10).raise_for_status().content)
    crop = f"crop={thumb['width']}:{thumb['height']}:{thumb['positionX']}:{thumb['positionY']}"
    return _gray(["-i", str(sheet), "-vf", crop], TILE_W * TILE_H)


def _differences(a: bytes, b: bytes) -> tuple[float, float]:
    """Mean absolute pixel difference over the whole tile, and over its worst 16x15 block (the
    programme clock and the frame-number marker are small: a wrong time shows there)."""
    whole = sum(abs(x - y) for x, y in zip(a, b, strict=True)) / len(a)
    worst = 0.0
    for by in range(0, TILE_H, 15):
        for bx in range(0, TILE_W, 16):
            cells = [(y * TILE_W + x) for y in range(by, by + 15) for x in range(bx, bx + 16)]
            worst = max(worst, sum(abs(a[i] - b[i]) for i in cells) / len(cells))
    return whole, worst


_THUMB_JS = """async (t) => {
  const player = window.player;
  const tracks = player.getImageTracks();
  const th = await player.getThumbnails(tracks[0].id, t);
  if (!th) return {tracks, th: null};
  const r = await fetch(th.uris[0]);  // as the app would: cross-origin, from the CDN
  const bytes = (await r.arrayBuffer()).byteLength;
  return {
    tracks: tracks.map((x) => ({id: x.id, width: x.width, height: x.height, mimeType: x.mimeType})),
    th: {startTime: th.startTime, duration: th.duration, positionX: th.positionX,
         positionY: th.positionY, width: th.width, height: th.height, imageWidth: th.imageWidth,
         imageHeight: th.imageHeight, uri: th.uris[0]},
    fetched: {status: r.status, bytes},  // a cross-origin fetch that resolves: CORS allowed it
  };
}"""


def test_shaka_thumbnail_of_a_catchup_time_is_the_archive_picture_at_that_time(
    stack: Stack, tmp_path: Path
) -> None:
    wait_until(
        lambda: stack.get(f"{API}/tstv/live/{stack.channel_id}/manifest").status_code == 200, 120, "on air"
    )
    programme = _aired_programme(stack)
    path = f"{API}/tstv/catchup/{stack.channel_id}/manifest?schedule_entry_id={programme['id']}"

    def master_with_images() -> str | None:
        r = stack.get(path)
        return r.text if r.status_code == 200 and "EXT-X-IMAGE-STREAM-INF" in r.text else None

    master = m3u8.loads(
        str(wait_until(master_with_images, 90, "the catch-up master with thumbnails")), uri=stack.api + path
    )
    video = m3u8.loads(
        httpx.get(master.playlists[0].absolute_uri, headers=stack.headers(), timeout=10).text,
        uri=master.playlists[0].absolute_uri,
    )
    audio = m3u8.loads(httpx.get(master.media[0].absolute_uri, headers=stack.headers(), timeout=10).text)
    images = m3u8.loads(
        httpx.get(master.image_playlists[0].absolute_uri, headers=stack.headers(), timeout=10).text
    )
    # Shaka lines streams up by PROGRAM-DATE-TIME: presentation time 0 is the earliest first one.
    zero = min(p.segments[0].current_program_date_time.timestamp() for p in (video, audio, images))
    with chromium() as (_, browser):
        page: Page = browser.new_page()
        page.goto(f"{stack.page}/player.html")
        errors = page.evaluate(
            "([u, t, l]) => window.startPlayer(u, t, l, null)",
            [stack.api + path, stack.viewer_token, stack.api + "/api/v1/drm/license"],
        )
        assert errors == [], errors
        t = 4.3  # inside the programme's first segment's last tile [4, 6)
        near = page.evaluate(_THUMB_JS, t)
        far = page.evaluate(_THUMB_JS, t + SEG)  # the next segment: 6 s later in the clock
        assert page.evaluate("window.playerErrors") == []
        # Live too: the image playlist slides with the video one (a time near the live edge).
        live = stack.api + f"{API}/tstv/live/{stack.channel_id}/manifest"
        errors = page.evaluate(
            "([u, t, l]) => window.startPlayer(u, t, l, null)",
            [live, stack.viewer_token, stack.api + "/api/v1/drm/license"],
        )
        assert errors == [], errors
        edge = page.evaluate("window.player.seekRange().end")
        live_thumb = page.evaluate(_THUMB_JS, edge - 2)
        assert live_thumb["th"] is not None, live_thumb
        assert live_thumb["th"]["startTime"] <= edge - 2 < live_thumb["th"]["startTime"] + 2.001
    assert near["tracks"] and near["tracks"][0]["mimeType"] == "image/jpeg", near
    th = near["th"]
    assert th is not None, near
    assert th["startTime"] <= t < th["startTime"] + th["duration"], th
    assert (th["width"], th["height"], th["imageWidth"], th["imageHeight"]) == (
        TILE_W,
        TILE_H,
        3 * TILE_W,
        TILE_H,
    )
    assert near["fetched"]["status"] == 200 and near["fetched"]["bytes"] > 1000
    sheet = httpx.get(th["uri"], headers={"Origin": stack.page}, timeout=10)
    assert sheet.headers["access-control-allow-origin"] == "*"
    assert sheet.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert sheet.headers["content-type"] == "image/jpeg"

    at = zero + th["startTime"]  # the tile's picture is the video's at the tile's start
    frame = _archive_frame(stack, video, at, tmp_path)
    whole, worst = _differences(_tile(th, tmp_path), frame)
    other_whole, other_worst = _differences(_tile(far["th"], tmp_path), frame)
    print(
        f"same instant: mean {whole:.2f}, worst block {worst:.2f};"
        f" 6 s later: mean {other_whole:.2f}, worst block {other_worst:.2f}"
    )
    assert whole < 2.5 and worst < 12, (whole, worst)
    assert other_worst > 20 and other_whole > whole, (other_whole, other_worst)


def test_a_run_written_before_runs_named_their_source_still_reads() -> None:
    old = '{"anchor": 6.0, "channel_key": "c1", "kid": null, "loop_offset": 0.0, "loop_seconds": 30,'
    old += ' "run_id": "r0000000000001", "segment_duration": 6, "started_at": 5.0}'
    info = RunInfo.from_json(old)
    assert info.source is None and info.anchor == 6.0
    assert RunInfo.from_json(info.to_json()) == info


def test_a_segment_without_a_sheet_is_left_out_and_the_next_one_re_anchored() -> None:
    from app.services.media.archive_index import Segment
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
