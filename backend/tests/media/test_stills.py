"""Programme stills: a frame of the programme's own encrypted recording, taken once by the real
FFmpeg with the run's key, kept on disk, served with long caching; 404 where there is none."""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.main import create_app
from app.models import Channel, ScheduleEntry
from app.services.archive import stills
from app.services.encoders.sources import GEN_HEIGHT, GEN_WIDTH, decode_marker
from tests.archive_factory import create_recorded_channel
from tests.conftest import API, login, make_settings
from tests.media_factory import real_ffmpeg, write_encoded_run

LOOP = 60  # seconds: one programme per loop, so every programme starts at frame 0 of the source
FPS = 25


@pytest.fixture(scope="module")
def ffmpeg_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ffmpeg") / "stills.log"


@pytest.fixture(scope="module")
async def still_app(
    database_url: str, tmp_path_factory: pytest.TempPathFactory, ffmpeg_log: Path
) -> AsyncIterator[FastAPI]:
    """An app of its own whose FFmpeg is the real one behind a wrapper that logs when each still
    run starts and ends (the encoder's runs are not logged)."""
    tmp = tmp_path_factory.mktemp("stills-app")
    wrapper = tmp / "ffmpeg"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'case "$*" in *mjpeg*) echo "start $(date +%s.%N)" >> {ffmpeg_log};; esac\n'
        f'{real_ffmpeg()} "$@"\n'
        "rc=$?\n"
        f'case "$*" in *mjpeg*) echo "end $(date +%s.%N)" >> {ffmpeg_log};; esac\n'
        "exit $rc\n"
    )
    wrapper.chmod(0o755)
    settings = make_settings(database_url, tmp / "hls", ffmpeg_binary=str(wrapper), stills_dir=tmp / "stills")
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(still_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=still_app), base_url="http://test") as c:
        yield c


def still_runs(log: Path) -> list[tuple[float, float]]:
    """(start, end) of every still FFmpeg run so far, in start order."""
    lines = log.read_text().split("\n") if log.exists() else []
    starts = sorted(float(ln.split()[1]) for ln in lines if ln.startswith("start "))
    ends = sorted(float(ln.split()[1]) for ln in lines if ln.startswith("end "))
    assert len(ends) == len(starts), "every run has ended"
    return list(zip(starts, ends, strict=True))


def most_at_once(runs: list[tuple[float, float]]) -> int:
    events = sorted([(s, 1) for s, _ in runs] + [(e, -1) for _, e in runs])
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


def jpeg_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the JPEG's start-of-frame marker."""
    i = 2
    while i < len(data):
        assert data[i] == 0xFF, "a JPEG marker"
        marker, length = data[i + 1], int.from_bytes(data[i + 2 : i + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2):
            return int.from_bytes(data[i + 7 : i + 9], "big"), int.from_bytes(data[i + 5 : i + 7], "big")
        i += 2 + length
    raise AssertionError("no start-of-frame marker")


def frame_number(jpeg: bytes, tmp: Path) -> int:
    """The source's frame-number marker, read from the still scaled back to the source's size."""
    path = tmp / f"still-{secrets.token_hex(4)}.jpg"
    path.write_bytes(jpeg)
    args = [real_ffmpeg(), "-v", "error", "-i", str(path), "-vf", f"scale={GEN_WIDTH}:{GEN_HEIGHT}"]
    args += ["-f", "rawvideo", "-pix_fmt", "gray", "-"]
    raw = subprocess.run(args, capture_output=True, check=True).stdout
    assert len(raw) == GEN_WIDTH * GEN_HEIGHT
    return decode_marker(raw)


async def recorded_channel(app: FastAPI, programmes: int) -> tuple[Channel, list[ScheduleEntry]]:
    """A channel of `LOOP`-second programmes that ended an hour ago or so, in a real encrypted run."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1, minutes=secrets.randbelow(30))
    channel, entries = await create_recorded_channel(app, start, LOOP, programmes)
    await write_encoded_run(app, channel, start, LOOP * programmes, LOOP)
    return channel, entries


def still_url(entry: ScheduleEntry) -> str:
    return f"{API}/epg/programmes/{entry.id}/still.jpg"


async def test_still_is_a_small_jpeg_of_its_programme_taken_once(
    still_app: FastAPI, client: httpx.AsyncClient, ffmpeg_log: Path, tmp_path: Path
) -> None:
    _, entries = await recorded_channel(still_app, 2)
    before = len(still_runs(ffmpeg_log))
    t0 = time.monotonic()
    r = await client.get(still_url(entries[0]))  # no token: an <img> cannot send one
    took = time.monotonic() - t0
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/jpeg"
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert jpeg_size(r.content) == (stills.WIDTH, stills.HEIGHT)
    assert len(r.content) < 40_000
    # The first frame of the segment at 10 % (6 s into a 60 s programme), decrypted: frame 150.
    assert frame_number(r.content, tmp_path) == 6 * FPS
    assert len(still_runs(ffmpeg_log)) == before + 1
    (run,) = still_runs(ffmpeg_log)[before:]
    ffmpeg_ms = (run[1] - run[0]) * 1000
    print(f"{len(r.content)} bytes; first request {took * 1000:.0f} ms, FFmpeg {ffmpeg_ms:.0f} ms")

    t0 = time.monotonic()
    again = await client.get(still_url(entries[0]))
    print(f"from disk {(time.monotonic() - t0) * 1000:.1f} ms")
    assert again.status_code == 200 and again.content == r.content
    assert again.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert len(still_runs(ffmpeg_log)) == before + 1, "served from disk without FFmpeg"
    on_disk = Path(still_app.state.settings.stills_path) / f"{entries[0].id}.jpg"
    assert on_disk.read_bytes() == r.content
    assert on_disk.stat().st_mtime == entries[0].end_time.timestamp()  # for pruning

    # The second programme's still comes from its own recording (its own 10 %).
    t0 = time.monotonic()
    second = await client.get(still_url(entries[1]))
    print(f"another programme {(time.monotonic() - t0) * 1000:.0f} ms")
    assert second.status_code == 200 and frame_number(second.content, tmp_path) == 6 * FPS
    assert len(still_runs(ffmpeg_log)) == before + 2

    # The guide points at exactly these stills.
    headers = await login(client, "viewer@tstv.local")
    r = await client.get(f"{API}/epg/programmes/{entries[0].id}", headers=headers)
    assert r.json()["still_url"] == still_url(entries[0])


async def test_a_still_outlives_its_segments_and_pruning_takes_it_again(
    still_app: FastAPI, client: httpx.AsyncClient, ffmpeg_log: Path
) -> None:
    channel, entries = await recorded_channel(still_app, 1)
    assert (await client.get(still_url(entries[0]))).status_code == 200
    taken = len(still_runs(ffmpeg_log))
    on_disk = Path(still_app.state.settings.stills_path) / f"{entries[0].id}.jpg"
    still_app.state.stills.prune(entries[0].end_time)  # the stills of programmes ended before
    assert on_disk.exists()
    assert still_app.state.stills.prune(entries[0].end_time + timedelta(seconds=1)) >= 1
    assert not on_disk.exists()
    assert (await client.get(still_url(entries[0]))).status_code == 200
    assert len(still_runs(ffmpeg_log)) == taken + 1, "taken again once pruned"
    # Retention deletes the segments: the still stays.
    key = channel.cdn_channel_key
    assert key
    still_app.state.archive.forget_before(key, entries[0].end_time + timedelta(hours=1))
    for path in (Path(still_app.state.settings.hls_segment_dir) / key).rglob("*.m4s"):
        path.unlink()
    r = await client.get(still_url(entries[0]))
    assert r.status_code == 200 and len(still_runs(ffmpeg_log)) == taken + 1


async def test_concurrent_requests_share_one_ffmpeg(
    still_app: FastAPI, client: httpx.AsyncClient, ffmpeg_log: Path
) -> None:
    _, entries = await recorded_channel(still_app, 1)
    before = len(still_runs(ffmpeg_log))
    answers = await asyncio.gather(*(client.get(still_url(entries[0])) for _ in range(12)))
    assert {r.status_code for r in answers} == {200}
    assert len({r.content for r in answers}) == 1
    assert len(still_runs(ffmpeg_log)) == before + 1


async def test_a_page_of_cards_runs_at_most_two_ffmpegs_at_once(
    still_app: FastAPI, client: httpx.AsyncClient, ffmpeg_log: Path
) -> None:
    _, entries = await recorded_channel(still_app, 8)
    before = len(still_runs(ffmpeg_log))
    answers = await asyncio.gather(*(client.get(still_url(e)) for e in entries))
    assert [r.status_code for r in answers] == [200] * 8
    runs = still_runs(ffmpeg_log)[before:]
    assert len(runs) == 8
    assert most_at_once(runs) <= stills.MAX_TAKING


async def test_no_still_without_a_recording(
    still_app: FastAPI, client: httpx.AsyncClient, ffmpeg_log: Path, frozen_clock: Any, tmp_path: Path
) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    channel, entries = await create_recorded_channel(still_app, start, LOOP, 3)
    before = len(still_runs(ffmpeg_log))
    r = await client.get(still_url(entries[0]))
    assert r.status_code == 404 and r.json() == {"detail": "not_recorded"}
    assert r.headers["cache-control"] == "no-store"

    r = await client.get(f"{API}/epg/programmes/{uuid.uuid4()}/still.jpg")
    assert r.status_code == 404 and r.json() == {"detail": "schedule_entry_not_found"}
    r = await client.get(f"{API}/epg/programmes/nope/still.jpg")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["path", "entry_id"]

    # Only the first 6 s recorded (one segment, before the 10 % mark). Upcoming: nothing yet;
    # on air short of the mark: not yet; aired: the last frame before the mark (frame 0).
    await write_encoded_run(still_app, channel, entries[1].start_time, LOOP, LOOP, keep=1)
    headers = await login(client, "viewer@tstv.local")
    for now, answer in (
        (entries[1].start_time - timedelta(seconds=1), "still_not_ready"),
        (entries[1].start_time + timedelta(seconds=12), "still_not_ready"),
    ):
        frozen_clock(now)
        r = await client.get(still_url(entries[1]))
        assert (r.status_code, r.json()) == (404, {"detail": answer})
        programme = (await client.get(f"{API}/epg/programmes/{entries[1].id}", headers=headers)).json()
        assert programme["still_url"] is None
    assert len(still_runs(ffmpeg_log)) == before, "no FFmpeg for a programme without a still"
    frozen_clock(entries[1].end_time)
    programme = (await client.get(f"{API}/epg/programmes/{entries[1].id}", headers=headers)).json()
    assert programme["still_url"] == still_url(entries[1])
    r = await client.get(still_url(entries[1]))
    assert r.status_code == 200 and r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert frame_number(r.content, tmp_path) == 0


async def test_a_broken_recording_is_a_503_and_not_retried_at_once(
    still_app: FastAPI, client: httpx.AsyncClient, ffmpeg_log: Path
) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    # archive_factory's runs hold empty files: indexed as recorded, but nothing decodes.
    _, entries = await create_recorded_channel(still_app, start, LOOP, 1, recorded=(0, 1))
    before = len(still_runs(ffmpeg_log))
    for _ in range(2):
        r = await client.get(still_url(entries[0]))
        assert r.status_code == 503 and r.json() == {"detail": "still_unavailable"}
        assert r.headers["cache-control"] == "no-store"
        assert 0 < int(r.headers["retry-after"]) <= stills.RETRY_AFTER_FAILURE
    assert len(still_runs(ffmpeg_log)) == before + 1, "the failure is remembered"
