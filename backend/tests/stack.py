"""The whole platform as separate processes, for end-to-end tests: the backend under uvicorn, real
nginx with the project's CDN config, a throwaway PostgreSQL database, and a static server for the
player harness page (e2e/player.html with Shaka Player from npm)."""

from __future__ import annotations

import asyncio
import contextlib
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
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import m3u8
from sqlalchemy import insert

from app.config import Settings
from app.db import make_engine
from app.models import Channel, ScheduleEntry
from app.services.catalogue.channel_catalogue import SCHEDULE_EPOCH
from app.services.media.cdn_config import nginx_binary, write_cdn_conf
from tests.conftest import BACKEND_DIR, create_database, drop_database, migrate

REPO_DIR = BACKEND_DIR.parent
E2E_DIR = REPO_DIR / "e2e"
PASSWORD = "e2e-demo-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_until(check: object, within: float, what: str, every: float = 0.2) -> object:
    deadline = time.monotonic() + within
    last: object = None
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError, OSError):
            last = check()  # type: ignore[operator]
            if last:
                return last
        time.sleep(every)
    raise AssertionError(f"timed out after {within} s waiting for {what} (last: {last!r})")


async def add_short_loop_channel(
    url: str,
    key: str,
    loop_seconds: int,
    around: datetime,
    genre: str = "Test",
    title: str = "Short programme",
) -> uuid.UUID:
    """A channel whose programmes last `loop_seconds`, aligned on the schedule epoch like the seed;
    its programmes are titled "{title} {n}" and of one `genre`."""
    engine = make_engine(Settings(database_url=url))
    first = int((around - timedelta(minutes=10) - SCHEDULE_EPOCH).total_seconds()) // loop_seconds
    try:
        async with engine.begin() as conn:
            channel_id = uuid.uuid4()
            await conn.execute(
                insert(Channel).values(
                    id=channel_id,
                    name=f"E2E {key}",
                    number=900 + secrets.randbelow(99),
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
                for k in range(first, first + 3600 // loop_seconds)
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

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.viewer_token}"}

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


@contextlib.contextmanager
def running_stack(
    tmp: Path, loop_seconds: int = 30, env: dict[str, str] | None = None, bind: str = "127.0.0.1"
) -> Iterator[Stack]:
    """Everything running; `env` adds backend settings, `bind` is where the backend and the CDN
    listen (0.0.0.0 to reach them by the machine's LAN address too)."""
    nginx = nginx_binary()
    assert nginx, "nginx is required (make test installs it)"
    assert (E2E_DIR / "node_modules" / "shaka-player").is_dir(), "run `npm ci` in e2e/ (make test does)"
    db_name = f"tstv_e2e_{secrets.token_hex(4)}"
    db_url = asyncio.run(create_database(db_name))
    key = "e2e" + secrets.token_hex(2)
    hls = tmp / "hls"
    hls.mkdir()
    try:
        asyncio.run(migrate(db_url))
        channel_id = asyncio.run(
            add_short_loop_channel(db_url, key, loop_seconds, datetime.now(SCHEDULE_EPOCH.tzinfo))
        )
        with _page_server() as page:
            cdn_port, api_port = free_port(), free_port()
            conf = write_cdn_conf(hls, cdn_port, tmp / "nginx", host=bind)
            backend_env = {
                **os.environ,
                "DATABASE_URL": db_url,
                "HLS_SEGMENT_DIR": str(hls),
                "HLS_SOURCES_DIR": str(tmp / "sources"),
                "CDN_BASE_URL": f"http://{{host}}:{cdn_port}/hls",
                "CORS_ORIGINS": page,
                "SIMLIVE_AUTOSTART": "false",
                "TSTV_DEMO_PASSWORD": PASSWORD,
                "JWT_SECRET": "e2e-" + secrets.token_hex(24),
                "TSTV_ENV": "production",
                **(env or {}),
            }
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
                    r = httpx.post(f"{api}/api/v1/auth/login", json={"email": email, "password": PASSWORD})
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
                )
    finally:
        asyncio.run(drop_database(db_name))


@dataclass
class Cluster:
    """API and worker processes on one PostgreSQL database and one shared archive (issue 13)."""

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
        "TSTV_DEMO_PASSWORD": PASSWORD,
        "JWT_SECRET": "cluster-test-secret-" + "x" * 32,
        "TSTV_ENV": "production",
        "HOST": "127.0.0.1",
        "PORT": str(port),
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
) -> Iterator[Cluster]:
    """`workers` worker processes and `apis` API processes (`python -m app.launcher`, TSTV_ROLE), on
    a throwaway database; `prepare(db_url)` (async) runs after the migration, before they start.
    With `balancer`, nginx in front as `make cluster` runs it: the segment CDN and the API's load
    balancer (`Cluster.front`)."""
    db_name = f"tstv_cluster_{secrets.token_hex(4)}"
    db_url = asyncio.run(create_database(db_name))
    hls = tmp / "hls"
    hls.mkdir()
    cdn_port = free_port()
    if balancer:
        env = {"CDN_BASE_URL": f"http://{{host}}:{cdn_port}/hls", **(env or {})}
    try:
        asyncio.run(migrate(db_url))
        if prepare is not None:
            asyncio.run(prepare(db_url))  # type: ignore[operator]
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
        asyncio.run(drop_database(db_name))
