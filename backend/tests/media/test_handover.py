"""Make-before-break encoder restarts and key rotations (real FFmpeg, real PostgreSQL).

An operator restart or key rotation in the middle of a 30-s programme must leave the catch-up of that
programme whole: one discontinuity, every segment a full 6 s, 30 s in all, programme-date-times
continuous across the seam. The replaced encoder runs on until it has written its segment ending at
the new run's anchor, is listed in the pidfile meanwhile, and does not count as a crash.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import m3u8
import pytest
from fastapi import FastAPI

from app.main import create_app
from app.services.archive import archive_layout as layout
from app.services.archive.child_processes import ffmpeg_exe
from app.services.encoders.encoder_status import ChannelEncoderStatus
from app.services.encoders.handover import TAIL_MIN_S, boundary_seq, wait_for_handover_point
from app.services.encoders.supervisor import EncoderSupervisor
from tests.conftest import login, make_settings
from tests.simlive_helpers import (
    Programme,
    add_channel,
    add_programmes,
    pid_alive,
    poll,
    remove_channels,
    segments,
    sleep_until,
    status_of,
)

SEG = 6
LOOP = 30
KEY = "ho1"
SHUTDOWN_KEY = "ho2"
RESTART_AT = 12  # seconds into the programme: the new run's anchor is then its 18th (or 24th) second


@dataclass
class Env:
    app: FastAPI
    client: httpx.AsyncClient
    channel_id: uuid.UUID
    programmes: list[Programme]
    admin: dict[str, str]
    viewer: dict[str, str]

    @property
    def hls(self) -> Path:
        return Path(self.app.state.settings.hls_segment_dir)

    def run_info(self, run_id: str) -> layout.RunInfo:
        info = layout.read_run_info(layout.run_dir(self.hls, KEY, run_id))
        assert info is not None, run_id
        return info

    def pidfile(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.hls / ".simlive" / "pids.json").read_text())
        return data


@pytest.fixture(scope="module")
async def env(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Env]:
    """An app of its own (own archive) with a 30-s-loop channel and its aligned programmes."""
    application = create_app(make_settings(database_url, tmp_path_factory.mktemp("ho-hls")))
    async with application.router.lifespan_context(application):
        sm = application.state.db.sessionmaker
        channel_id = await add_channel(sm, KEY, 9200, loop_seconds=LOOP)
        await add_channel(sm, SHUTDOWN_KEY, 9201, loop_seconds=LOOP)
        programmes = await add_programmes(sm, channel_id, LOOP, time.time())
        transport = httpx.ASGITransport(app=application)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                yield Env(
                    application,
                    client,
                    channel_id,
                    programmes,
                    await login(client, "admin@tstv.local"),
                    await login(client, "viewer@tstv.local"),
                )
        finally:
            await application.state.simlive.shutdown()
            await remove_channels(sm, [KEY, SHUTDOWN_KEY])


async def _next_programme(env: Env) -> Programme:
    """Start the channel if needed; the next programme it records from its first frame whose middle
    (start + RESTART_AT) is still ahead."""
    st = await status_of(env.client, env.admin, KEY)
    if not st["wanted"]:
        r = await env.client.post(f"/api/v1/admin/simlive/{KEY}/start", headers=env.admin)
        assert r.status_code == 200, r.text

    async def live_run() -> str | None:
        s = await status_of(env.client, env.admin, KEY)
        return str(s["run_id"]) if s["running"] else None

    since = env.run_info(await poll(live_run, 60, f"{KEY} running")).anchor
    ranges = env.app.state.archive.covered_ranges(KEY)
    if ranges and ranges[-1][1] > time.time() - 2 * SEG:
        since = min(since, ranges[-1][0])  # recording continuously since then
    now = time.time()
    return next(p for p in env.programmes if p.start >= since and p.start + RESTART_AT > now + 1)


async def _replace_mid_programme(env: Env, action: str) -> tuple[Programme, layout.RunInfo, layout.RunInfo]:
    """Restart or rotate in the middle of a programme; check the overlap and the handover."""
    p = await _next_programme(env)
    await sleep_until(p.start + RESTART_AT)
    before = await status_of(env.client, env.admin, KEY)
    assert before["running"], before
    if action == "restart":
        r = await env.client.post(f"/api/v1/admin/simlive/{KEY}/restart", headers=env.admin)
        assert r.status_code == 200, r.text
        after = r.json()
    else:
        r = await env.client.post(f"/api/v1/admin/drm/{KEY}/rotate", headers=env.admin)
        assert r.status_code == 200, r.text
        assert r.json()["encoder_restarted"] is True
        after = await status_of(env.client, env.admin, KEY)
    # The new run is up at once (status shows it); the old one still encodes.
    assert after["running"] and after["pid"] != before["pid"] and after["run_id"] != before["run_id"]
    old, new = env.run_info(before["run_id"]), env.run_info(after["run_id"])
    anchor = new.anchor
    assert p.start < anchor < p.end, (p, anchor)
    assert pid_alive(before["pid"]) and pid_alive(after["pid"])
    listed = env.pidfile()[KEY]
    assert listed["pid"] == after["pid"]
    assert [r["pid"] for r in listed["retiring"]] == [before["pid"]]

    # The old encoder runs until it has written its segments ending at the anchor, then stops.
    last_alive = time.time()

    async def retired() -> bool:
        nonlocal last_alive
        if pid_alive(before["pid"]):
            last_alive = time.time()
            return False
        return True

    await poll(retired, anchor + SEG + 10 - time.time(), "the replaced encoder to stop", every=0.1)
    stopped_by = time.time()
    assert last_alive >= anchor, "the replaced encoder ran up to the new run's anchor"
    assert stopped_by < anchor + 4, "and stopped right after it"
    boundary = round((anchor - old.anchor) / SEG) - 1
    old_dir = layout.run_dir(env.hls, KEY, old.run_id)
    for rendition in layout.RENDITIONS:
        seqs = [layout.parse_segment_name(s.name).seq for s in segments(old_dir, rendition)]  # type: ignore[union-attr]
        assert boundary in seqs, (rendition, boundary, seqs)
    st = await status_of(env.client, env.admin, KEY)
    assert st["running"] and st["pid"] == after["pid"] and st["state"] == "running"
    # Not a crash: no restart counted, no error, no backoff.
    assert st["restarts"] == before["restarts"] and st["last_error"] == before["last_error"]
    assert "retiring" not in env.pidfile()[KEY]
    return p, old, new


async def _catchup(env: Env, p: Programme) -> tuple[m3u8.M3U8, m3u8.M3U8]:
    """The catch-up media playlists (video, audio) of `p` once it has ended and is fully indexed."""
    await sleep_until(p.end)
    archive = env.app.state.archive

    async def indexed() -> bool:
        return all((archive.latest_end(KEY, r) or 0) >= p.end - 0.1 for r in layout.RENDITIONS)

    await poll(indexed, 15, "the programme's last segments in the index")
    path = f"/api/v1/tstv/catchup/{env.channel_id}/manifest?schedule_entry_id={p.id}"
    r = await env.client.get(path, headers=env.viewer)
    assert r.status_code == 200, r.text
    master = m3u8.loads(r.text, uri="http://test" + path)
    out = []
    for uri in (master.playlists[0].absolute_uri, master.media[0].absolute_uri):
        media = await env.client.get(uri, headers=env.viewer)
        assert media.status_code == 200, media.text
        out.append(m3u8.loads(media.text, uri=uri))
    return out[0], out[1]


def _assert_gapless(playlist: m3u8.M3U8, rendition: str, p: Programme, anchor: float) -> None:
    text = f"{rendition} playlist:\n{playlist.dumps()}"
    segs = playlist.segments
    breaks = [i for i, s in enumerate(segs) if s.discontinuity]
    assert len(breaks) == 1, text
    assert segs[breaks[0]].current_program_date_time.timestamp() == pytest.approx(anchor, abs=0.1), text
    for s in segs:
        if rendition == "video":
            assert s.duration == 6.0, text
        else:
            assert s.duration == pytest.approx(SEG, abs=0.05), text
    assert sum(s.duration for s in segs) == pytest.approx(LOOP, abs=0.1), text
    assert segs[0].current_program_date_time.timestamp() == pytest.approx(p.start, abs=0.1), text
    for prev, seg in itertools.pairwise(segs):
        expected = prev.current_program_date_time.timestamp() + prev.duration
        assert seg.current_program_date_time.timestamp() == pytest.approx(expected, abs=0.1), text


def _key_uris(playlist: m3u8.M3U8) -> list[str]:
    """The key URIs in order, without the playback token each carries (`?pb=`)."""
    uris: list[str] = []
    for s in playlist.segments:
        path, query = s.key.uri.split("?", 1)
        assert query.startswith("pb=ey"), s.key.uri
        if not uris or uris[-1] != path:
            uris.append(path)
    return uris


async def test_restart_mid_programme_leaves_no_gap(env: Env) -> None:
    p, old, new = await _replace_mid_programme(env, "restart")
    video, audio = await _catchup(env, p)
    for playlist, rendition in ((video, "video"), (audio, "audio")):
        _assert_gapless(playlist, rendition, p, new.anchor)
        assert old.kid == new.kid and _key_uris(playlist) == [f"/api/v1/drm/keys/{old.kid}/raw"]


async def test_key_rotation_mid_programme_leaves_no_gap(env: Env) -> None:
    p, old, new = await _replace_mid_programme(env, "rotate")
    video, audio = await _catchup(env, p)
    assert old.kid != new.kid
    for playlist, rendition in ((video, "video"), (audio, "audio")):
        _assert_gapless(playlist, rendition, p, new.anchor)
        assert _key_uris(playlist) == [f"/api/v1/drm/keys/{kid}/raw" for kid in (old.kid, new.kid)]


async def test_restart_in_pre_roll_and_shutdown_during_handover(
    database_url: str, env: Env, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A second backend (own archive). A restart while the encoder is still in its pre-roll ends the
    old one at once, without an empty segment; a shutdown during a handover ends both encoders."""
    hls = tmp_path_factory.mktemp("ho-hls-shutdown")
    application = create_app(make_settings(database_url, hls))
    async with application.router.lifespan_context(application):
        manager: EncoderSupervisor = application.state.simlive
        for rung in manager.settings.ladder:  # the start is then quick, with every rung
            await manager.sources.prepare(SHUTDOWN_KEY, f"Test {SHUTDOWN_KEY}", LOOP, rung)

        def anchor_of(status: ChannelEncoderStatus) -> float:
            assert status.run_id is not None, status
            info = layout.read_run_info(layout.run_dir(hls, SHUTDOWN_KEY, status.run_id))
            assert info is not None
            return info.anchor

        def pid_of(status: ChannelEncoderStatus) -> int:
            assert status.pid is not None, status
            return status.pid

        async def running() -> ChannelEncoderStatus | None:
            s = manager.status_of(SHUTDOWN_KEY)
            return s if s.running else None

        # Started just after a segment boundary, the run's anchor is 3+ s ahead: restarted a second
        # later, the new run has the same anchor and the old one has nothing to finish.
        await sleep_until((time.time() // SEG + 1) * SEG + 0.2)
        await manager.start(SHUTDOWN_KEY)
        first = await poll(running, 10, f"{SHUTDOWN_KEY} running")
        second = await manager.restart(SHUTDOWN_KEY)
        assert pid_of(second) != pid_of(first) and anchor_of(second) == anchor_of(first)

        async def gone(pid: int) -> bool:
            return not pid_alive(pid)

        await poll(lambda: gone(pid_of(first)), 3, "the pre-roll encoder to end", every=0.05)
        assert first.run_id is not None
        first_dir = layout.run_dir(hls, SHUTDOWN_KEY, first.run_id)
        assert [segments(first_dir, r) for r in layout.RENDITIONS] == [[], []]

        # Past the anchor, a restart hands over at the next boundary: both run meanwhile.
        await sleep_until(anchor_of(second) + 0.5)
        third = await manager.restart(SHUTDOWN_KEY)
        assert anchor_of(third) > anchor_of(second)
        assert pid_alive(pid_of(second)) and pid_alive(pid_of(third))
        listed = json.loads((hls / ".simlive" / "pids.json").read_text())[SHUTDOWN_KEY]
        assert listed["pid"] == pid_of(third) and listed["retiring"][0]["pid"] == pid_of(second)
    assert not pid_alive(pid_of(second)) and not pid_alive(pid_of(third))
    assert json.loads((hls / ".simlive" / "pids.json").read_text()) == {}


async def test_stale_cleanup_ends_replaced_encoders_too(database_url: str, env: Env, tmp_path: Path) -> None:
    """A pidfile left by a dead backend during a handover lists both encoders: both are ended."""
    hls = tmp_path / "hls"
    out = hls / KEY / "stale"
    out.mkdir(parents=True)
    args = ["-nostdin", "-v", "quiet", "-re", "-f", "lavfi", "-i", "testsrc", "-f", "null"]
    ffmpeg = ffmpeg_exe(env.app.state.settings)
    procs = [
        subprocess.Popen([ffmpeg, *args, str(out / name)])  # noqa: ASYNC220
        for name in ("live", "retiring")
    ]
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])  # noqa: ASYNC220
    try:
        (hls / ".simlive").mkdir()
        (hls / ".simlive" / "pids.json").write_text(
            json.dumps(
                {
                    KEY: {
                        "pid": procs[0].pid,
                        "run_id": "r0000000000001",
                        "retiring": [{"pid": procs[1].pid}, {"pid": other.pid}],
                    }
                }
            )
        )
        manager = EncoderSupervisor(make_settings(database_url, hls), env.app.state.db.sessionmaker)
        assert await asyncio.to_thread(manager.kill_stale) == [procs[0].pid, procs[1].pid]
        for proc in procs:
            assert proc.wait(timeout=5) is not None
        assert other.poll() is None  # a listed pid that is not one of our encoders is left alone
    finally:
        for proc in [*procs, other]:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def _run_info(anchor: float) -> layout.RunInfo:
    return layout.RunInfo("r0000000000001", KEY, anchor, SEG, None, anchor - 3, LOOP, 0.0)


def _list_segments(run_dir: Path, seqs: range) -> None:
    for rendition in layout.RENDITIONS:
        (run_dir / rendition).mkdir(parents=True, exist_ok=True)
        names = [f"20260101T000000_{seq:06d}_6000000.m4s" for seq in seqs]
        (run_dir / rendition / layout.PLAYLIST_NAME).write_text("\n".join(["#EXTM3U", *names, ""]))


@pytest.mark.parametrize("case", ["boundary", "late", "nothing_to_finish", "exited", "stopped"])
async def test_handover_point(case: str, tmp_path: Path) -> None:
    """When the replaced encoder may be stopped (a stand-in process and FFmpeg-style playlists)."""
    now = time.time()
    successor_anchor = now - SEG - 1.5 if case == "late" else now + 0.3  # "late": gives up in 0.5 s
    old = _run_info(successor_anchor - (0 if case == "nothing_to_finish" else 3 * SEG))
    assert boundary_seq(old.anchor, SEG, successor_anchor) == (-1 if case == "nothing_to_finish" else 2)
    _list_segments(tmp_path, range(2 if case == "boundary" else 1))  # the boundary segment is seq 2
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import sys, time; time.sleep(0.3 if sys.argv[1] == 'exited' else 30)", case
    )
    stop = asyncio.Event()
    try:
        waiting = asyncio.ensure_future(wait_for_handover_point(proc, old, tmp_path, successor_anchor, stop))
        if case == "boundary":
            await asyncio.sleep(0.2)
            assert not waiting.done()  # seq 2 not written yet
            _list_segments(tmp_path, range(3))
        if case == "stopped":
            await asyncio.sleep(0.2)
            stop.set()
        assert await asyncio.wait_for(waiting, 5) == case
        if case == "boundary":
            assert time.time() >= successor_anchor + TAIL_MIN_S  # the tail is long enough to be dropped
        assert time.time() < successor_anchor + SEG + 2 + 1
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
