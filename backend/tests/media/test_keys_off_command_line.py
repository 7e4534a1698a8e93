"""No content key on any command line while a live encoder runs: FFmpeg encrypts with the public
placeholder key into the run's private staging folder, a watcher re-keys into the archive
(app/services/encoders/staging.py, docs/MEDIA.md M26); a run left with staged segments (a crash)
is finished when the channel's encoder next starts."""

from __future__ import annotations

import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.main import create_app
from app.services.archive import archive_layout as layout
from app.services.archive.archive_layout import FPS
from app.services.archive.cenc_rekey import PLACEHOLDER_KEY, rekey_segment
from app.services.archive.child_processes import ffmpeg_exe
from app.services.encoders import staging
from tests.conftest import login, make_settings
from tests.simlive_helpers import (
    add_channel,
    decode,
    ffmpeg_processes,
    frame_count,
    poll,
    remove_channels,
    segments,
    status_of,
)

SEG = 6
KEY = "kc1"


@pytest.fixture(scope="module")
async def app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FastAPI]:
    application = create_app(make_settings(database_url, tmp_path_factory.mktemp("kc-hls")))
    async with application.router.lifespan_context(application):
        sm = application.state.db.sessionmaker
        await add_channel(sm, KEY, 9150, loop_seconds=30)
        try:
            yield application
        finally:
            await application.state.simlive.shutdown()
            await remove_channels(sm, [KEY])


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        yield c


@pytest.fixture
async def admin(client: httpx.AsyncClient) -> dict[str, str]:
    return await login(client, "admin@tstv.local")


async def _running(client: httpx.AsyncClient, headers: dict[str, str], not_pid: int | None = None) -> Any:
    async def check() -> dict[str, Any] | None:
        s = await status_of(client, headers, KEY)
        return s if s["running"] and s["pid"] and s["pid"] != not_pid else None

    return await poll(check, 120, f"{KEY} running")


async def _wait_segments(app: FastAPI, run_id: str, n: int) -> Path:
    rdir = layout.run_dir(Path(app.state.settings.hls_segment_dir), KEY, run_id)

    async def enough() -> bool:
        return all(len(segments(rdir, r)) >= n for r in layout.RENDITIONS)

    await poll(enough, 60, f"{n} segments per rendition in {rdir}")
    return rdir


def _cmdlines_holding(needle: bytes) -> list[str]:
    """Every process whose /proc/PID/cmdline holds `needle` (case-insensitive)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmd = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if needle.lower() in cmd.lower():
                found.append(f"{entry}: {cmd[:200]!r}")
    return found


async def test_content_key_is_on_no_command_line_and_staging_is_private(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str], tmp_path: Path
) -> None:
    """FFmpeg encrypts with the public placeholder key into the run's private staging folder; the
    watcher re-keys into the archive (app/services/encoders/staging.py). A run left with staged
    segments (a crash) is finished when the channel's encoder next starts."""
    r = await client.post(f"/api/v1/admin/simlive/{KEY}/start", headers=admin)
    assert r.status_code == 200, r.text
    st = await _running(client, admin)
    rdir = await _wait_segments(app, st["run_id"], 1)
    key = (await client.get(f"/api/v1/drm/keys/channel/{KEY}", headers=admin)).json()
    ffmpegs = ffmpeg_processes(rdir)
    assert ffmpegs, "no FFmpeg writes the run"
    assert not _cmdlines_holding(key["key_value_hex"].encode())
    assert not _cmdlines_holding(key["key_value_hex"].upper().encode())
    stage = staging.staging_dir(rdir)
    assert stat.S_IMODE(stage.stat().st_mode) == 0o700
    assert all(stat.S_IMODE((stage / r).stat().st_mode) == 0o700 for r in layout.RENDITIONS)
    # What the archive serves decrypts with the channel's key, and its playlist lists only files
    # that are there.
    ffmpeg = ffmpeg_exe(app.state.settings)
    seg0 = segments(rdir, "video")[0]
    clear = decode(ffmpeg, rdir / "video" / "init_0.mp4", seg0, key["key_value_hex"], tmp_path)
    assert clear.returncode == 0 and frame_count(clear.stdout) == SEG * FPS, clear.stderr.decode()[-500:]
    listed = (rdir / "video" / layout.PLAYLIST_NAME).read_text().split()
    assert all((rdir / "video" / n).exists() for n in listed if n.endswith(".m4s"))

    r = await client.post(f"/api/v1/admin/simlive/{KEY}/stop", headers=admin)
    assert r.status_code == 200
    assert not stage.exists()  # drained and removed once FFmpeg ended
    # A crash's leftovers: a finished staged segment (placeholder key) and a half-written one.
    last = segments(rdir, "video")[-1]
    name = layout.parse_segment_name(last.name)
    assert name is not None
    orphan = f"{name.wallclock}_{name.seq + 1:06d}_{name.duration_us}.m4s"
    archived = last.read_bytes()
    staging.make_staging(rdir, ("video",))
    (stage / "video" / orphan).write_bytes(
        rekey_segment(archived, bytes.fromhex(key["key_value_hex"]), PLACEHOLDER_KEY)
    )
    (stage / "video" / f"{orphan}.tmp").write_bytes(b"half")
    r = await client.post(f"/api/v1/admin/simlive/{KEY}/start", headers=admin)
    assert r.status_code == 200
    await _running(client, admin, not_pid=st["pid"])
    assert not stage.exists()
    assert (rdir / "video" / orphan).read_bytes() == archived
    assert not (rdir / "video" / f"{orphan}.tmp").exists()
    r = await client.post(f"/api/v1/admin/simlive/{KEY}/stop", headers=admin)
    assert r.status_code == 200
