"""Retention: exact cut-off, whole finished runs removed, the live run kept, idempotent, concurrent."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from app.main import create_app
from app.services.archive import archive_layout as layout
from app.services.archive import retention
from tests.conftest import login, make_settings
from tests.simlive_helpers import add_channel, remove_channels

SEG = 6
SEG_BYTES = 100
INIT_BYTES = 50
KEYS = ["ret1", "ret2"]


def write_run(root: Path, key: str, anchor: datetime, count: int) -> Path:
    info = layout.RunInfo(
        run_id=layout.run_id_for(anchor.timestamp()),
        channel_key=key,
        anchor=anchor.timestamp(),
        segment_duration=SEG,
        kid=None,
        started_at=anchor.timestamp(),
        loop_seconds=30,
        loop_offset=0.0,
    )
    rdir = layout.write_run_info(root, info)
    for rendition in layout.RENDITIONS:
        (rdir / rendition / layout.INIT_NAMES[rendition]).write_bytes(b"i" * INIT_BYTES)
        for seq in range(count):
            start = anchor + timedelta(seconds=seq * SEG)
            name = f"{start:%Y%m%dT%H%M%S}_{seq:06d}_{SEG * 1_000_000}.m4s"
            (rdir / rendition / name).write_bytes(b"s" * SEG_BYTES)
    return rdir


def remaining(rdir: Path) -> list[int]:
    segs = [layout.parse_segment_name(p.name) for p in (rdir / "video").iterdir()]
    return sorted(s.seq for s in segs if s is not None)


@pytest.fixture(scope="module")
async def ret_app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FastAPI]:
    application = create_app(make_settings(database_url, tmp_path_factory.mktemp("ret-hls")))
    async with application.router.lifespan_context(application):
        sm = application.state.db.sessionmaker
        await add_channel(sm, "ret1", 9201, catchup_window_hours=2, cutv_window_hours=2)
        await add_channel(sm, "ret2", 9202)
        try:
            yield application
        finally:
            await remove_channels(sm, KEYS)


def _layout(root: Path, now: datetime) -> dict[str, Path]:
    cutoff = now - timedelta(hours=2)
    return {
        # Entirely past the cut-off, finished: goes as a whole.
        "old": write_run(root, "ret1", cutoff - timedelta(hours=1), 60),
        # Straddles the cut-off: segments 0..3 end at least a second before it, 4.. are kept.
        "straddle": write_run(root, "ret1", cutoff - timedelta(seconds=30), 20),
        # The live run: old segments go, the run (init segments) stays.
        "live": write_run(root, "ret1", cutoff - timedelta(minutes=30), 3),
        # Inside the 168 h window of another channel: untouched.
        "other": write_run(root, "ret2", now - timedelta(hours=100), 5),
    }


async def test_cleanup_cutoff_is_exact_and_idempotent(ret_app: FastAPI) -> None:
    settings = ret_app.state.settings
    root = Path(settings.hls_segment_dir)
    now = datetime.now(UTC).replace(microsecond=0)
    runs = _layout(root, now)
    live = {"ret1": runs["live"].name}
    calls: list[tuple[str, datetime]] = []
    run_json_bytes = (runs["old"] / "run.json").stat().st_size

    def listener(key: str, cutoff: datetime, kept: object = ()) -> None:
        calls.append((key, cutoff))

    res = await retention.cleanup(
        settings, ret_app.state.db.sessionmaker, now, listener=listener, live_runs=live
    )
    by_key = {c.channel_key: c for c in res.channels}
    # old: 60 x 2 segments + 2 init; straddle: 4 x 2; live: 3 x 2 (init kept)
    assert by_key["ret1"].segments_deleted == 120 + 8 + 6
    assert by_key["ret1"].bytes_freed == 134 * SEG_BYTES + 2 * INIT_BYTES + run_json_bytes
    assert by_key["ret1"].runs_removed == 1
    assert not runs["old"].exists()
    assert remaining(runs["straddle"]) == list(range(4, 20))
    assert remaining(runs["live"]) == [] and (runs["live"] / "video" / "init_0.mp4").exists()
    assert remaining(runs["other"]) == list(range(5))
    assert by_key["ret2"].segments_deleted == 0
    assert res.total_segments_deleted == 134
    assert ("ret1", now - timedelta(hours=2)) in calls and ("ret2", now - timedelta(hours=168)) in calls
    # Nothing inside the window was touched: the first kept segment ends exactly at the cut-off.
    cutoff = now - timedelta(hours=2)
    first_kept = min(remaining(runs["straddle"]))
    assert cutoff - timedelta(seconds=30) + timedelta(seconds=(first_kept + 1) * SEG) >= cutoff

    again = await retention.cleanup(settings, ret_app.state.db.sessionmaker, now, live_runs=live)
    assert again.total_segments_deleted == 0 and again.total_bytes_freed == 0

    # Once the run is no longer live, its leftovers (init segments, run.json) go too.
    last = await retention.cleanup(settings, ret_app.state.db.sessionmaker, now)
    assert last.total_segments_deleted == 0 and last.total_bytes_freed >= 2 * INIT_BYTES
    assert not runs["live"].exists()


async def test_api_replicas_forget_what_retention_deletes_without_deleting(ret_app: FastAPI) -> None:
    """TSTV_ROLE=api: the index is told the very cut-offs and holds the leader's clean-up uses,
    and no file is touched (the replica only reads the shared archive)."""
    settings = ret_app.state.settings
    root = Path(settings.hls_segment_dir)
    now = datetime.now(UTC).replace(microsecond=0)
    rdir = write_run(root, "ret1", now - timedelta(hours=3), 5)
    told: list[tuple[str, datetime]] = []
    cleaned: list[tuple[str, datetime]] = []

    def forget(key: str, cutoff: datetime, kept: object = ()) -> None:
        told.append((key, cutoff))

    def listener(key: str, cutoff: datetime, kept: object = ()) -> None:
        cleaned.append((key, cutoff))

    assert await retention.forget_expired(settings, ret_app.state.db.sessionmaker, forget, now) >= 2
    assert remaining(rdir) == list(range(5))
    await retention.cleanup(settings, ret_app.state.db.sessionmaker, now, listener=listener)
    assert ("ret1", now - timedelta(hours=2)) in told
    assert sorted(t for t in told if t[0] in KEYS) == sorted(c for c in cleaned if c[0] in KEYS)


async def test_concurrent_cleanups_count_each_file_once(ret_app: FastAPI) -> None:
    settings = ret_app.state.settings
    root = Path(settings.hls_segment_dir) / "concurrent"
    settings = make_settings(settings.database_url, root)
    now = datetime.now(UTC).replace(microsecond=0)
    sm = ret_app.state.db.sessionmaker
    runs = _layout(root, now)
    results = await asyncio.gather(*(retention.cleanup(settings, sm, now) for _ in range(4)))
    assert sum(r.total_segments_deleted for r in results) == 134
    assert not runs["old"].exists() and not runs["live"].exists()
    assert remaining(runs["straddle"]) == list(range(4, 20))


async def test_cleanup_endpoint(ret_app: FastAPI) -> None:
    root = Path(ret_app.state.settings.hls_segment_dir)
    shutil.rmtree(root / "ret1", ignore_errors=True)  # earlier tests' runs, whose ends move past the cut-off
    now = datetime.now(UTC)
    old = write_run(root, "ret1", now - timedelta(hours=5), 10)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=ret_app), base_url="http://test") as c:
        admin = await login(c, "admin@tstv.local")
        viewer = await login(c, "viewer@tstv.local")
        assert (await c.post("/api/v1/admin/simlive/cleanup")).status_code == 401
        assert (await c.post("/api/v1/admin/simlive/cleanup", headers=viewer)).status_code == 403
        r = await c.post("/api/v1/admin/simlive/cleanup", headers=admin)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["total_segments_deleted"] == 20 and body["total_bytes_freed"] >= 20 * SEG_BYTES
        assert body["channels_processed"] >= 2
        assert not old.exists()
        r = await c.post("/api/v1/admin/simlive/cleanup", headers=admin)
        assert r.json()["total_segments_deleted"] == 0
