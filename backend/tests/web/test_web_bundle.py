"""The first page's JavaScript stays small: at most 200 kB gzipped, with Shaka loaded by the player
route only; the build's files go out precompressed. Reads the build `make test` made
(scripts/build_web.sh)."""

from __future__ import annotations

import gzip
import re
import subprocess

import httpx

from app.config import Settings
from app.main import create_app

FIRST_PAGE_BUDGET = 200 * 1024


def test_first_page_javascript_is_small_and_without_shaka() -> None:
    dist = Settings().web_app_dir
    index = (dist / "index.html").read_text()
    # The entry module and what the browser preloads with it: everything the first page runs.
    urls = re.findall(r'<script type="module"[^>]*src="([^"]+)"', index)
    urls += re.findall(r'<link rel="modulepreload"[^>]*href="([^"]+)"', index)
    assert urls, "no entry module in index.html"
    sizes = {}
    for url in urls:
        code = (dist / url.lstrip("/")).read_bytes()
        assert b"shaka.Player" not in code and "shaka" not in url, f"{url} carries Shaka"
        sizes[url] = len(gzip.compress(code, 9))
    assert sum(sizes.values()) <= FIRST_PAGE_BUDGET, sizes
    # Shaka is there, in a chunk of its own that the player route imports.
    assert any("shaka" in p.name for p in (dist / "assets").glob("*.js"))


async def test_largest_script_arrives_precompressed_and_immutable() -> None:
    """The build's biggest JavaScript file (Shaka's chunk) as the backend sends it: brotli to a
    browser, gzip to a client without brotli, as it is to one that accepts neither; the bytes on
    the wire decode to the file."""
    dist = Settings().web_app_dir
    largest = max((dist / "assets").glob("*.js"), key=lambda p: p.stat().st_size)
    code = largest.read_bytes()
    app = create_app(Settings(web_app_dir=dist, seed_on_startup=False))
    url = f"/assets/{largest.name}"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        sizes = {}
        for accept, coding in (
            ("gzip, deflate, br, zstd", "br"),
            ("gzip, deflate", "gzip"),
            ("identity", None),
        ):
            async with client.stream("GET", url, headers={"Accept-Encoding": accept}) as r:
                raw = b"".join([chunk async for chunk in r.aiter_raw()])
            assert r.status_code == 200 and r.headers.get("content-encoding") == coding, accept
            assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
            assert "Accept-Encoding" in r.headers["vary"]
            assert int(r.headers["content-length"]) == len(raw)
            sizes[coding] = len(raw)
            assert _decoded(raw, coding) == code, accept
    # Shaka's chunk is ~900 kB; compressed it is under a third of that, brotli smaller than gzip.
    assert sizes[None] == len(code)
    assert sizes["br"] < sizes["gzip"] < len(code) / 3, sizes


def _decoded(raw: bytes, coding: str | None) -> bytes:
    if coding == "gzip":
        return gzip.decompress(raw)
    if coding == "br":  # no brotli module in Python's standard library: Node's zlib decodes it
        node = [
            "node",
            "-e",
            "process.stdout.write(require('zlib').brotliDecompressSync(require('fs').readFileSync(0)))",
        ]
        return subprocess.run(node, input=raw, capture_output=True, check=True).stdout
    return raw
