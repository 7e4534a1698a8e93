"""Two platforms started as the run command starts them (`python -m app.launcher`, with its nginx
CDN when nginx is installed) agree on what is on air."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.conftest import BACKEND_DIR
from tests.stack import free_port


@contextlib.contextmanager
def _platform(tmp: Path) -> Iterator[str]:
    """The run command's path (`python -m app.launcher`: migrate, seed, serve) on its own SQLite file."""
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "CDN_PORT": str(free_port()),
        "HOST": "127.0.0.1",
        "DATABASE_URL": f"sqlite:///{tmp / 'tstv.db'}",
        "HLS_SEGMENT_DIR": str(tmp / "hls"),
        "TSTV_DEMO_PASSWORD": "two-process",
        "SIMLIVE_AUTOSTART": "false",
        "BACKGROUND_JOBS": "false",
    }
    with open(tmp / "server.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.launcher"], cwd=BACKEND_DIR, env=env, stdout=log, stderr=log
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp / "server.log").read_text()
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            assert time.monotonic() < deadline, "platform did not answer in 60 s"
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    nginx_pid = tmp / "cdn" / "nginx.pid"
    assert not nginx_pid.exists() or not Path(f"/proc/{nginx_pid.read_text().strip()}").exists(), (
        "CDN stopped"
    )


def _on_air(base: str) -> dict[str, str]:
    token = httpx.post(
        f"{base}/api/v1/auth/login",
        json={"email": "viewer@tstv.local", "password": "two-process"},
        timeout=60,
    ).json()["access_token"]
    channels = httpx.get(f"{base}/api/v1/epg/channels", headers={"Authorization": f"Bearer {token}"}).json()
    return {c["cdn_channel_key"]: c["now"]["id"] for c in channels["channels"]}


def test_two_separate_processes_agree_on_what_is_on_air(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with _platform(tmp_path / "a") as a, _platform(tmp_path / "b") as b:
        for _ in range(3):  # a programme boundary may fall between the two calls: retry then
            first, second = _on_air(a), _on_air(b)
            if first == second:
                break
        assert first == second
        assert sorted(first) == ["ch1", "ch2", "ch3", "ch4", "ch5"]
