"""Render `nginx/cdn.conf` (the segment CDN) for a native run and for the tests.

python -m app.services.cdn_config --archive var/hls --port 8081 --prefix var/cdn > var/cdn/nginx.conf
nginx -p var/cdn -c "$PWD/var/cdn/nginx.conf"        # stays in the foreground (daemon off)
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from app.config import REPO_DIR

TEMPLATE = REPO_DIR / "nginx" / "cdn.conf"
_TEMP_MODULES = ("proxy", "fastcgi", "uwsgi", "scgi")
_SAFE_PATH = re.compile(r'^[^";{}$\\\n\r]+$')


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (
            p
            for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/bin/nginx")
            if os.path.exists(p)
        ),
        None,
    )


def temp_modules(nginx: str | None = None) -> list[str]:
    """The *_temp_path modules compiled into this nginx (a missing module's directive is an error)."""
    nginx = nginx or nginx_binary()
    if nginx is None:
        return list(_TEMP_MODULES)
    out = subprocess.run([nginx, "-V"], capture_output=True, text=True, check=False).stderr
    return [m for m in _TEMP_MODULES if f"--without-http_{m}_module" not in out]


def render_cdn_conf(
    archive_root: Path | str,
    port: int,
    prefix: Path | str,
    host: str = "127.0.0.1",
    modules: Iterable[str] | None = None,
) -> str:
    """The complete nginx configuration: listen on host:port, serve archive_root under /hls/."""
    root = str(Path(archive_root).resolve())
    pre = str(Path(prefix).resolve())
    for p in (root, pre):
        if not _SAFE_PATH.match(p):
            raise ValueError(f"path not usable in an nginx config: {p!r}")
    if not 0 < port < 65536:
        raise ValueError("bad port")
    mods = list(modules) if modules is not None else temp_modules()
    temp_lines = [f"    client_body_temp_path {pre}/tmp/client_body;"]
    temp_lines += [f"    {m}_temp_path {pre}/tmp/{m};" for m in mods]
    user = "user root;" if hasattr(os, "geteuid") and os.geteuid() == 0 else ""
    text = TEMPLATE.read_text()
    for placeholder, value in (
        ("@USER@", user),
        ("@LISTEN@", f"{host}:{port}"),
        ("@ARCHIVE_ROOT@", root),
        ("@PREFIX@", pre),
        ("@TEMP_PATHS@", "\n".join(temp_lines)),
    ):
        text = text.replace(placeholder, value)
    return text


def write_cdn_conf(
    archive_root: Path | str,
    port: int,
    prefix: Path | str,
    host: str = "127.0.0.1",
) -> Path:
    """Render into `{prefix}/nginx.conf` (creating the prefix, logs and temp dirs); returns the path."""
    pre = Path(prefix).resolve()
    (pre / "tmp").mkdir(parents=True, exist_ok=True)
    conf = pre / "nginx.conf"
    conf.write_text(render_cdn_conf(archive_root, port, pre, host))
    return conf


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Render nginx/cdn.conf")
    ap.add_argument("--archive", required=True, help="HLS_SEGMENT_DIR")
    ap.add_argument("--port", type=int, default=8081)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--prefix", required=True, help="writable dir for pid, logs, temp files")
    ap.add_argument("--write", action="store_true", help="write {prefix}/nginx.conf and print its path")
    args = ap.parse_args(argv)
    if args.write:
        print(write_cdn_conf(args.archive, args.port, args.prefix, args.host))
    else:
        sys.stdout.write(render_cdn_conf(args.archive, args.port, args.prefix, args.host))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
