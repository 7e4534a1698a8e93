"""SimLive encoders with the real FFmpeg: archive layout, encryption, EPG alignment, supervision."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.domain.schedule import SCHEDULE_EPOCH
from app.ladder import Rung
from app.main import create_app
from app.services.archive import archive_layout as layout
from app.services.archive.archive_layout import FPS
from app.services.archive.child_processes import ffmpeg_exe
from app.services.encoders import run_start
from app.services.encoders.run_plan import loop_offset_for
from app.services.encoders.sources import SourceCache, probe
from app.services.encoders.supervisor import EncoderSupervisor
from app.services.playback.manifest_generator import select_segments
from tests.conftest import login, make_settings
from tests.simlive_helpers import (
    add_channel,
    decode,
    ffmpeg_processes,
    first_frame_marker,
    frame_count,
    pid_alive,
    poll,
    remove_channels,
    segments,
    status_of,
)
from tests.stack import wait_until

SEG = 6
BACKEND_DIR = Path(__file__).resolve().parents[2]
KEYS = ["sl1", "sl2", "sl3", "sl4"]


@pytest.fixture(scope="module")
async def sl_app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FastAPI]:
    """An app of its own (own archive dir), with short-loop test channels."""
    hls = tmp_path_factory.mktemp("sl-hls")
    application = create_app(make_settings(database_url, hls))
    async with application.router.lifespan_context(application):
        sm = application.state.db.sessionmaker
        for i, key in enumerate(KEYS):
            await add_channel(sm, key, 9100 + i, loop_seconds=30)
        try:
            yield application
        finally:
            await application.state.simlive.shutdown()
            await remove_channels(sm, KEYS)


@pytest.fixture
async def sl_client(sl_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sl_app), base_url="http://test") as c:
        yield c


@pytest.fixture
async def sl_admin(sl_client: httpx.AsyncClient) -> dict[str, str]:
    return await login(sl_client, "admin@tstv.local")


def _manager(app: FastAPI) -> EncoderSupervisor:
    m: EncoderSupervisor = app.state.simlive
    return m


async def _wait_segments(app: FastAPI, key: str, run_id: str, n: int, within: float = 60) -> Path:
    rdir = layout.run_dir(Path(app.state.settings.hls_segment_dir), key, run_id)

    async def enough() -> bool:
        return all(len(segments(rdir, r)) >= n for r in layout.RENDITIONS)

    await poll(enough, within, f"{n} segments per rendition in {rdir}")
    return rdir


async def _running(
    client: httpx.AsyncClient, headers: dict[str, str], key: str, not_pid: int | None = None
) -> Any:
    async def check() -> dict[str, Any] | None:
        s = await status_of(client, headers, key)
        ok = s["running"] and s["pid"] and s["pid"] != not_pid
        return s if ok else None

    return await poll(check, 45, f"{key} running")


async def _running_every_rung(
    app: FastAPI, client: httpx.AsyncClient, headers: dict[str, str], key: str
) -> Any:
    """Running on the whole ladder: a channel started while other channels' sources are prepared
    goes on air on the rungs it has and the others join by a handover (a new pid, no restart)."""
    ladder = len(app.state.settings.ladder)
    root = Path(app.state.settings.hls_segment_dir)

    async def check() -> dict[str, Any] | None:
        s = await status_of(client, headers, key)
        if not (s["running"] and s["pid"] and s["run_id"]):
            return None
        info = layout.read_run_info(layout.run_dir(root, key, s["run_id"]))
        return s if info is not None and len(info.rungs) == ladder else None

    return await poll(check, 120, f"{key} running with every rung")


async def test_encoder_writes_encrypted_archive_aligned_with_epg(
    sl_app: FastAPI, sl_client: httpx.AsyncClient, sl_admin: dict[str, str], tmp_path: Path
) -> None:
    r = await sl_client.post("/api/v1/admin/simlive/sl1/start", headers=sl_admin)
    assert r.status_code == 200, r.text
    assert r.json()["wanted"] is True
    again = await sl_client.post("/api/v1/admin/simlive/sl1/start", headers=sl_admin)
    assert again.status_code == 409 and again.json()["detail"] == "already_running"

    st = await _running(sl_client, sl_admin, "sl1")
    t0 = time.monotonic()
    rdir = await _wait_segments(sl_app, "sl1", st["run_id"], 3)
    assert time.monotonic() - t0 < 30
    info = layout.read_run_info(rdir)
    assert info is not None and info.channel_key == "sl1" and info.segment_duration == SEG
    assert info.anchor % SEG == 0 and info.loop_seconds == 30
    assert info.loop_offset == loop_offset_for(info.anchor, 30)
    assert info.loop_offset == (info.anchor - SCHEDULE_EPOCH.timestamp()) % 30
    for rendition, init in layout.INIT_NAMES.items():
        assert (rdir / rendition / init).stat().st_size > 0

    # The KMS key is the one FFmpeg encrypted with.
    key = (await sl_client.get("/api/v1/drm/keys/channel/sl1", headers=sl_admin)).json()
    assert info.kid == key["kid_hex"]

    ffmpeg = ffmpeg_exe(sl_app.state.settings)
    for rendition in layout.RENDITIONS:
        segs = segments(rdir, rendition)
        seqs = [layout.parse_segment_name(p.name).seq for p in segs]  # type: ignore[union-attr]
        assert seqs[:3] == [0, 1, 2]
        # Wall-clock names agree with the timeline anchor + seq * 6 (the first one is opened early,
        # during the pre-roll; the others carry FFmpeg's one-second jitter).
        for path in segs[1:3]:
            name = layout.parse_segment_name(path.name)
            assert name is not None
            named = datetime.strptime(name.wallclock, "%Y%m%dT%H%M%S").replace(tzinfo=UTC).timestamp()
            assert abs(named - (info.anchor + name.seq * SEG)) <= 1.5, (path.name, info.anchor)
        for p in segs[:3]:
            dur = layout.parse_segment_name(p.name).duration  # type: ignore[union-attr]
            assert abs(dur - SEG) <= SEG * 0.01, (p.name, dur)

    # Video: undecodable without the key, decodable with it; the burnt-in frame counter shows the loop
    # position the EPG has for the segment's programme-date-time (anchor + seq * 6), across the wrap.
    init_v = rdir / "video" / "init_0.mp4"
    for seq, seg in enumerate(segments(rdir, "video")[:3]):
        clear = decode(ffmpeg, init_v, seg, key["key_value_hex"], tmp_path)
        assert clear.returncode == 0, clear.stderr.decode()[-500:]
        assert frame_count(clear.stdout) == SEG * FPS
        expected = round((info.loop_offset + seq * SEG) % 30 * FPS)
        assert first_frame_marker(clear.stdout) == expected, (seq, info.loop_offset)
    seg0 = segments(rdir, "video")[0]
    locked = decode(ffmpeg, init_v, seg0, None, tmp_path)
    assert locked.returncode != 0 or b"rror" in locked.stderr or frame_count(locked.stdout) == 0
    clear = decode(ffmpeg, init_v, seg0, key["key_value_hex"], tmp_path)
    assert locked.stdout != clear.stdout
    # Audio decrypts with the key too.
    audio = decode(
        ffmpeg,
        rdir / "audio" / "init_1.mp4",
        segments(rdir, "audio")[0],
        key["key_value_hex"],
        tmp_path,
        False,
    )
    assert audio.returncode == 0 and len(audio.stdout) > 48000, audio.stderr.decode()[-500:]

    # Status: counters without a rescan, log file per channel, state persisted.
    st = await status_of(sl_client, sl_admin, "sl1")
    assert st["segment_count"] >= 6 and st["disk_bytes"] > 0 and st["uptime_seconds"] > 0
    assert (Path(sl_app.state.settings.hls_segment_dir) / "sl1" / "encoder.log").exists()
    fresh = EncoderSupervisor(sl_app.state.settings, sl_app.state.db.sessionmaker)
    assert fresh.load_wanted().get("sl1") is True

    r = await sl_client.post("/api/v1/admin/simlive/sl1/stop", headers=sl_admin)
    assert r.status_code == 200 and r.json()["running"] is False
    assert not pid_alive(st["pid"])
    assert fresh.load_wanted().get("sl1") is False
    r = await sl_client.post("/api/v1/admin/simlive/sl1/stop", headers=sl_admin)
    assert r.status_code == 409 and r.json()["detail"] == "not_running"
    r = await sl_client.post("/api/v1/admin/simlive/sl1/restart", headers=sl_admin)
    assert r.status_code == 409


async def test_kill_9_restarts_and_rotation_keeps_old_segments_decryptable(
    sl_app: FastAPI, sl_client: httpx.AsyncClient, sl_admin: dict[str, str], tmp_path: Path
) -> None:
    assert (await sl_client.post("/api/v1/admin/simlive/sl2/start", headers=sl_admin)).status_code == 200
    first = await _running_every_rung(sl_app, sl_client, sl_admin, "sl2")
    old_key = (await sl_client.get("/api/v1/drm/keys/channel/sl2", headers=sl_admin)).json()

    os.kill(first["pid"], signal.SIGKILL)
    killed_at = time.monotonic()
    second = await _running(sl_client, sl_admin, "sl2", not_pid=first["pid"])
    assert time.monotonic() - killed_at < 5
    assert second["restarts"] == 1 and second["run_id"] != first["run_id"]
    assert "exited" in (second["last_error"] or "")
    old_dir = await _wait_segments(sl_app, "sl2", second["run_id"], 1)

    r = await sl_client.post("/api/v1/admin/drm/sl2/rotate", headers=sl_admin)
    assert r.status_code == 200, r.text
    rot = r.json()
    assert rot["encoder_restarted"] is True and rot["previous_key_id"] == old_key["key_id"]
    new_key = (await sl_client.get("/api/v1/drm/keys/channel/sl2", headers=sl_admin)).json()
    assert new_key["key_id"] == rot["key_id"] != old_key["key_id"]
    third = await _running(sl_client, sl_admin, "sl2", not_pid=second["pid"])
    new_dir = await _wait_segments(sl_app, "sl2", third["run_id"], 1)
    assert layout.read_run_info(new_dir).kid == new_key["kid_hex"]  # type: ignore[union-attr]
    assert layout.read_run_info(old_dir).kid == old_key["kid_hex"]  # type: ignore[union-attr]

    ffmpeg = ffmpeg_exe(sl_app.state.settings)
    old_seg, new_seg = segments(old_dir, "video")[0], segments(new_dir, "video")[0]
    old_ok = decode(ffmpeg, old_dir / "video/init_0.mp4", old_seg, old_key["key_value_hex"], tmp_path)
    new_ok = decode(ffmpeg, new_dir / "video/init_0.mp4", new_seg, new_key["key_value_hex"], tmp_path)
    assert old_ok.returncode == 0 and frame_count(old_ok.stdout) == SEG * FPS
    assert new_ok.returncode == 0 and frame_count(new_ok.stdout) == SEG * FPS
    wrong = decode(ffmpeg, old_dir / "video/init_0.mp4", old_seg, new_key["key_value_hex"], tmp_path)
    assert wrong.stdout != old_ok.stdout
    # The old key stays available to licences (older catch-up).
    await _manager(sl_app).stop("sl2")


async def test_bad_channel_keys_and_auth(
    sl_client: httpx.AsyncClient, sl_admin: dict[str, str], viewer_headers: dict[str, str]
) -> None:
    for path in ("nope", "a" * 40, "..%2Fx", "%2E%2E", "CH1", "ch1%00"):
        r = await sl_client.post(f"/api/v1/admin/simlive/{path}/start", headers=sl_admin)
        assert r.status_code in (404, 422), (path, r.status_code)
    r = await sl_client.post("/api/v1/admin/simlive/ch1/../x/start", headers=sl_admin)
    assert r.status_code in (404, 422)
    assert (await sl_client.get("/api/v1/admin/simlive/status")).status_code == 401
    assert (await sl_client.get("/api/v1/admin/simlive/status", headers=viewer_headers)).status_code == 403
    r = await sl_client.post("/api/v1/admin/simlive/sl3/start", headers=viewer_headers)
    assert r.status_code == 403


async def test_backend_shutdown_leaves_no_encoder(database_url: str, sl_app: FastAPI) -> None:
    """A second backend on its own archive: stopping it ends its encoder; wanted state survives."""
    hls = Path(sl_app.state.settings.hls_segment_dir).parent / "sl-hls-shutdown"
    application = create_app(make_settings(database_url, hls))
    async with application.router.lifespan_context(application):
        manager = _manager(application)
        await manager.start("sl3")

        async def pid() -> int | None:
            return manager.pid_of("sl3")

        child = await poll(pid, 45, "sl3 pid")
        assert pid_alive(child)
        pids = json.loads((hls / ".simlive" / "pids.json").read_text())
        assert pids["sl3"]["pid"] == child
    assert not pid_alive(child)
    assert (
        EncoderSupervisor(application.state.settings, sl_app.state.db.sessionmaker).load_wanted()["sl3"]
        is True
    )


async def test_killed_backend_leaves_no_encoder(database_url: str, sl_app: FastAPI, tmp_path: Path) -> None:
    """`kill -9` of the backend process: its encoder dies with it (PR_SET_PDEATHSIG)."""
    hls = Path(sl_app.state.settings.hls_segment_dir).parent / "sl-hls-killed"
    script = textwrap.dedent(
        f"""
        import asyncio, sys
        from pathlib import Path
        from app.db import Database
        from app.services.encoders.supervisor import EncoderSupervisor
        from tests.conftest import make_settings

        async def main():
            settings = make_settings({database_url!r}, Path({str(hls)!r}))
            db = Database(settings)
            m = EncoderSupervisor(settings, db.sessionmaker)
            await m.startup()
            await m.start("sl4")
            while m.pid_of("sl4") is None:
                await asyncio.sleep(0.1)
            print(m.pid_of("sl4"), flush=True)
            await asyncio.sleep(600)

        asyncio.run(main())
        """
    )
    proc = subprocess.Popen(  # noqa: ASYNC220 - a stand-in backend we kill -9
        [sys.executable, "-c", script], cwd=BACKEND_DIR, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 60)
        child = int(line)
        assert pid_alive(child)
        proc.kill()
        proc.wait()

        async def gone() -> bool:
            return not pid_alive(child)

        await poll(gone, 5, "the orphaned encoder to die")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    # And the pidfile route: a new backend ends an encoder listed there whose command line names its
    # archive, and leaves alone a process that merely reuses a listed pid.
    ffmpeg = ffmpeg_exe(sl_app.state.settings)
    out = hls / "sl4" / "stale"
    out.mkdir(parents=True, exist_ok=True)
    stale = subprocess.Popen(  # noqa: ASYNC220
        [
            ffmpeg,
            "-nostdin",
            "-v",
            "quiet",
            "-re",
            "-f",
            "lavfi",
            "-i",
            "testsrc",
            "-f",
            "null",
            str(out / "x"),
        ]
    )
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])  # noqa: ASYNC220
    try:
        (hls / ".simlive" / "pids.json").write_text(
            json.dumps({"sl4": {"pid": stale.pid}, "sl3": {"pid": other.pid}})
        )
        settings = make_settings(database_url, hls)
        manager = EncoderSupervisor(settings, sl_app.state.db.sessionmaker)
        killed = await asyncio.to_thread(manager.kill_stale)
        assert killed == [stale.pid]
        assert stale.wait(timeout=5) is not None
        assert other.poll() is None
    finally:
        for p in (stale, other):
            if p.poll() is None:
                p.kill()
                p.wait()


async def test_user_source_is_conformed_once_to_the_loop_length(sl_app: FastAPI, tmp_path: Path) -> None:
    settings = make_settings(
        sl_app.state.settings.database_url, tmp_path / "hls", hls_sources_dir=tmp_path / "sources"
    )
    ffmpeg = ffmpeg_exe(settings)
    (tmp_path / "sources").mkdir()
    src = tmp_path / "sources" / "usr1.mp4"
    # 5 s of video without audio, 30 fps, odd GOP: conformed to 12 s, 25 fps, 1 s GOP, with audio.
    await asyncio.to_thread(
        subprocess.run,
        [
            ffmpeg,
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x240:rate=30:duration=5",
            "-c:v",
            "libx264",
            "-g",
            "90",
            "-y",
            str(src),
        ],
        check=True,
    )
    cache = SourceCache(settings)
    base, *upper = settings.ladder
    t0 = time.monotonic()
    out = await cache.prepare("usr1", "User One", 12, base)
    info = await probe(ffmpeg, out)
    assert abs(info.duration - 12) < 0.1 and info.has_audio and info.has_video
    build = time.monotonic() - t0
    # Every rung is its own cache entry, at the rung's exact size (the 4:3 source pillar-boxed).
    for rung in upper:
        path = await cache.prepare("usr1", "User One", 12, rung)
        assert path != out and rung.name in path.name
        assert f", {rung.width}x{rung.height}" in await _stream_line(ffmpeg, path)
    assert f", {base.width}x{base.height}" in await _stream_line(ffmpeg, out)
    mtime = out.stat().st_mtime_ns
    again = await SourceCache(settings).prepare("usr1", "User One", 12, base)
    assert again == out and again.stat().st_mtime_ns == mtime
    assert build > 0
    # A changed source file is a new cache entry.
    await asyncio.to_thread(
        subprocess.run,
        [
            ffmpeg,
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240:rate=25:duration=3",
            "-y",
            str(src),
        ],
        check=True,
    )
    changed = await SourceCache(settings).prepare("usr1", "User One", 12, base)
    assert changed != out and changed.is_file()


async def _stream_line(ffmpeg: str, path: Path) -> str:
    """The `Video:` stream line `ffmpeg -i` prints for a file (there is no ffprobe here)."""
    proc = await asyncio.create_subprocess_exec(
        ffmpeg,
        "-hide_banner",
        "-i",
        str(path),
        stderr=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL,
    )
    _, err = await proc.communicate()
    return next((ln for ln in err.decode().splitlines() if "Video:" in ln), "")


async def test_upper_rungs_not_ready_join_later_without_a_gap(
    sl_app: FastAPI,
    sl_client: httpx.AsyncClient,
    sl_admin: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A channel whose upper rungs are not prepared goes on air on the base rung at once (no wait
    here), and the upper rungs join by a make-before-break handover once prepared: the first run
    ends exactly where the one with the whole ladder begins, and no restart is counted."""
    monkeypatch.setattr(run_start, "RUNG_WAIT_SECONDS", 0.0)
    # The upper rungs' preparation waits until the first run is on air (else a quick join could
    # replace it while still in its pre-roll, which leaves nothing of it to check).
    gate = asyncio.Event()
    sources = _manager(sl_app).sources
    real_prepare = sources.prepare

    async def gated_prepare(channel_key: str, name: str, loop: int, rung: Rung, *args: Any) -> Path:
        if channel_key == key and rung != sl_app.state.settings.ladder[0]:
            await gate.wait()
        return await real_prepare(channel_key, name, loop, rung, *args)

    monkeypatch.setattr(sources, "prepare", gated_prepare)
    key = "slj" + os.urandom(3).hex()
    await add_channel(sl_app.state.db.sessionmaker, key, 9190, loop_seconds=30)
    ladder = sl_app.state.settings.ladder
    try:
        assert (
            await sl_client.post(f"/api/v1/admin/simlive/{key}/start", headers=sl_admin)
        ).status_code == 200
        first = await _running(sl_client, sl_admin, key)
        root = Path(sl_app.state.settings.hls_segment_dir)
        first_info = layout.read_run_info(layout.run_dir(root, key, first["run_id"]))
        assert first_info is not None and first_info.video_renditions == ("video",)
        await _wait_segments(sl_app, key, first["run_id"], 1)
        gate.set()

        async def joined() -> dict[str, Any] | None:
            s = await status_of(sl_client, sl_admin, key)
            info = layout.read_run_info(layout.run_dir(root, key, s["run_id"])) if s["run_id"] else None
            return s if info is not None and len(info.video_rungs) == len(ladder) else None

        second = await poll(joined, 90, f"{key} to carry the whole ladder")
        assert second["restarts"] == 0 and second["pid"] != first["pid"]
        second_info = layout.read_run_info(layout.run_dir(root, key, second["run_id"]))
        assert second_info is not None
        rdir = await _wait_segments(sl_app, key, second["run_id"], 1)
        for rendition in second_info.renditions:
            assert segments(rdir, rendition), rendition
        # The replaced run finished the segment ending at the new run's anchor (a tail FFmpeg writes
        # on its way out may stick past it), then stopped: the playlists' timeline has no gap there.
        await poll(lambda: _gone(first["pid"]), 30, "the replaced encoder to stop")
        await _wait_segments(sl_app, key, second["run_id"], 2)
        archive = sl_app.state.archive
        archive.rescan_channel(key)
        for rendition in ("video", "audio"):
            segs = select_segments(archive, key, rendition, first_info.anchor, second_info.anchor + 2 * SEG)
            assert {s.run.run_id for s in segs} == {first["run_id"], second["run_id"]}
            assert all(abs(b.start - a.end) < 0.25 for a, b in itertools.pairwise(segs)), rendition
    finally:
        await _manager(sl_app).stop(key)
        await remove_channels(sl_app.state.db.sessionmaker, [key])


async def _gone(pid: int) -> bool:
    return not pid_alive(pid)


_PREPARE_FOREVER = """
import asyncio, sys
from pathlib import Path
from app.services.encoders.sources import SourceCache
from tests.conftest import make_settings

settings = make_settings("sqlite+aiosqlite:///unused.db", Path(sys.argv[1]))
asyncio.run(SourceCache(settings).prepare("orph1", "Orphan", 3600, settings.ladder[0]))
"""


def test_a_source_preparation_dies_with_its_backend_even_on_kill_9(tmp_path: Path) -> None:
    """A worker killed while it prepares a source leaves no FFmpeg behind (it would go on
    writing the shared source cache)."""
    hls = tmp_path / "hls"
    proc = subprocess.Popen([sys.executable, "-c", _PREPARE_FOREVER, str(hls)], cwd=BACKEND_DIR)
    try:
        wait_until(lambda: ffmpeg_processes(tmp_path), 60, "the preparing FFmpeg", every=0.1)
        proc.kill()
        proc.wait(timeout=10)
        wait_until(lambda: not ffmpeg_processes(tmp_path), 5, "the FFmpeg to die with its parent", every=0.05)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for p in ffmpeg_processes(tmp_path):
            os.kill(p.pid, signal.SIGKILL)
