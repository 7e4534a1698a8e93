"""Render `nginx/cdn.conf` (the segment CDN) for a native run and for the tests.

python -m app.services.archive.cdn_config --write --archive var/hls --port 8081 --prefix var/cdn
    [--api 127.0.0.1:8001 --api 127.0.0.1:8002 --api-listen 0.0.0.0:8000]   # an API balancer too
nginx -p var/cdn -c "$PWD/var/cdn/nginx.conf"        # stays in the foreground (daemon off)

The configuration holds the secret segment URLs are signed with (the settings' `url_signing_secret`,
app/services/archive/url_signing.py, read from the same environment as the API's): `--write` creates
it readable by its owner only (0600), and printing it needs `--stdout`.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from app.config import REPO_DIR, get_settings
from app.services.archive import url_signing

TEMPLATE = REPO_DIR / "nginx" / "cdn.conf"
BALANCER_TEMPLATE = REPO_DIR / "nginx" / "api-balancer.conf"
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
    api_servers: Sequence[str] = (),
    api_listen: str | None = None,
    *,
    signing_secret: str,
) -> str:
    """The complete nginx configuration: listen on host:port, serve archive_root under /hls/ through
    URLs signed with `signing_secret`; with `api_servers` (host:port of each API replica) also
    balance them on `api_listen`."""
    root = str(Path(archive_root).resolve())
    pre = str(Path(prefix).resolve())
    for p in (root, pre):
        if not _SAFE_PATH.match(p):
            raise ValueError(f"path not usable in an nginx config: {p!r}")
    if not 0 < port < 65536:
        raise ValueError("bad port")
    if not url_signing.SECRET_RE.match(signing_secret):
        raise ValueError("the signing secret must be 32-128 characters of A-Z, a-z, 0-9, _ and -")
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
        ("@API_BALANCER@", render_api_balancer(api_servers, api_listen) if api_servers else ""),
        ("@SIGNING_SECRET@", signing_secret),
    ):
        text = text.replace(placeholder, value)
    return text


_SERVER = re.compile(r"^[A-Za-z0-9.-]+:\d{1,5}$")


def render_api_balancer(servers: Sequence[str], listen: str | None) -> str:
    """nginx/api-balancer.conf for these replicas (host:port each), listening on `listen`."""
    if not servers or listen is None or not _SERVER.match(listen):
        raise ValueError("an API balancer needs replicas and a host:port to listen on")
    bad = [s for s in servers if not _SERVER.match(s)]
    if bad:
        raise ValueError(f"not host:port: {bad}")
    lines = "\n".join(f"    server {s} max_fails=1 fail_timeout=5s;" for s in servers)
    body = [line for line in BALANCER_TEMPLATE.read_text().splitlines() if not line.startswith("#")]
    return "\n".join(body).replace("@API_SERVERS@", lines).replace("@API_LISTEN@", listen)


def write_cdn_conf(
    archive_root: Path | str,
    port: int,
    prefix: Path | str,
    host: str = "127.0.0.1",
    api_servers: Sequence[str] = (),
    api_listen: str | None = None,
    *,
    signing_secret: str,
) -> Path:
    """Render into `{prefix}/nginx.conf` (creating the prefix, logs and temp dirs), readable by its
    owner only (it holds the signing secret); returns the path."""
    pre = Path(prefix).resolve()
    (pre / "tmp").mkdir(parents=True, exist_ok=True)
    conf = pre / "nginx.conf"
    text = render_cdn_conf(
        archive_root, port, pre, host, None, api_servers, api_listen, signing_secret=signing_secret
    )
    # Created 0600 (never readable by others, not even for a moment), then filled.
    fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps its mode through O_CREAT
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return conf


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Render nginx/cdn.conf")
    ap.add_argument("--archive", required=True, help="HLS_SEGMENT_DIR")
    ap.add_argument("--port", type=int, default=8081)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--prefix", required=True, help="writable dir for pid, logs, temp files")
    ap.add_argument(
        "--write", action="store_true", help="write {prefix}/nginx.conf (mode 0600) and print its path"
    )
    ap.add_argument("--stdout", action="store_true", help="print the configuration (it holds the secret)")
    ap.add_argument("--api", action="append", default=[], help="host:port of an API replica (repeat)")
    ap.add_argument("--api-listen", help="host:port the API balancer listens on (with --api)")
    args = ap.parse_args(argv)
    secret = get_settings().url_signing_secret
    if args.write:
        conf = write_cdn_conf(
            args.archive, args.port, args.prefix, args.host, args.api, args.api_listen, signing_secret=secret
        )
        print(conf)
    elif args.stdout:
        text = render_cdn_conf(
            args.archive,
            args.port,
            args.prefix,
            args.host,
            None,
            args.api,
            args.api_listen,
            signing_secret=secret,
        )
        sys.stdout.write(text)
    else:
        ap.error("--write or --stdout")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
