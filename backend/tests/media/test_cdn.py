"""The segment CDN: real nginx with nginx/cdn.conf, and the backend's development fallback. Both serve
an archive file only through a URL signed for it (app/services/archive/url_signing.py)."""

from __future__ import annotations

import secrets
import shutil
import socket
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.config import Settings
from app.services.archive import url_signing
from app.services.archive.cdn_config import nginx_binary, write_cdn_conf

ORIGIN = "http://localhost:5173"
RUN = "r1795000000000"
SEG_NAME = "20261120T000000_000000_6000000.m4s"
THUMBS_TAG = "0123456789abcdef0123"
SECRET = secrets.token_hex(32)
# Every archive file the fixture archive has that a player fetches: init segments and segments.
FILES = [
    f"{r}/{name}"
    for r, init in (("video", "init_0.mp4"), ("audio", "init_1.mp4"))
    for name in (init, SEG_NAME)
]


def signed(path: str, secret: str = SECRET, expires: int | None = None) -> str:
    """`/hls/{path}` as a playlist signs it (`path` relative to the archive root)."""
    e = expires if expires is not None else int(time.time()) + 3600
    return f"/hls/{path}?{url_signing.signed_query(secret, path, e)}"


def refused_urls(key: str, secret: str) -> list[str]:
    """What must be 403: each file by its plain path, and signed URLs edited to another channel, run,
    rendition, file or expiry, expired, without half the signature, or signed with another secret."""
    out = [f"/hls/{key}/{RUN}/{f}" for f in FILES]
    out.append(f"/hls/{key}/{RUN}/video/index.m3u8")
    path = f"{key}/{RUN}/video/{SEG_NAME}"
    good = signed(path, secret)
    query = good.split("?", 1)[1]
    e = int(query.split("e=")[1].split("&")[0])
    sig = query.split("s=")[1]
    other_seg = SEG_NAME.replace("T000000_000000", "T000006_000001")
    out += [
        f"/hls/other/{RUN}/video/{SEG_NAME}?{query}",  # another channel
        f"/hls/{key}/r1795000000999/video/{SEG_NAME}?{query}",  # another run
        f"/hls/{key}/{RUN}/audio/{SEG_NAME}?{query}",  # another rendition
        f"/hls/{key}/{RUN}/video/{other_seg}?{query}",  # another time
        f"/hls/{key}/{RUN}/video/init_0.mp4?{query}",  # another file of the run
        f"/hls/{path}?e={e + 3600}&s={sig}",  # a later expiry
        # The first character: the last of 22 base64 characters carries 2 bits, the rest padding
        # that a decoder may ignore, so editing it may not change the signature at all.
        f"/hls/{path}?e={e}&s={'A' if sig[0] != 'A' else 'B'}{sig[1:]}",  # an edited signature
        f"/hls/{path}?e={e}",
        f"/hls/{path}?s={sig}",
        signed(path, secret, expires=int(time.time()) - 5),  # expired
        signed(path, secrets.token_hex(32)),  # another secret
    ]
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _archive(root: Path, key: str = "cdn1", state_files: bool = True) -> Path:
    rdir = root / key / RUN
    for rendition, init in (("video", "init_0.mp4"), ("audio", "init_1.mp4")):
        (rdir / rendition).mkdir(parents=True, exist_ok=True)
        (rdir / rendition / init).write_bytes(b"init")
        (rdir / rendition / SEG_NAME).write_bytes(b"segment-bytes")
        (rdir / rendition / "index.m3u8").write_text("#EXTM3U\n")
    (rdir / "run.json").write_text('{"secret": true}')
    (root / key / "encoder.log").write_text("log")
    (root / "_thumbs" / THUMBS_TAG).mkdir(parents=True, exist_ok=True)
    (root / "_thumbs" / THUMBS_TAG / "000003.jpg").write_bytes(b"\xff\xd8sheet\xff\xd9")
    (root / "_thumbs" / THUMBS_TAG / "sheets.json").write_text("{}")
    if state_files:
        (root / ".simlive").mkdir(exist_ok=True)
        (root / ".simlive" / "state.json").write_text("{}")
    return rdir


def _raw_get(port: int, target: str) -> tuple[int, bytes]:
    """A request with the path exactly as given (no client-side normalisation)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    status = int(data.split(b" ", 2)[1])
    return status, data.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in data else b""


@pytest.fixture(scope="module")
def cdn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int, Path]]:
    nginx = nginx_binary()
    assert nginx, "nginx is required (make test installs it)"  # not a skip: that would hide a broken install
    root = tmp_path_factory.mktemp("cdn-archive")
    prefix = tmp_path_factory.mktemp("cdn-prefix")
    _archive(root)
    _archive(root, "other")
    port = _free_port()
    conf = write_cdn_conf(root, port, prefix, signing_secret=SECRET)
    # It holds the signing secret: its owner's only.
    assert stat.S_IMODE(conf.stat().st_mode) == 0o600
    check = subprocess.run([nginx, "-t", "-p", str(prefix), "-c", str(conf)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen([nginx, "-p", str(prefix), "-c", str(conf)], stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "nginx did not come up"
            assert proc.poll() is None, "nginx exited"
            time.sleep(0.05)
        yield base, port, root
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_segment_headers(cdn: tuple[str, int, Path]) -> None:
    base, _, _ = cdn
    url = base + signed(f"cdn1/{RUN}/video/{SEG_NAME}")
    r = httpx.get(url, headers={"Origin": ORIGIN})
    assert r.status_code == 200 and r.content == b"segment-bytes"
    assert r.headers["content-type"] == "video/iso.segment"
    assert r.headers["access-control-allow-origin"] == "*"
    cache = r.headers["cache-control"]
    assert "immutable" in cache and "max-age=31536000" in cache and "public" in cache

    r = httpx.get(base + signed(f"cdn1/{RUN}/audio/init_1.mp4"), headers={"Origin": ORIGIN})
    assert r.status_code == 200 and r.headers["content-type"] == "video/mp4"
    assert "immutable" in r.headers["cache-control"]

    # Any origin may read segments (they are encrypted): the app opened as localhost, 127.0.0.1 or a
    # LAN address on any port plays (docs/MEDIA.md, M12). Preflight works too.
    for origin in ("http://127.0.0.1:8000", "http://192.168.1.20:9000", ORIGIN):
        r = httpx.get(url, headers={"Origin": origin})
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*"
    r = httpx.options(url, headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET"})
    assert r.status_code == 204 and r.headers["access-control-allow-origin"] == "*"
    r = httpx.get(url, headers={"Range": "bytes=0-3"})
    assert r.status_code == 206 and r.content == b"segm"


def test_archive_files_only_through_their_signed_url(cdn: tuple[str, int, Path]) -> None:
    base, _, _ = cdn
    for key in ("cdn1", "other"):
        for f in FILES:
            r = httpx.get(base + signed(f"{key}/{RUN}/{f}"))
            assert r.status_code == 200, (key, f)
    for url in refused_urls("cdn1", SECRET):
        r = httpx.get(base + url, headers={"Origin": ORIGIN})
        assert r.status_code == 403, url
        assert b"segment-bytes" not in r.content and b"init" not in r.content
        # The player sees a 403, not a network error (docs/MEDIA.md, M12).
        assert r.headers["access-control-allow-origin"] == "*", url
    # A file that does not exist is refused before it is looked for, unless signed.
    assert httpx.get(f"{base}/hls/cdn1/{RUN}/video/20991231T000000_000000_6000000.m4s").status_code == 403
    assert httpx.get(base + signed(f"cdn1/{RUN}/video/20991231T000000_000000_6000000.m4s")).status_code == 404


def test_thumbnail_sheets_are_public_immutable_jpegs(cdn: tuple[str, int, Path]) -> None:
    """Tile sheets (app/services/archive/thumbnails.py): content-addressed names, so cached for a year;
    readable from any origin like the segments; nothing else under _thumbs."""
    base, _, _ = cdn
    url = f"{base}/hls/_thumbs/{THUMBS_TAG}/000003.jpg"
    r = httpx.get(url, headers={"Origin": ORIGIN})
    assert r.status_code == 200 and r.content == b"\xff\xd8sheet\xff\xd9"
    assert r.headers["content-type"] == "image/jpeg"
    assert r.headers["access-control-allow-origin"] == "*"
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    r = httpx.options(url, headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET"})
    assert r.status_code == 204 and r.headers["access-control-allow-origin"] == "*"
    for path in (
        f"/hls/_thumbs/{THUMBS_TAG}/sheets.json",
        f"/hls/_thumbs/{THUMBS_TAG}/",
        "/hls/_thumbs/",
        f"/hls/_thumbs/{THUMBS_TAG}/000004.jpg",
        f"/hls/_thumbs/{THUMBS_TAG}/../../cdn1/{RUN}/run.json",
        "/hls/_thumbs/NOT-A-TAG/000003.jpg",
    ):
        assert httpx.get(base + path).status_code == 404, path


def test_no_listing_no_traversal_no_private_files(cdn: tuple[str, int, Path]) -> None:
    base, port, _ = cdn
    for path in ("/hls/", "/hls/cdn1/", f"/hls/cdn1/{RUN}/", f"/hls/cdn1/{RUN}/video/", "/"):
        r = httpx.get(base + path)
        assert r.status_code == 404, path
        assert SEG_NAME.encode() not in r.content
    for path in (f"/hls/cdn1/{RUN}/run.json", "/hls/cdn1/encoder.log", "/hls/.simlive/state.json"):
        assert httpx.get(base + path).status_code == 404, path
    for target in (
        "/hls/../../../../etc/passwd",
        "/hls/cdn1/../../../etc/passwd",
        "/hls/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        f"/hls/cdn1/{RUN}/video/..%2f..%2frun.json",
        f"/hls/cdn1/{RUN}/video/%2e%2e/%2e%2e/run.json",
        f"/hls/cdn1/{RUN}/video/../../{RUN}/run.json",
    ):
        status, body = _raw_get(port, target)
        assert status in (400, 403, 404), (target, status)
        assert b"root:" not in body and b"secret" not in body


async def test_backend_fallback_serves_hls(
    client: httpx.AsyncClient, hls_dir: Path, settings: Settings
) -> None:
    rdir = _archive(hls_dir, "cdnfb", state_files=False)
    other = _archive(hls_dir, "other", state_files=False)
    secret = settings.url_signing_secret
    try:
        r = await client.get(signed(f"cdnfb/{RUN}/video/{SEG_NAME}", secret))
        assert r.status_code == 200 and r.content == b"segment-bytes"
        assert r.headers["content-type"] == "video/iso.segment"
        assert "immutable" in r.headers["cache-control"]
        for f in FILES:
            assert (await client.get(signed(f"cdnfb/{RUN}/{f}", secret))).status_code == 200, f
        for url in refused_urls("cdnfb", secret):
            r = await client.get(url)
            assert r.status_code == 403, url
            assert b"segment-bytes" not in r.content
        for path in (
            f"/hls/cdnfb/{RUN}/run.json",
            f"/hls/cdnfb/{RUN}/video/..%2f..%2frun.json",
            "/hls/cdnfb/encoder.log",
            f"/hls/cdnfb/{RUN}/video/",
            f"/hls/cdnfb/{RUN}/other/{SEG_NAME}",
        ):
            assert (await client.get(path)).status_code == 404, path
    finally:
        shutil.rmtree(rdir.parent, ignore_errors=True)
        shutil.rmtree(other.parent, ignore_errors=True)
