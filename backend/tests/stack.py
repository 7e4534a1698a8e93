"""The whole platform as separate processes, for end-to-end tests: the backend under uvicorn, real
nginx with the project's CDN config, a throwaway PostgreSQL database, and a static server for the
player harness page (e2e/player.html with Shaka Player from npm)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import fcntl
import functools
import http.server
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import m3u8
from sqlalchemy import func, insert, select

from app.config import Settings
from app.db import Database, make_engine
from app.domain.schedule import SCHEDULE_EPOCH
from app.models import Channel, ScheduleEntry
from app.services.accounts import accounts
from app.services.archive.cdn_config import nginx_binary, write_cdn_conf
from app.services.encoders.backfill import BackfillResult, backfill_range
from app.services.encoders.sources import SourceCache
from tests.archive_factory import append_segments, write_run
from tests.conftest import BACKEND_DIR, create_database, drop_database, migrate

REPO_DIR = BACKEND_DIR.parent
E2E_DIR = REPO_DIR / "e2e"
PASSWORD = "e2e-demo-password"
# The accounts a stack starts with, made the way an operator makes them (app/users.py's service):
# production seeds none. (e-mail, role, subscription)
ACCOUNTS = (
    ("admin@tstv.local", "admin", True),
    ("viewer@tstv.local", "viewer", True),
    ("nosub@tstv.local", "viewer", False),
)


async def create_accounts(db_url: str, password: str = PASSWORD) -> None:
    db = Database(Settings(database_url=db_url, jwt_secret="unused-" + "x" * 32))
    try:
        async with db.sessionmaker() as session:
            for email, role, subscription in ACCOUNTS:
                await accounts.add_user(session, email, password, role, subscription)
    finally:
        await db.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_until(check: object, within: float, what: str, every: float = 0.2) -> object:
    """`check()`'s first truthy value, asked every `every` s and at least once (a wait computed
    from a time already past is no wait, not a failure); fails after `within` s."""
    deadline = time.monotonic() + within
    last: object = None
    while True:
        with contextlib.suppress(httpx.HTTPError, OSError):
            last = check()  # type: ignore[operator]
            if last:
                return last
        if time.monotonic() >= deadline:
            break
        time.sleep(every)
    raise AssertionError(f"timed out after {within} s waiting for {what} (last: {last!r})")


async def add_short_loop_channel(
    url: str,
    key: str,
    loop_seconds: int,
    around: datetime,
    genre: str = "Test",
    title: str = "Short programme",
    name: str | None = None,
    until: datetime | None = None,
) -> uuid.UUID:
    """A channel ("E2E {key}" unless `name` says) whose programmes last `loop_seconds`, aligned on
    the schedule epoch like the seed; its programmes are titled "{title} {n}" and of one `genre`,
    scheduled from 10 minutes before `around` for an hour, or up to `until` (a soak's length)."""
    engine = make_engine(Settings(database_url=url))
    first = int((around - timedelta(minutes=10) - SCHEDULE_EPOCH).total_seconds()) // loop_seconds
    last = (
        first + 3600 // loop_seconds
        if until is None
        else int((until - SCHEDULE_EPOCH).total_seconds()) // loop_seconds + 2
    )
    try:
        async with engine.begin() as conn:
            channel_id = uuid.uuid4()
            # Numbers are unique: a second test channel of a stack takes the next one (a random
            # number collided with the first channel's one run in a hundred).
            taken = (await conn.execute(select(func.max(Channel.number)))).scalar() or 0
            await conn.execute(
                insert(Channel).values(
                    id=channel_id,
                    name=name or f"E2E {key}",
                    number=max(900, taken + 1),
                    genre=genre,
                    loop_seconds=loop_seconds,
                    cdn_channel_key=key,
                    tstv_enabled=True,
                    startover_enabled=True,
                    catchup_enabled=True,
                    catchup_window_hours=168,
                    cutv_window_hours=168,
                )
            )
            rows = [
                {
                    "id": uuid.uuid4(),
                    "channel_id": channel_id,
                    "title": f"{title} {k}",
                    "genre": genre,
                    "start_time": SCHEDULE_EPOCH + timedelta(seconds=k * loop_seconds),
                    "end_time": SCHEDULE_EPOCH + timedelta(seconds=(k + 1) * loop_seconds),
                    "catchup_eligible": True,
                    "startover_eligible": True,
                }
                for k in range(first, last)
            ]
            await conn.execute(insert(ScheduleEntry), rows)
    finally:
        await engine.dispose()
    return channel_id


@dataclass
class Stack:
    db_url: str
    api: str
    cdn: str
    page: str
    hls_dir: Path
    channel_key: str
    channel_id: uuid.UUID
    admin_token: str
    viewer_token: str
    env: dict[str, str] = field(default_factory=dict)  # the backend's environment

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.viewer_token}"}

    def settings(self) -> Settings:
        """The backend's settings, as its process reads them from its environment."""
        return _settings_of(self.env)

    def get(self, path: str, token: str | None = None) -> httpx.Response:
        return httpx.get(self.api + path, headers=self.headers(token), timeout=30)

    def post(self, path: str, token: str | None = None) -> httpx.Response:
        return httpx.post(self.api + path, headers=self.headers(token), timeout=60)

    def first_recorded(self, channel_id: uuid.UUID) -> float:
        """The oldest instant of a channel's archive a viewer can reach: its live playlist's first
        segment (epoch seconds)."""
        master_url = f"{self.api}/api/v1/tstv/live/{channel_id}/manifest"
        master = m3u8.loads(self.get(f"/api/v1/tstv/live/{channel_id}/manifest").text, uri=master_url)
        media = httpx.get(master.playlists[0].absolute_uri, headers=self.headers(), timeout=10).text
        first: float = m3u8.loads(media).segments[0].current_program_date_time.timestamp()
        return first


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def _page_server() -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(E2E_DIR))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


@contextlib.contextmanager
def child_process(args: list[str], log: Path, **kwargs: object) -> Iterator[subprocess.Popen[bytes]]:
    """A child process writing to `log`, terminated (then killed) on leaving."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, **kwargs)  # type: ignore[call-overload]
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _use_sources(tmp: Path, sources_cache: Path | None) -> None:
    """Point the archive's source cache (`sources-cache` next to it) at a shared one."""
    if sources_cache is not None:
        (tmp / "sources-cache").symlink_to(sources_cache, target_is_directory=True)


@contextlib.contextmanager
def _cache_lock(cache: Path, name: str) -> Iterator[None]:
    """An exclusive lock on a (possibly shared) source cache, across processes."""
    cache.mkdir(exist_ok=True)
    with open(cache / f".{name}.test-lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _settings_of(env: dict[str, str]) -> Settings:
    """The settings a process started with `env` reads from its environment."""
    values: dict[str, Any] = {k.lower(): v for k, v in env.items() if k.lower() in Settings.model_fields}
    return Settings(**values)


async def _prepare_sources(settings: Settings) -> None:
    """Every channel's source at every rung of the ladder, in the archive's source cache (what the
    encoders prepare before going on air; already there, they start with the whole ladder)."""
    engine = make_engine(settings)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(Channel.cdn_channel_key, Channel.name, Channel.loop_seconds).where(
                        Channel.cdn_channel_key.is_not(None), Channel.loop_seconds.is_not(None)
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    cache = SourceCache(settings)
    await asyncio.gather(
        *(
            cache.prepare(key, name, loop, rung)
            for key, name, loop in rows
            if key and loop
            for rung in settings.ladder
        )
    )


# The ladder of the stacks: three rungs like the default (app/ladder.py), at a quarter of its
# pixels. The browser tests' Chromium decodes the top rung it is given and every stack prepares its
# channels' sources at each rung, so the default's 720p made the suite spend its CPU on pictures no
# test looks at closely (clusters too); the default ladder itself is tested by
# tests/media/test_ladder.py.
TEST_LADDER = "180p:320x180:250k,270p:480x270:400k,360p:640x360:700k"


@contextlib.contextmanager
def running_stack(
    tmp: Path,
    loop_seconds: int = 30,
    env: dict[str, str] | None = None,
    bind: str = "127.0.0.1",
    sources_cache: Path | None = None,
) -> Iterator[Stack]:
    """Everything running; `env` adds backend settings, `bind` is where the backend and the CDN
    listen (0.0.0.0 to reach them by the machine's LAN address too). With a `sources_cache` shared
    between stacks (conftest's shared_sources), the test channel's key says its loop (`e2e30`), so
    stacks with the same loop prepare its sources once."""
    nginx = nginx_binary()
    assert nginx, "nginx is required (make test installs it)"
    assert (E2E_DIR / "node_modules" / "shaka-player").is_dir(), "run `npm ci` in e2e/ (make test does)"
    db_name = f"tstv_e2e_{secrets.token_hex(4)}"
    db_url = asyncio.run(create_database(db_name))
    # With a shared source cache the key says the loop (`e2e20`), so stacks with the same loop share
    # its sources; otherwise it is random, as each stack's own.
    key = f"e2e{loop_seconds}" if sources_cache is not None else "e2e" + secrets.token_hex(2)
    hls = tmp / "hls"
    hls.mkdir()
    _use_sources(tmp, sources_cache)
    try:
        asyncio.run(migrate(db_url))
        asyncio.run(create_accounts(db_url))
        channel_id = asyncio.run(
            add_short_loop_channel(db_url, key, loop_seconds, datetime.now(SCHEDULE_EPOCH.tzinfo))
        )
        with _page_server() as page:
            cdn_port, api_port = free_port(), free_port()
            backend_env = {
                **os.environ,
                "DATABASE_URL": db_url,
                "HLS_SEGMENT_DIR": str(hls),
                "HLS_SOURCES_DIR": str(tmp / "sources"),
                "CDN_BASE_URL": f"http://{{host}}:{cdn_port}/hls",
                "CORS_ORIGINS": page,
                "SIMLIVE_AUTOSTART": "false",
                # Tests backfill what they need (backfilled()); a first start's two hours are
                # test_first_run's subject.
                "BACKFILL_HOURS": "0",
                "JWT_SECRET": "e2e-" + secrets.token_hex(24),
                "CDN_SIGNING_SECRET": secrets.token_hex(32),
                "TSTV_ENV": "production",
                "ABR_LADDER": TEST_LADDER,
                **(env or {}),
            }
            conf = write_cdn_conf(
                hls, cdn_port, tmp / "nginx", host=bind, signing_secret=backend_env["CDN_SIGNING_SECRET"]
            )
            with (
                child_process([nginx, "-p", str(tmp / "nginx"), "-c", str(conf)], tmp / "nginx.log"),
                child_process(
                    [
                        sys.executable,
                        "-m",
                        "uvicorn",
                        "--factory",
                        "app.main:app_factory",
                        "--host",
                        bind,
                        "--port",
                        str(api_port),
                    ],
                    tmp / "backend.log",
                    cwd=BACKEND_DIR,
                    env=backend_env,
                ),
            ):
                api = f"http://127.0.0.1:{api_port}"
                wait_until(
                    lambda: httpx.get(f"{api}/healthz", timeout=2).status_code == 200, 90, "the backend"
                )
                wait_until(lambda: httpx.get(f"http://127.0.0.1:{cdn_port}/hls/", timeout=2), 30, "nginx")

                def token(email: str) -> str:
                    # Hashing runs at the lowest thread priority (auth_service.py): under the
                    # suite's load a sign-in may wait longer than httpx's default 5 s.
                    r = httpx.post(
                        f"{api}/api/v1/auth/login", json={"email": email, "password": PASSWORD}, timeout=60
                    )
                    r.raise_for_status()
                    value: str = r.json()["access_token"]
                    return value

                yield Stack(
                    db_url=db_url,
                    api=api,
                    cdn=f"http://127.0.0.1:{cdn_port}/hls",
                    page=page,
                    hls_dir=hls,
                    channel_key=key,
                    channel_id=channel_id,
                    admin_token=token("admin@tstv.local"),
                    viewer_token=token("viewer@tstv.local"),
                    env=backend_env,
                )
    finally:
        asyncio.run(drop_database(db_name))


def on_air(stack: Stack, *channel_keys: str, within: float = 180) -> None:
    """Start the channels' encoders and wait until each live run has written its first segment."""
    for key in channel_keys:
        r = stack.post(f"/api/v1/admin/simlive/{key}/start", stack.admin_token)
        assert r.status_code == 200, r.text

    def writing(key: str) -> bool:
        rows = stack.get("/api/v1/admin/simlive/status", stack.admin_token).json()["channels"]
        row = next(r for r in rows if r["channel_key"] == key)
        return bool(row["running"] and row["segments_written"])

    for key in channel_keys:
        wait_until(lambda k=key: writing(k), within, f"{key}'s first segments")


def backfilled(stack: Stack, start: float, end: float, *channel_keys: str) -> list[BackfillResult]:
    """The channels' archive for [start, end) (epoch seconds) written at once, as their live encoders
    would have written it (app/services/encoders/backfill.py: same sources, keys, layout, thumbnails),
    for tests that need programmes that have aired instead of waiting for them to air. Archive that
    exists is left alone (a live run counts from its anchor on): called before a channel's encoder
    starts, it also prepares the sources and thumbnails the encoder then finds ready; called again
    once the encoder is on air, it fills the seconds up to the live run. Returns once the backend
    serves what was written."""
    settings = stack.settings()

    async def run() -> list[BackfillResult]:
        db = Database(settings)
        try:
            span = datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC)
            return list(await asyncio.gather(*(backfill_range(settings, db, k, *span) for k in channel_keys)))
        finally:
            await db.dispose()

    # A stack's source cache may be shared (conftest's shared_sources): one process at a time
    # prepares a channel's sources, the others then find them made.
    cache = settings.hls_segment_dir.parent / "sources-cache"
    with contextlib.ExitStack() as locks:
        for key in sorted(channel_keys):
            locks.enter_context(_cache_lock(cache, key))
        # Off this thread: a browser test's Playwright owns its event loop.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            results = pool.submit(asyncio.run, run()).result()

    def served(result: BackfillResult) -> bool:
        r = stack.get(f"/api/v1/admin/archive/coverage/{result.channel_key}", stack.admin_token)
        r.raise_for_status()
        recorded = [
            (datetime.fromisoformat(x["start"]), datetime.fromisoformat(x["end"]))
            for x in r.json()["recorded"]
        ]
        return all(any(a <= s and e <= b for a, b in recorded) for s, e in result.written)

    for result in results:
        wait_until(lambda r=result: served(r), 30, f"the backend to serve {result.summary()}", every=0.25)
    return results


@contextlib.contextmanager
def started_stack(tmp: Path, loop_seconds: int, sources_cache: Path | None = None) -> Iterator[Stack]:
    """A running stack whose test channel's encoder an operator has started: it yields once the
    channel's live playlist is served (its first segments are written)."""
    with running_stack(tmp, loop_seconds, sources_cache=sources_cache) as s:
        r = s.post(f"/api/v1/admin/simlive/{s.channel_key}/start", s.admin_token)
        assert r.status_code == 200, r.text
        wait_until(
            lambda: s.get(f"/api/v1/tstv/live/{s.channel_id}/manifest").status_code == 200,
            120,
            "first segments",
        )
        yield s


def on_air_with_past(stack: Stack, since: float, *channel_keys: str) -> list[BackfillResult]:
    """The channels on air with their archive from `since` (epoch seconds): what aired before the
    encoders start is backfilled (so the programme on air is recorded from its start, and earlier
    ones play as catch-up without waiting for them to air), then the seconds up to the live runs.
    Returns the first backfill's results."""
    past = backfilled(stack, since, time.time(), *channel_keys)
    on_air(stack, *channel_keys)
    backfilled(stack, since, time.time(), *channel_keys)  # up to the live runs
    return past


def live_without_encoder(stack: Stack, kid: str | None = None) -> None:
    """The test channel live without an encoder: a recorded archive (empty segments) up to now,
    encrypted under `kid` when given; returns once its live playlist is served."""
    now = datetime.now(UTC)
    start = now - timedelta(minutes=10)
    info = write_run(stack.hls_dir, stack.channel_key, start, start + timedelta(seconds=6), kid=kid)
    append_segments(stack.hls_dir, info, 1, now.timestamp())  # FFmpeg's playlist: what the index tails
    wait_until(
        lambda: stack.get(f"/api/v1/tstv/live/{stack.channel_id}/manifest").status_code == 200, 30, "live"
    )


# What a cluster's API replicas sign segment URLs with, and its nginx checks them with.
CLUSTER_SIGNING_SECRET = secrets.token_hex(32)


@dataclass
class Cluster:
    """API and worker processes on one PostgreSQL database and one shared archive (docs/SCALING.md)."""

    db_url: str
    api: str
    hls_dir: Path
    workers: dict[str, subprocess.Popen[bytes]]  # TSTV_WORKER_ID -> process
    worker_ports: dict[str, int]
    admin_token: str
    apis: list[subprocess.Popen[bytes]] = field(default_factory=list)  # apis[0] serves `api`
    api_ports: list[int] = field(default_factory=list)
    front: str | None = None  # nginx balancing the API replicas (with `balancer=True`)

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.api + path, headers=self.headers(), timeout=30)

    def post(self, path: str) -> httpx.Response:
        return httpx.post(self.api + path, headers=self.headers(), timeout=60)


def role_env(role: str, db_url: str, hls: Path, port: int, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "TSTV_ROLE": role,
        "DATABASE_URL": db_url,
        "HLS_SEGMENT_DIR": str(hls),
        "HLS_SOURCES_DIR": str(hls.parent / "sources"),
        "CDN_BASE_URL": "http://{host}:1/hls",
        "JWT_SECRET": "cluster-test-secret-" + "x" * 32,
        "CDN_SIGNING_SECRET": CLUSTER_SIGNING_SECRET,
        "TSTV_ENV": "production",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        # Cluster tests start on an empty archive: no first-run backfill unless a test asks for it.
        "BACKFILL_HOURS": "0",
        "ABR_LADDER": TEST_LADDER,
        **extra,
    }


@contextlib.contextmanager
def running_cluster(
    tmp: Path,
    workers: int = 2,
    prepare: object = None,
    env: dict[str, str] | None = None,
    apis: int = 1,
    balancer: bool = False,
    sources_cache: Path | None = None,
    database_server: str | None = None,
) -> Iterator[Cluster]:
    """`workers` worker processes and `apis` API processes (`python -m app.launcher`, TSTV_ROLE), on
    a throwaway database (on `database_server`, default the test server); `prepare(db_url)` (async)
    runs after the migration, before they start.
    With `balancer`, nginx in front as `make cluster` runs it: the segment CDN and the API's load
    balancer (`Cluster.front`). The channels' sources are prepared before the processes start (in
    `sources_cache`, shared with other clusters, when given), so the encoders start with the whole
    ladder instead of joining the upper rungs later with a replacement of their own."""
    db_name = f"tstv_cluster_{secrets.token_hex(4)}"
    db_url = asyncio.run(create_database(db_name, database_server))
    hls = tmp / "hls"
    hls.mkdir()
    _use_sources(tmp, sources_cache)
    cdn_port = free_port()
    if balancer:
        env = {"CDN_BASE_URL": f"http://{{host}}:{cdn_port}/hls", **(env or {})}
    try:
        asyncio.run(migrate(db_url))
        asyncio.run(create_accounts(db_url))
        if prepare is not None:
            asyncio.run(prepare(db_url))  # type: ignore[operator]
        with _cache_lock(tmp / "sources-cache", "prepare"):  # another cluster may be preparing them
            asyncio.run(_prepare_sources(_settings_of(role_env("worker", db_url, hls, 0, **(env or {})))))
        with contextlib.ExitStack() as stack:
            procs: dict[str, subprocess.Popen[bytes]] = {}
            ports: dict[str, int] = {}
            for i in range(workers):
                wid = f"w{i + 1}"
                ports[wid] = free_port()
                wenv = role_env("worker", db_url, hls, ports[wid], TSTV_WORKER_ID=wid, **(env or {}))
                procs[wid] = stack.enter_context(
                    child_process(
                        [sys.executable, "-m", "app.launcher"], tmp / f"{wid}.log", cwd=BACKEND_DIR, env=wenv
                    )
                )
            api_ports = [free_port() for _ in range(apis)]
            api_procs = [
                stack.enter_context(
                    child_process(
                        [sys.executable, "-m", "app.launcher"],
                        tmp / f"api{i + 1}.log",
                        cwd=BACKEND_DIR,
                        env=role_env("api", db_url, hls, port, **(env or {})),
                    )
                )
                for i, port in enumerate(api_ports)
            ]
            api = f"http://127.0.0.1:{api_ports[0]}"
            front = None
            if balancer:
                nginx = nginx_binary()
                assert nginx, "nginx is required (make test installs it)"
                front_port = free_port()
                conf = write_cdn_conf(
                    hls,
                    cdn_port,
                    tmp / "nginx",
                    api_servers=[f"127.0.0.1:{p}" for p in api_ports],
                    api_listen=f"127.0.0.1:{front_port}",
                    signing_secret=CLUSTER_SIGNING_SECRET,
                )
                stack.enter_context(
                    child_process([nginx, "-p", str(conf.parent), "-c", str(conf)], tmp / "nginx.log")
                )
                front = f"http://127.0.0.1:{front_port}"
            for port in [*api_ports, *ports.values()]:
                wait_until(
                    lambda p=port: httpx.get(f"http://127.0.0.1:{p}/healthz", timeout=2).status_code == 200,
                    90,
                    f"the process on port {port}",
                )
            r = httpx.post(
                f"{api}/api/v1/auth/login",
                json={"email": "admin@tstv.local", "password": PASSWORD},
                timeout=30,
            )
            r.raise_for_status()
            yield Cluster(
                db_url=db_url,
                api=api,
                hls_dir=hls,
                workers=procs,
                worker_ports=ports,
                admin_token=r.json()["access_token"],
                apis=api_procs,
                api_ports=api_ports,
                front=front,
            )
    finally:
        asyncio.run(drop_database(db_name, database_server))
