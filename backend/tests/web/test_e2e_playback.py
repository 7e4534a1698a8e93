"""End to end: real encoders, nginx with cdn.conf, the served backend, and Shaka 4.12 in headless
Chromium with the ClearKey licence server. Channel programmes last 30 s so whole programmes air
(and one spans an encoder restart, another a key rotation) within the test.

Timeline (P0 is the first programme the encoder records from its start):
  P0  start-over from its beginning while on air; after it ends, catch-up and seek to its end
  P1  the encoder restarts in the middle      -> catch-up plays across the discontinuity
  P2  the content key rotates in the middle   -> catch-up plays across the discontinuity
Each catch-up programme is also decoded by FFmpeg with its keys: restarts and rotations hand over
without a gap, so every decoded length is 30 s within half a second.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import imageio_ffmpeg
import m3u8
import pytest
from playwright.sync_api import Page

from tests.browser import chromium
from tests.stack import Stack, started_stack, wait_until

PROGRAMME_S = 30
SEGMENT_S = 6


@dataclass(frozen=True)
class Programme:
    id: str
    start: float
    end: float


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, shared_sources: Path) -> Iterator[Stack]:
    with started_stack(tmp_path_factory.mktemp("e2e"), PROGRAMME_S, shared_sources) as s:
        yield s


@pytest.fixture(scope="module")
def page(stack: Stack) -> Iterator[Page]:
    with chromium() as (_, browser):
        p = browser.new_page()
        p.goto(f"{stack.page}/player.html")
        yield p


def _programme_at(stack: Stack, ts: float) -> Programme:
    day = datetime.fromtimestamp(ts, UTC).date().isoformat()
    entries = stack.get(f"/api/v1/epg/schedule?channel_id={stack.channel_id}&date={day}").json()["entries"]
    for e in entries:
        start = datetime.fromisoformat(e["start_time"]).timestamp()
        end = datetime.fromisoformat(e["end_time"]).timestamp()
        if start <= ts < end:
            return Programme(e["id"], start, end)
    raise AssertionError(f"no programme at {ts}")


@pytest.fixture(scope="module")
def first_programme(stack: Stack) -> Programme:
    """The first programme recorded from its very start."""
    live = _media(stack, f"/api/v1/tstv/live/{stack.channel_id}/manifest")
    first_pdt = live.segments[0].current_program_date_time.timestamp()
    current = _programme_at(stack, first_pdt)
    return current if current.start >= first_pdt else _programme_at(stack, current.end)


def _sleep_until(ts: float) -> None:
    wait_until(lambda: time.time() >= ts, max(0.0, ts - time.time()) + 5, f"time {ts}", every=0.1)


def _media(stack: Stack, master_path: str, rendition: str = "video") -> m3u8.M3U8:
    r = stack.get(master_path)
    assert r.status_code == 200, r.text
    master = m3u8.loads(r.text, uri=stack.api + master_path)
    uri = master.playlists[0].absolute_uri if rendition == "video" else master.media[0].absolute_uri
    media = httpx.get(uri, headers=stack.headers(), timeout=30)
    assert media.status_code == 200, media.text
    return m3u8.loads(media.text, uri=uri)


def _catchup_path(stack: Stack, p: Programme) -> str:
    return f"/api/v1/tstv/catchup/{stack.channel_id}/manifest?schedule_entry_id={p.id}"


def _play(page: Page, stack: Stack, path: str, start: float | None = None) -> dict[str, Any]:
    errors = page.evaluate(
        "([u, t, l, s]) => window.startPlayer(u, t, l, s)",
        [stack.api + path, stack.viewer_token, stack.api + "/api/v1/drm/license", start],
    )
    assert errors == [], errors
    state: dict[str, Any] = wait_until(
        lambda: (s := page.evaluate("window.playerState()"))["readyState"] >= 2 and s, 20, "first frame"
    )  # type: ignore[assignment]
    return state


def _advances(page: Page, by: float, within: float = 30) -> dict[str, Any]:
    """Playback moves forward `by` seconds of media with no player error."""
    begin = page.evaluate("window.playerState()")["currentTime"]

    def moved() -> dict[str, Any] | None:
        s: dict[str, Any] = page.evaluate("window.playerState()")
        assert s["errors"] == [], s["errors"]
        return s if s["currentTime"] >= begin + by else None

    state: dict[str, Any] = wait_until(moved, within, f"playback to advance {by} s")  # type: ignore[assignment]
    return state


def _seek(page: Page, to: float) -> None:
    page.evaluate("(t) => window.seekTo(t)", to)
    wait_until(
        lambda: abs(page.evaluate("window.playerState()")["currentTime"] - to) < 1.5, 10, f"seek to {to}"
    )


def test_live_plays(stack: Stack, page: Page) -> None:
    state = _play(page, stack, f"/api/v1/tstv/live/{stack.channel_id}/manifest")
    assert state["isLive"] is True
    state = _advances(page, 5)
    assert abs(state["playheadDate"] - time.time()) < 60, "live plays near the live edge"


def test_startover_begins_at_the_programme_start(
    stack: Stack, page: Page, first_programme: Programme
) -> None:
    p = first_programme
    # Late enough that the live edge is well past the start (Shaka's default live start point).
    _sleep_until(p.start + 22)
    path = f"/api/v1/tstv/startover/{stack.channel_id}/manifest?schedule_entry_id={p.id}"
    started = time.monotonic()
    state = _play(page, stack, path)
    assert time.monotonic() - started < 5
    # The playhead's programme-date-time at the first frame is the programme's first frame.
    assert abs(state["playheadDate"] - p.start) <= 1.0, (state, p)
    _advances(page, 5)


def test_catchup_plays_and_seeks_to_the_last_10_seconds(
    stack: Stack, page: Page, first_programme: Programme
) -> None:
    p = first_programme
    _sleep_until(p.end + SEGMENT_S + 2)
    state = _play(page, stack, _catchup_path(stack, p))
    assert state["isLive"] is False
    assert abs(state["playheadDate"] - p.start) <= 1.5
    _advances(page, 5)
    end = state["seekRange"]["end"]
    assert end - state["seekRange"]["start"] == pytest.approx(PROGRAMME_S, abs=0.5)
    _seek(page, end - 10)
    _advances(page, 4)


def _decoded_seconds(stack: Stack, playlist: m3u8.M3U8) -> float:
    """Decode every run's part of a media playlist with its own key; return the decoded video length."""
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    parts: list[tuple[str, str, list[str]]] = []
    for seg in playlist.segments:
        if not parts or seg.discontinuity:
            parts.append((seg.init_section.absolute_uri, seg.key.absolute_uri, []))
        parts[-1][2].append(seg.absolute_uri)
    frames = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i, (init, key_uri, uris) in enumerate(parts):
            key = httpx.get(key_uri, headers=stack.headers(), timeout=10)
            assert key.status_code == 200 and len(key.content) == 16
            # The key URI carries the playback token: without it, no key.
            assert httpx.get(key_uri.split("?")[0], headers=stack.headers(), timeout=10).status_code == 403
            path = Path(tmp) / f"part{i}.mp4"
            with path.open("wb") as f:
                for uri in [init, *uris]:
                    f.write(httpx.get(uri, timeout=10).raise_for_status().content)
                    # nginx serves it only through the URL the playlist signed.
                    assert httpx.get(uri.split("?")[0], timeout=10).status_code == 403, uri
            out = subprocess.run(
                [
                    ffmpeg,
                    "-v",
                    "error",
                    "-decryption_key",
                    key.content.hex(),
                    "-i",
                    str(path),
                    "-map",
                    "0:v",
                    "-f",
                    "framecrc",
                    "-",
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            assert out.stderr == "", out.stderr
            frames += sum(1 for line in out.stdout.splitlines() if line and not line.startswith("#"))
    return frames / 25


def test_programmes_across_restart_and_rotation_play_and_decode(
    stack: Stack, page: Page, first_programme: Programme
) -> None:
    p0 = first_programme
    p1 = _programme_at(stack, p0.end)
    p2 = _programme_at(stack, p1.end)
    _sleep_until(p1.start + 12)
    assert (
        stack.post(f"/api/v1/admin/simlive/{stack.channel_key}/restart", stack.admin_token).status_code == 200
    )
    _sleep_until(p2.start + 12)
    r = stack.post(f"/api/v1/admin/drm/{stack.channel_key}/rotate", stack.admin_token)
    assert r.status_code == 200, r.text
    _sleep_until(p2.end + SEGMENT_S + 4)

    assert _decoded_seconds(stack, _media(stack, _catchup_path(stack, p0))) == pytest.approx(
        PROGRAMME_S, abs=0.1
    )
    for p, what in ((p1, "restart"), (p2, "key rotation")):
        video = _media(stack, _catchup_path(stack, p))
        breaks = [s for s in video.segments if s.discontinuity]
        assert len(breaks) == 1, f"one discontinuity at the {what}"
        keys = {s.key.uri for s in video.segments}
        assert len(keys) == (2 if what == "key rotation" else 1), keys
        assert _decoded_seconds(stack, video) == pytest.approx(PROGRAMME_S, abs=0.5)
        audio = _media(stack, _catchup_path(stack, p), "audio")
        assert sum(1 for s in audio.segments if s.discontinuity) == 1

        # The browser plays across the break.
        state = _play(page, stack, _catchup_path(stack, p))
        # The player's timeline is the sum of EXTINF durations (a gap in time is not a gap in media).
        before = sum(s.duration for s in video.segments[: video.segments.index(breaks[0])])
        seam = state["seekRange"]["start"] + before
        _seek(page, max(0.0, seam - 3))
        state = _advances(page, 6)
        assert state["currentTime"] > seam + 2, f"played across the {what}"
