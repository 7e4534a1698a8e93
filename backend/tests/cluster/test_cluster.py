"""Scale-out roles (docs/SCALING.md) with real processes: two workers and one API replica on a throwaway
PostgreSQL database and one shared archive; encoder ownership, failover after `kill -9`, operator
control through the API, the jobs leader; and the api role refusing SQLite."""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import m3u8
import pytest
from sqlalchemy import update

from app.config import Settings
from app.db import asyncpg_dsn, make_engine
from app.models import Channel
from app.services.archive import archive_layout as layout
from app.services.catalogue.seed import seed_channels
from app.services.encoders.ownership import JOBS_NS, TAKEOVER_AFTER
from tests.conftest import BACKEND_DIR
from tests.private_pg import PrivatePostgres, private_postgres
from tests.simlive_helpers import ffmpeg_processes, segments
from tests.stack import Cluster, role_env, running_cluster, wait_until

KEYS = ["ch1", "ch2", "ch3", "ch4", "ch5"]
LOOP = 30  # short loops: the generated sources take a second or two to make


async def _short_loops(db_url: str) -> None:
    """The five seeded channels, with 30-second source loops (cheap to generate)."""
    engine = make_engine(Settings(database_url=db_url))
    try:
        from sqlalchemy.ext.asyncio import async_sessionmaker

        async with async_sessionmaker(engine)() as session:
            await seed_channels(session)
            await session.execute(
                update(Channel).where(Channel.cdn_channel_key.in_(KEYS)).values(loop_seconds=LOOP)
            )
            await session.commit()
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def pg() -> Iterator[PrivatePostgres]:
    """Its own PostgreSQL server, which a test stops and starts again."""
    with private_postgres() as server:
        yield server


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, shared_sources: Path, pg: PrivatePostgres
) -> Iterator[Cluster]:
    tmp = tmp_path_factory.mktemp("cluster")
    with running_cluster(
        tmp,
        workers=2,
        prepare=_short_loops,
        env={"LOG_LEVEL": "INFO"},
        sources_cache=shared_sources,
        database_server=pg.server_url,
    ) as c:
        yield c


def encoders(hls: Path, keys: list[str] = KEYS) -> dict[str, list[tuple[int, int]]]:
    """FFmpeg processes writing into this archive, by channel: [(pid, parent pid)], from /proc."""
    found: dict[str, list[tuple[int, int]]] = {}
    for p in ffmpeg_processes(hls):
        for key in keys:
            if f"{hls}/{key}/" in p.cmd:
                found.setdefault(key, []).append((p.pid, p.parent))
    return found


def orphans(c: Cluster) -> list[str]:
    """FFmpeg processes of this cluster (archive, source cache, thumbnails: all under the archive's
    parent) whose parent is not one of its live processes: what a killed worker left behind."""
    live = {p.pid for p in [*c.workers.values(), *c.apis] if p.poll() is None}
    return [f"{p.pid}: {p.cmd[:200]}" for p in ffmpeg_processes(c.hls_dir.parent) if p.parent not in live]


def statuses(c: Cluster) -> dict[str, dict[str, Any]]:
    r = c.get("/api/v1/admin/simlive/status")
    r.raise_for_status()
    return {row["channel_key"]: row for row in r.json()["channels"]}


def all_running_once(c: Cluster, alive: dict[str, int]) -> dict[str, dict[str, Any]] | None:
    """Every channel runs exactly one encoder, a child of a live worker, and the API reports that
    very process: the status by channel, or None."""
    procs = encoders(c.hls_dir)
    if sorted(procs) != KEYS or any(len(p) != 1 for p in procs.values()):
        return None
    if any(ppid not in alive.values() for ps in procs.values() for _, ppid in ps):
        return None
    st = statuses(c)
    for key in KEYS:
        row = st[key]
        if not row["running"] or row["pid"] != procs[key][0][0] or row["worker_id"] not in alive:
            return None
        if alive[row["worker_id"]] != procs[key][0][1]:
            return None
    return st


def alive_workers(c: Cluster) -> dict[str, int]:
    return {wid: p.pid for wid, p in c.workers.items() if p.poll() is None}


def test_api_role_refuses_sqlite(tmp_path: Path) -> None:
    for role in ("api", "worker"):
        env = role_env(role, f"sqlite:///{tmp_path / 'x.db'}", tmp_path / "hls", 1)
        out = subprocess.run(
            [sys.executable, "-m", "app.launcher"],
            cwd=BACKEND_DIR,
            env=env,
            capture_output=True,
            timeout=60,
        )
        assert out.returncode == 2, out
        assert f"TSTV_ROLE={role} needs PostgreSQL".encode() in out.stderr
        assert not (tmp_path / "x.db").exists()  # refused before touching the database


def _per_worker(st: dict[str, dict[str, Any]]) -> dict[str, int]:
    per_worker: dict[str, int] = {}
    for row in st.values():
        per_worker[row["worker_id"]] = per_worker.get(row["worker_id"], 0) + 1
    return per_worker


def test_every_channel_runs_exactly_once_spread_over_workers(cluster: Cluster) -> None:
    def spread() -> dict[str, dict[str, Any]] | None:
        st = all_running_once(cluster, alive_workers(cluster))
        # ceil(5 / 2) at most each (a worker that started first hands channels back to the other)
        return st if st is not None and sorted(_per_worker(st).values()) == [2, 3] else None

    st = wait_until(spread, 90, "five encoders spread over two workers")
    assert isinstance(st, dict)
    # One jobs leader.
    assert asyncio.run(_jobs_leaders(cluster.db_url)) == 1
    # The workers serve /healthz and /metrics only.
    port = next(iter(cluster.worker_ports.values()))
    assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
    assert httpx.get(f"http://127.0.0.1:{port}/api/v1/epg/channels", timeout=5).status_code == 404
    # Each worker's /metrics has the channels it owns, so a sum over workers counts each once.
    for wid, port in cluster.worker_ports.items():
        scrape = httpx.get(f"http://127.0.0.1:{port}/metrics", headers=cluster.headers(), timeout=10)
        assert scrape.status_code == 200
        up = re.findall(r'^tstv_encoder_up\{channel="(\w+)"\} (\S+)$', scrape.text, re.M)
        assert sorted(up) == sorted((k, "1.0") for k, row in st.items() if row["worker_id"] == wid), up
    # The API replica serves the owners' encoder logs from the shared archive.
    r = cluster.get("/api/v1/admin/simlive/ch1/log?lines=5")
    assert r.status_code == 200 and r.json()["lines"], r.text
    assert cluster.get("/api/v1/admin/simlive/ch1/log?lines=0").status_code == 422


async def _jobs_leaders(db_url: str) -> int:
    conn = await asyncpg.connect(asyncpg_dsn(db_url))
    try:
        n: int = await conn.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            JOBS_NS,
        )
        return n
    finally:
        await conn.close()


def test_operator_stop_and_start_through_the_api(cluster: Cluster) -> None:
    st = wait_until(lambda: all_running_once(cluster, alive_workers(cluster)), 60, "five encoders")
    assert isinstance(st, dict)
    owner_pid = alive_workers(cluster)[st["ch4"]["worker_id"]]
    r = cluster.post("/api/v1/admin/simlive/ch4/stop")
    assert r.status_code == 200, r.text  # answered once the owner stopped it
    assert r.json()["running"] is False and r.json()["wanted"] is False
    assert "ch4" not in encoders(cluster.hls_dir)
    again = cluster.post("/api/v1/admin/simlive/ch4/stop")
    assert again.status_code == 409 and again.json()["detail"] == "not_running"
    assert cluster.post("/api/v1/admin/simlive/nope/stop").status_code == 404
    r = cluster.post("/api/v1/admin/simlive/ch4/start")
    assert r.status_code == 200, r.text
    assert r.json()["wanted"] is True and r.json()["worker_id"] in cluster.workers
    wait_until(lambda: all_running_once(cluster, alive_workers(cluster)), 60, "ch4 back")
    # A restart reaches the owner: a new encoder process, answered once it runs.
    before = encoders(cluster.hls_dir)["ch4"][0][0]
    r = cluster.post("/api/v1/admin/simlive/ch4/restart")
    assert r.status_code == 200, r.text
    assert r.json()["running"] and r.json()["pid"] != before
    assert owner_pid in alive_workers(cluster).values()
    # Key rotation through the API restarts the owner's encoder under the new key.
    r = cluster.post("/api/v1/admin/drm/ch2/rotate")
    assert r.status_code == 200, r.text
    assert r.json()["encoder_restarted"] is True
    kid = r.json()["kid_hex"]
    assert statuses(cluster)["ch2"]["kid"] == kid
    assert wait_until(lambda: _cmdline_has(cluster, "ch2", f"encryption_kid={kid}"), 10, "ch2 on the new key")
    # Retention through the API (the shared archive, under the retention lock).
    r = cluster.post("/api/v1/admin/simlive/cleanup")
    assert r.status_code == 200, r.text
    assert r.json()["channels_processed"] >= len(KEYS)


def test_a_restart_the_owner_cannot_do_answers_503_and_keeps_the_channel_on_air(cluster: Cluster) -> None:
    """As in a single process: the new run cannot start (here: the operator's source file for the
    channel is not a video), the previous run stays on air, and the API says so."""
    wait_until(lambda: all_running_once(cluster, alive_workers(cluster)), 60, "five encoders")
    before = encoders(cluster.hls_dir)["ch3"][0][0]
    bad = cluster.hls_dir.parent / "sources" / "ch3.mp4"
    bad.parent.mkdir(exist_ok=True)
    bad.write_bytes(b"not a video" * 100)
    try:
        r = cluster.post("/api/v1/admin/simlive/ch3/restart")
    finally:
        bad.unlink()
    assert r.status_code == 503, r.text
    assert r.json()["detail"] == "encoder_restart_failed"
    assert "restart failed, previous run kept" in r.json()["error"]
    assert encoders(cluster.hls_dir)["ch3"][0][0] == before
    assert statuses(cluster)["ch3"]["running"] is True
    # With the file gone the next restart goes through.
    r = cluster.post("/api/v1/admin/simlive/ch3/restart")
    assert r.status_code == 200, r.text
    assert r.json()["pid"] != before


def _cmdline_has(c: Cluster, key: str, needle: str) -> bool:
    procs = encoders(c.hls_dir).get(key, [])
    if len(procs) != 1:
        return False
    cmd = Path(f"/proc/{procs[0][0]}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    return needle in cmd


def _live_media(c: Cluster, key: str) -> m3u8.M3U8:
    channels = httpx.get(f"{c.api}/api/v1/tstv/channels", headers=c.headers(), timeout=10).json()["channels"]
    cid = next(ch["id"] for ch in channels if ch["cdn_channel_key"] == key)
    url = f"{c.api}/api/v1/tstv/live/{cid}/manifest"
    master = m3u8.loads(httpx.get(url, headers=c.headers(), timeout=10).text, uri=url)
    media = httpx.get(master.playlists[0].absolute_uri, headers=c.headers(), timeout=10)
    media.raise_for_status()
    return m3u8.loads(media.text)


def _runs(hls: Path, key: str) -> list[tuple[layout.RunInfo, int]]:
    """The channel's runs by anchor, with their complete video segments."""
    out = []
    for rdir in sorted((hls / key).iterdir()):
        info = layout.read_run_info(rdir) if rdir.is_dir() else None
        if info is not None:
            out.append((info, len(segments(rdir, "video"))))
    return sorted(out, key=lambda r: r[0].anchor)


def test_a_postgresql_stop_leaves_no_gap_in_any_channel(cluster: Cluster, pg: PrivatePostgres) -> None:
    """PostgreSQL stopped for 15 s and started again: every encoder writes on through the outage
    (the same process, the same run: no gap, no second run), and each worker re-takes its channels
    (app/services/encoders/ownership.py); the API replica serves the status again."""
    st = wait_until(lambda: all_running_once(cluster, alive_workers(cluster)), 60, "five encoders")
    assert isinstance(st, dict)
    before = encoders(cluster.hls_dir)
    runs = {key: _runs(cluster.hls_dir, key) for key in KEYS}
    pg.ctl("-m", "fast", "-w", "stop")
    stopped = time.monotonic()
    try:
        while time.monotonic() - stopped < 15:  # the outage under test, watched throughout
            assert encoders(cluster.hls_dir) == before
            time.sleep(0.5)
        during = {key: _runs(cluster.hls_dir, key) for key in KEYS}
    finally:
        pg.ctl("-w", "start")
    after = wait_until(lambda: all_running_once(cluster, alive_workers(cluster)), 20, "statuses again")
    assert isinstance(after, dict)
    assert encoders(cluster.hls_dir) == before
    assert {k: r["worker_id"] for k, r in after.items()} == {k: r["worker_id"] for k, r in st.items()}
    for key in KEYS:
        (run, n), (run_during, n_during) = runs[key][-1], during[key][-1]
        assert len(during[key]) == len(runs[key]) and run_during.run_id == run.run_id, key
        assert n_during >= n + 2, (key, n, n_during)  # 6-second segments written while it was down


def test_kill_9_of_the_worker_holding_ch1_fails_over(cluster: Cluster) -> None:
    st = wait_until(lambda: all_running_once(cluster, alive_workers(cluster)), 60, "five encoders")
    assert isinstance(st, dict)
    victim = st["ch1"]["worker_id"]
    survivor = next(w for w in alive_workers(cluster) if w != victim)
    wait_until(lambda: _runs(cluster.hls_dir, "ch1")[-1][1] >= 2, 60, "ch1 segments before the kill")
    # Runs from before (channels may move once the second worker is up, when their sources are
    # ready at once): the failover is judged from the run it interrupts on.
    earlier = len(_runs(cluster.hls_dir, "ch1")) - 1
    victim_pid = cluster.workers[victim].pid
    t0 = time.monotonic()
    os.kill(victim_pid, signal.SIGKILL)
    cluster.workers[victim].wait(timeout=10)

    def ch1_on_survivor() -> bool:
        procs = encoders(cluster.hls_dir).get("ch1", [])
        return len(procs) == 1 and procs[0][1] == cluster.workers[survivor].pid

    wait_until(ch1_on_survivor, 10, "ch1 on the surviving worker", every=0.1)
    failover = time.monotonic() - t0
    print(f"\nfailover of ch1 after kill -9: {failover:.2f} s")
    assert failover < 10
    # No orphan: every encoder is the survivor's child, each channel once; the API agrees.
    st = wait_until(
        lambda: all_running_once(cluster, alive_workers(cluster)), 30, "all channels on the survivor"
    )
    assert isinstance(st, dict) and {row["worker_id"] for row in st.values()} == {survivor}
    assert all(ppid != victim_pid for ps in encoders(cluster.hls_dir).values() for _, ppid in ps)
    assert wait_until(lambda: not orphans(cluster), 5, "no FFmpeg of the killed worker") is True
    # The archive: the new run starts after the old one's last segment; the live playlist shows one
    # discontinuity across the failover and no overlapping segments.
    wait_until(lambda: _runs(cluster.hls_dir, "ch1")[-1][1] >= 2, 60, "ch1 segments after the failover")
    runs = _runs(cluster.hls_dir, "ch1")[earlier:]
    assert len(runs) == 2, runs  # the interrupted run and the survivor's: one new run
    (old, old_n), (new, _) = runs
    assert old.anchor + old_n * old.segment_duration <= new.anchor + 0.5, (old, old_n, new)
    media = _live_media(cluster, "ch1")
    since_old = [s for s in media.segments if s.current_program_date_time.timestamp() >= old.anchor - 0.1]
    assert since_old and since_old[0].current_program_date_time.timestamp() < old.anchor + 0.1
    assert sum(1 for s in since_old[1:] if s.discontinuity) == 1
    times = [(s.current_program_date_time.timestamp(), s.duration) for s in media.segments]
    for (t, d), (t_next, _) in itertools.pairwise(times):
        assert t + d <= t_next + 0.1, (t, d, t_next)
    # The jobs leader is the survivor (the victim's lock went with its connection).
    wait_until(lambda: asyncio.run(_jobs_leaders(cluster.db_url)) == 1, 10, "one jobs leader")


async def _cut_lock_connections(db_url: str) -> int:
    conn = await asyncpg.connect(asyncpg_dsn(db_url))
    try:
        n: int = await conn.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name LIKE 'tstv-worker-lock %' AND datname = current_database()"
        )
        return n
    finally:
        await conn.close()


async def _lock_sessions(db_url: str) -> int:
    conn = await asyncpg.connect(asyncpg_dsn(db_url))
    try:
        n: int = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE application_name LIKE 'tstv-worker-lock %' AND datname = current_database()"
        )
        return n
    finally:
        await conn.close()


def test_a_worker_that_loses_its_database_connection_keeps_its_encoders(cluster: Cluster) -> None:
    """The lock connections cut server-side (their locks are free at once): each worker reconnects
    and re-takes the locks of the channels it runs before any other worker may take them over
    (`TAKEOVER_AFTER`, app/services/encoders/ownership.py): the same encoders run on, each channel
    on its worker, never two encoders of one channel."""
    st = wait_until(lambda: all_running_once(cluster, alive_workers(cluster)), 60, "five encoders")
    assert isinstance(st, dict)
    before = encoders(cluster.hls_dir)
    workers = len(alive_workers(cluster))
    assert asyncio.run(_cut_lock_connections(cluster.db_url)) == workers
    # Watched past the moment another worker could have taken a channel over.
    deadline = time.monotonic() + TAKEOVER_AFTER + 2
    while time.monotonic() < deadline:
        assert encoders(cluster.hls_dir) == before
        time.sleep(0.2)
    assert asyncio.run(_lock_sessions(cluster.db_url)) == workers
    after = wait_until(lambda: all_running_once(cluster, alive_workers(cluster)), 10, "statuses")
    assert isinstance(after, dict)
    assert {k: r["worker_id"] for k, r in after.items()} == {k: r["worker_id"] for k, r in st.items()}


def test_a_worker_paused_past_the_fence_gives_its_channels_up_and_takes_them_again(cluster: Cluster) -> None:
    """A worker whose ticks stall (a loaded start-up; here SIGSTOP) while its session survives: the
    watchdog kills its encoders, and the worker must then give the channels up and take them again,
    not keep holding channels it killed (seen: two channels preparing their sources at the fence
    stayed off air for good)."""
    wait_until(lambda: all_running_once(cluster, alive_workers(cluster)), 60, "five encoders")
    pid = next(iter(alive_workers(cluster).values()))

    def its_encoders() -> set[int]:
        return {p for ps in encoders(cluster.hls_dir).values() for p, ppid in ps if ppid == pid}

    before = its_encoders()
    assert before
    os.kill(pid, signal.SIGSTOP)
    try:
        time.sleep(4)  # the stall under test, longer than LEASE (2.5 s): not a wait for state
    finally:
        os.kill(pid, signal.SIGCONT)
    wait_until(lambda: not before & its_encoders(), 10, "the watchdog to kill the paused worker's encoders")
    wait_until(lambda: all_running_once(cluster, alive_workers(cluster)), 45, "every channel back on air")
