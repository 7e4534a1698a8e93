"""A private PostgreSQL cluster that a test may stop, restart and start (the shared server on 5432
must never be): `initdb` and `pg_ctl` run as the `postgres` user (PostgreSQL refuses root), data,
socket and log in a throwaway directory, fsync off (a test's data need not survive the machine)."""

from __future__ import annotations

import asyncio
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PrivatePostgres:
    bin_dir: Path
    data: Path
    port: int
    user: str

    @property
    def server_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def _ctl_args(self, *args: str) -> list[str]:
        options = f"-p {self.port} -k {self.data} -c fsync=off -c full_page_writes=off"
        log = str(self.data / "log")
        ctl = [str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", log]
        return ["runuser", "-u", self.user, "--", *ctl, *args]

    def ctl(self, *args: str) -> None:
        subprocess.run(self._ctl_args(*args), check=True, capture_output=True, timeout=60)

    async def actl(self, *args: str) -> None:
        """pg_ctl without blocking the event loop (the app under test runs on it)."""
        proc = await asyncio.create_subprocess_exec(
            *self._ctl_args(*args), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
        _, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    bin_dir = _bin_dir()
    if bin_dir is None or os.geteuid() != 0 or shutil.which("runuser") is None:
        pytest.skip("needs root, runuser and PostgreSQL's server binaries (/usr/lib/postgresql/*/bin)")
    user = "postgres"
    uid, gid = pwd.getpwnam(user)[2:4]
    base = Path(tempfile.mkdtemp(prefix="tstv-private-pg-"))
    os.chown(base, uid, gid)
    data = base / "data"
    pg = PrivatePostgres(bin_dir, data, _free_port(), user)
    try:
        initdb = [str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", user, "--no-sync"]
        subprocess.run(
            ["runuser", "-u", user, "--", *initdb, "-E", "UTF8", "--locale=C.UTF-8"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        pg.ctl("-w", "start")
        yield pg
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(pg._ctl_args("-m", "immediate", "stop"), capture_output=True, timeout=60)
        shutil.rmtree(base, ignore_errors=True)


async def accepts_connections(pg: PrivatePostgres, within: float) -> float:
    """Wait (polling, with a deadline) until the server accepts a connection; the monotonic time it did."""
    import asyncpg

    deadline = time.monotonic() + within
    while True:
        try:
            conn = await asyncpg.connect(pg.server_url, timeout=1)
        except (OSError, asyncpg.PostgresError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.02)
            continue
        await conn.close()
        return time.monotonic()
