"""The disk budget on a real, small filesystem (a 64 MB tmpfs): with the archive and a sources
cache file past ARCHIVE_DISK_FLOOR, the oldest catch-up is evicted until free space is back above
the floor, a recording's segments and the live window survive, /metrics and the console's coverage
show it, and once only recordings and live windows are left new recordings are refused (507)."""

from __future__ import annotations

import math
import os
import re
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from app.main import create_app
from app.services.archive import archive_layout as layout
from app.services.archive.archive_index import ArchiveIndex
from app.services.archive.disk_budget import DiskBudget, follow_evictions
from app.services.encoders.run_loop import archive_nearly_full
from tests.archive_factory import create_recorded_channel, write_run
from tests.conftest import API, login, make_settings

MB = 1024 * 1024
SEG = 6
SEG_BYTES = 16 * 1024  # x2 renditions: 32 KB per 6 s of archive, 19 MB an hour
FLOOR = 16 * MB
LIVE_MINUTES = 30


@pytest.fixture(scope="module")
def small_disk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("disk")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(path)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"a tmpfs cannot be mounted here (needs root): {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


@pytest.fixture(scope="module")
async def disk_app(database_url: str, small_disk: Path) -> AsyncIterator[FastAPI]:
    settings = make_settings(
        database_url,
        small_disk / "hls",
        archive_disk_floor="16M",
        live_window_minutes=LIVE_MINUTES,
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


def _free(app: FastAPI) -> int:
    return (
        os.statvfs(app.state.settings.hls_segment_dir).f_bavail
        * os.statvfs(app.state.settings.hls_segment_dir).f_frsize
    )


def _fill(path: Path, size: int) -> None:
    with path.open("wb") as f:
        f.write(bytes(size))


def _segment_starts(root: Path, key: str, run_id: str, anchor: float) -> list[float]:
    names = os.listdir(layout.run_dir(root, key, run_id) / "video")
    segs = [layout.parse_segment_name(n) for n in names]
    return sorted(anchor + s.seq * SEG for s in segs if s is not None)


async def record(client: httpx.AsyncClient, entry_id: uuid.UUID, headers: dict[str, str]) -> httpx.Response:
    return await client.post(f"{API}/recordings", json={"schedule_entry_id": str(entry_id)}, headers=headers)


def _metric(text: str, name: str, key: str) -> float:
    m = re.search(rf'^{name}(?:_total)?{{channel="{key}"}} (\S+)$', text, re.MULTILINE)
    return float(m.group(1)) if m else 0.0


async def test_the_disk_floor_is_kept_by_evicting_the_oldest_catch_up(disk_app: FastAPI) -> None:
    app = disk_app
    root: Path = app.state.settings.hls_segment_dir
    budget: DiskBudget = app.state.disk_budget
    t = math.floor(datetime.now(UTC).timestamp() / SEG) * SEG
    now = datetime.fromtimestamp(t, UTC)
    start = now - timedelta(hours=2)
    # Two hours of 10-minute programmes, recorded in one run to now; catch-up of a day.
    channel, entries = await create_recorded_channel(
        app, start, 600, 13, catchup_window_hours=24, cutv_window_hours=24
    )
    key = channel.cdn_channel_key
    assert key is not None
    info = write_run(root, key, start, now, segment_bytes=SEG_BYTES)
    app.state.archive.rescan_channel(key)
    before = _segment_starts(root, key, info.run_id, info.anchor)
    assert len(before) == 1200
    replica = ArchiveIndex(root)  # an API replica's index of the shared archive (TSTV_ROLE=api)
    replica.rescan_channel(key)

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        viewer = await login(client, "viewer@tstv.local")
        admin = await login(client, "admin@tstv.local")
        # A viewer records the oldest programme: its segments are held.
        r = await client.post(
            f"{API}/recordings", json={"schedule_entry_id": str(entries[0].id)}, headers=viewer
        )
        assert r.status_code == 201, r.text
        assert not archive_nearly_full(root)
        cov = (await client.get(f"{API}/admin/archive/coverage/{key}", headers=admin)).json()
        assert cov["catchup_hours_available"] == pytest.approx(2.0, abs=0.01)

        # The sources cache grows past the floor (it shares the filesystem).
        sources = root.parent / "sources"
        sources.mkdir(exist_ok=True)
        _fill(sources / "cache-1.mp4", _free(app) - 6 * MB)
        assert _free(app) < FLOOR
        evicted = await app.state.simlive.enforce_disk_budget(budget, app.state.archive.latest_end)

        assert _free(app) >= FLOOR, "one pass brings free space back above the floor"
        assert evicted[key].segments > 0 and not budget.storage_full()
        left = _segment_starts(root, key, info.run_id, info.anchor)
        held_end = entries[0].end_time.timestamp()
        assert [s for s in left if s < held_end] == [s for s in before if s < held_end], "recording kept"
        gone = sorted(set(before) - set(left))
        # The segment straddling the recording's end by the names' jitter is kept with it.
        assert gone[0] == held_end + SEG, "the oldest catch-up after the recording went first"
        assert gone == [s for s in before if held_end + SEG <= s <= gone[-1]], "oldest first, no holes"
        # The index dropped exactly what was deleted: the recording, then the archive from the cut-off.
        ranges = app.state.archive.covered_ranges(key)
        assert ranges[0] == (start.timestamp(), held_end)
        assert ranges[1][0] == gone[-1] + SEG
        # The replica follows the cut-off the evicting process recorded in the archive.
        sm, seen = app.state.db.sessionmaker, dict[str, float]()
        assert await follow_evictions(app.state.settings, sm, replica.forget_before, seen) == 1
        assert replica.covered_ranges(key) == ranges
        assert await follow_evictions(app.state.settings, sm, replica.forget_before, seen) == 0

        metrics = (await client.get("/metrics", headers=admin)).text
        assert _metric(metrics, "tstv_archive_evicted_segments", key) == 2 * len(gone)
        assert _metric(metrics, "tstv_archive_evicted_bytes", key) == 2 * len(gone) * SEG_BYTES
        assert re.search(r"^tstv_disk_floor_bytes 1\.6777216e\+07$", metrics, re.MULTILINE)
        cov = (await client.get(f"{API}/admin/archive/coverage/{key}", headers=admin)).json()
        expected = (2 * 3600 - len(gone) * SEG) / 3600
        assert cov["catchup_hours_available"] == pytest.approx(expected, abs=0.01)
        assert cov["evicted_segments"] == 2 * len(gone)
        disk = (await client.get(f"{API}/admin/archive/coverage", headers=admin)).json()["disk"]
        assert disk["floor_bytes"] == FLOOR and disk["free_bytes"] >= FLOOR and disk["storage_full"] is False

        # More of the disk is taken until only the recording and the live window are left.
        for i in range(2, 6):
            _fill(sources / f"cache-{i}.mp4", max(0, _free(app) - 2 * MB))
            await app.state.simlive.enforce_disk_budget(budget, app.state.archive.latest_end)
            if budget.exhausted:
                break
        assert budget.exhausted and _free(app) < FLOOR
        assert archive_nearly_full(root), "an encoder failing now is put down to the disk"
        left = _segment_starts(root, key, info.run_id, info.anchor)
        live_from = t - LIVE_MINUTES * 60
        assert [s for s in left if s < held_end] == [s for s in before if s < held_end], "recording kept"
        assert [s for s in left if s >= live_from] == [s for s in before if s >= live_from], "live kept"
        assert not [s for s in left if held_end + SEG <= s < live_from - SEG], "the rest of catch-up is gone"

        r = await client.post(
            f"{API}/recordings", json={"schedule_entry_id": str(entries[12].id)}, headers=viewer
        )
        assert (r.status_code, r.json()) == (507, {"detail": "storage_full"})
        disk = (await client.get(f"{API}/admin/archive/coverage", headers=admin)).json()["disk"]
        assert disk["storage_full"] is True and disk["full_in_seconds"] == 0
        metrics = (await client.get("/metrics", headers=admin)).text
        assert re.search(r"^tstv_disk_storage_full 1\.0$", metrics, re.MULTILINE)

        # Space comes back: recordings are taken again.
        for f in sources.iterdir():
            f.unlink()
        await app.state.simlive.enforce_disk_budget(budget, app.state.archive.latest_end)
        r = await client.post(
            f"{API}/recordings", json={"schedule_entry_id": str(entries[12].id)}, headers=viewer
        )
        assert r.status_code == 201, r.text
        assert not archive_nearly_full(root)
