"""Run the real app over HTTP for benchmarks: a throwaway PostgreSQL database, uvicorn in a
subprocess, and wrk as the load generator (a separate, efficient process)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx

from tests.conftest import asyncpg_dsn, create_database, drop_database, migrate
from tests.stack import child_process, free_port, wait_until

BACKEND_DIR = Path(__file__).resolve().parent.parent
DEMO_PASSWORD = "bench-demo"


@contextlib.asynccontextmanager
async def throwaway_database() -> AsyncIterator[str]:
    name = f"tstv_bench_{os.getpid()}"
    url = await create_database(name)
    try:
        await migrate(url)
        yield url
    finally:
        await drop_database(name)


async def analyze(database_url: str) -> None:
    """VACUUM ANALYZE a freshly seeded database, so autovacuum does not run during the measurement
    and the planner has statistics (as a database in service would)."""
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


@contextlib.contextmanager
def served_app(database_url: str, hls_dir: Path, **env: str) -> Iterator[str]:
    """uvicorn serving the app; yields its base URL once /healthz answers."""
    port = free_port()
    log = Path(tempfile.mkstemp(prefix="bench-app-", suffix=".log")[1])
    args = [sys.executable, "-m", "uvicorn", "--factory", "app.main:app_factory", "--port", str(port)]
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "HLS_SEGMENT_DIR": str(hls_dir),
        "TSTV_DEMO_PASSWORD": DEMO_PASSWORD,
        "SIMLIVE_AUTOSTART": "false",
        "LOG_LEVEL": "WARNING",
        **env,
    }
    base = f"http://127.0.0.1:{port}"
    with child_process([*args, "--no-access-log"], log, cwd=BACKEND_DIR, env=env) as proc:

        def answering() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"app exited; see {log}")
            return httpx.get(f"{base}/healthz", timeout=1).status_code == 200

        wait_until(answering, 120, f"the app (log: {log})")
        settled = wait_idle(proc.pid)
        print(
            f"  the app settled {settled:.0f} s after answering (start-up archive scan, first retention pass)"
        )
        yield base


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def wait_idle(pid: int, within: float = 600, busy: float = 0.05) -> float:
    """Wait until the process uses under `busy` of a core over a second: the `all` role scans the
    archive and runs its first retention pass in threads after it answers, and a scenario measured
    meanwhile (the first one: catch-up masters) would share the cores with that. Seconds waited."""
    started = time.monotonic()
    last = _cpu_seconds(pid)
    while time.monotonic() - started < within:
        time.sleep(1)
        now = _cpu_seconds(pid)
        if now - last < busy:
            return time.monotonic() - started
        last = now
    raise RuntimeError(f"the app stayed busy for {within} s")


def login(base: str, email: str = "viewer@tstv.local") -> str:
    r = httpx.post(f"{base}/api/v1/auth/login", json={"email": email, "password": DEMO_PASSWORD}, timeout=10)
    r.raise_for_status()
    token: str = r.json()["access_token"]
    return token


@dataclass(frozen=True)
class LoadResult:
    name: str
    connections: int
    requests_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int

    def row(self) -> str:
        return (
            f"| {self.name} | {self.connections} | {self.p50_ms:.2f} | {self.p95_ms:.2f} | {self.p99_ms:.2f} "
            f"| {self.requests_per_s:,.0f} | {self.errors} |"
        )


TABLE_HEADER = (
    "| scenario | clients | p50 ms | p95 ms | p99 ms | requests/s | errors |\n|---|---|---|---|---|---|---|"
)

_LUA = """
local paths = {%s}
local i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i], {["Authorization"] = "Bearer %s"%s})
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %%d %%d %%f %%f %%f %%d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout))
end
"""


def run_wrk(
    base: str,
    token: str,
    paths: list[str],
    name: str,
    connections: int,
    seconds: int = 10,
    accept_encoding: str | None = None,
) -> LoadResult:
    """wrk with `connections` concurrent clients cycling through `paths` (non-2xx count as errors),
    sending `Accept-Encoding` when given (wrk sends none of its own, and never decodes)."""
    extra = f', ["Accept-Encoding"] = "{accept_encoding}"' if accept_encoding else ""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(_LUA % (", ".join(f'"{p}"' for p in paths), token, extra))
    out = subprocess.run(
        [
            "wrk",
            "-t",
            "1" if connections < 4 else "2",
            "-c",
            str(connections),
            "-d",
            f"{seconds}s",
            "-s",
            f.name,
            base,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    m = re.search(r"RESULT (\d+) (\d+) ([\d.]+) ([\d.]+) ([\d.]+) (\d+)", out)
    if m is None:
        raise RuntimeError(out)
    requests, duration_us = int(m.group(1)), int(m.group(2))
    return LoadResult(
        name,
        connections,
        requests / (duration_us / 1e6),
        float(m.group(3)) / 1000,
        float(m.group(4)) / 1000,
        float(m.group(5)) / 1000,
        int(m.group(6)),
    )


def run(coro: object) -> None:
    asyncio.run(coro)  # type: ignore[arg-type]
