"""Seek-bar thumbnails in Chromium: Shaka 4.12's getThumbnails gives for a time of a catch-up
programme the tile whose picture is the archive's picture at that instant (and not another
instant's); the sheets and image playlists themselves: tests/media/test_thumbnails.py."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import m3u8
import pytest
from playwright.sync_api import Page

from tests.browser import chromium
from tests.conftest import API
from tests.media.test_thumbnails import SEG, TILE_H, TILE_W
from tests.media_factory import real_ffmpeg
from tests.stack import Stack, started_stack, wait_until

BROWSER_LOOP = 12  # programmes of two segments: a whole one airs within half a minute


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, shared_sources: Path) -> Iterator[Stack]:
    with started_stack(tmp_path_factory.mktemp("thumbs-e2e"), BROWSER_LOOP, shared_sources) as s:
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
