"""`make run`: migrate the database, start the nginx segment CDN when nginx is installed, then serve
the platform (the seed and the SimLive encoders start inside the app).

With TSTV_ROLE=api or worker (docs/SCALING.md) it checks for PostgreSQL (exit status 2 with the reason
otherwise), migrates under an advisory lock (several processes may start at once) and serves that
role; no CDN is started (in a cluster the CDN is its own service)."""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys

import uvicorn
from alembic import command
from alembic.config import Config

from app.config import BACKEND_DIR, Settings, get_settings
from app.logging_setup import configure_logging
from app.services.archive.cdn_config import nginx_binary, write_cdn_conf

log = logging.getLogger("tstv.launcher")
_PR_SET_PDEATHSIG = 1


def migrate(database_url: str) -> None:
    cfg = Config(str(BACKEND_DIR / "alembic.ini"))
    cfg.attributes["database_url"] = database_url
    cfg.attributes["skip_logging_config"] = True
    command.upgrade(cfg, "head")


def migrate_locked(database_url: str) -> None:
    """Migrate while holding an advisory lock on another connection: one process at a time."""
    import asyncio

    import asyncpg

    from app.db import asyncpg_dsn
    from app.services.encoders.ownership import MIGRATE_NS

    async def run() -> None:
        conn = await asyncpg.connect(asyncpg_dsn(database_url), timeout=30)
        try:
            await conn.execute("SELECT pg_advisory_lock($1, 0)", MIGRATE_NS)
            await asyncio.to_thread(migrate, database_url)
        finally:
            await conn.close()

    asyncio.run(run())


def start_cdn(settings: Settings, port: int) -> subprocess.Popen[bytes] | None:
    """nginx with nginx/cdn.conf as a child process; None when nginx is not installed."""
    nginx = nginx_binary()
    if nginx is None:
        return None
    prefix = settings.hls_segment_dir.parent / "cdn"
    settings.hls_segment_dir.mkdir(parents=True, exist_ok=True)
    conf = write_cdn_conf(
        settings.hls_segment_dir, port, prefix, host="0.0.0.0", signing_secret=settings.url_signing_secret
    )
    with open(prefix / "nginx.out", "wb") as out:
        proc = subprocess.Popen(
            [nginx, "-p", str(prefix), "-c", str(conf)], stdout=out, stderr=out, preexec_fn=_die_with_parent
        )
    atexit.register(_stop, proc)
    log.info("segment CDN (nginx) started", extra={"port": port, "pid": proc.pid})
    return proc


def _die_with_parent() -> None:
    """In the child: ask Linux to TERM it when the launcher dies, even by SIGKILL."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _exit_on_term(signum: int, _frame: object) -> None:
    # uvicorn re-raises the TERM it handled once it has shut down; exit normally so the CDN stops too.
    raise SystemExit(128 + signum)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def main(role: str | None = None) -> None:
    port = int(os.environ.get("PORT", "8000"))
    cdn_port = int(os.environ.get("CDN_PORT", "8081"))
    if role is not None:
        os.environ["TSTV_ROLE"] = role
        get_settings.cache_clear()
    settings = get_settings()
    configure_logging(settings.log_level)
    if settings.role_error is not None:
        log.error(settings.role_error)
        print(settings.role_error, file=sys.stderr, flush=True)
        raise SystemExit(2)
    if settings.tstv_role != "all":
        migrate_locked(settings.database_url)
        signal.signal(signal.SIGTERM, _exit_on_term)
        uvicorn.run(
            f"app.roles.{settings.tstv_role}:app_factory",
            factory=True,
            host=os.environ.get("HOST", "0.0.0.0"),
            port=port,
            log_config=None,
            timeout_graceful_shutdown=10,
        )
        return
    migrate(settings.database_url)
    if start_cdn(settings, cdn_port) is None and "CDN_BASE_URL" not in os.environ:
        # Development fallback: the backend serves /hls/ itself.
        os.environ["CDN_BASE_URL"] = f"http://{{host}}:{port}/hls"
        get_settings.cache_clear()
        log.warning("nginx not installed: the backend serves /hls/ itself (development fallback)")
    elif "CDN_BASE_URL" not in os.environ:
        os.environ["CDN_BASE_URL"] = f"http://{{host}}:{cdn_port}/hls"
        get_settings.cache_clear()
    signal.signal(signal.SIGTERM, _exit_on_term)
    uvicorn.run(
        "app.main:app_factory",
        factory=True,
        host=os.environ.get("HOST", "0.0.0.0"),
        port=port,
        log_config=None,
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    main()
