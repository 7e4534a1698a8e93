"""The built web app served at `/`: history fallback, caching, and the paths it must never shadow."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from app.config import Settings
from app.routers.web_app import RESERVED_PREFIXES


@pytest.fixture
async def web_client(app: FastAPI, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><div id=root></div>")
    (dist / "assets" / "index-abc123.js").write_text("console.log(1)")
    (dist / "favicon.svg").write_text("<svg/>")
    (tmp_path / "secret.txt").write_text("not for the web")
    settings: Settings = app.state.settings
    original = settings.web_app_dir
    settings.web_app_dir = dist
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
            yield c
    finally:
        settings.web_app_dir = original


async def test_app_routes_get_the_app(web_client: httpx.AsyncClient) -> None:
    for path in ("/", "/signin", "/watch/live/123", "/watch/catchup/a/b?x=1", "/no/such/page"):
        r = await web_client.get(path)
        assert r.status_code == 200, path
        assert r.headers["content-type"].startswith("text/html")
        assert r.headers["cache-control"] == "no-cache"
        assert "id=root" in r.text


async def test_assets_are_immutable_and_files_are_served(web_client: httpx.AsyncClient) -> None:
    r = await web_client.get("/assets/index-abc123.js")
    assert r.status_code == 200 and r.text == "console.log(1)"
    assert "immutable" in r.headers["cache-control"]
    r = await web_client.get("/favicon.svg")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-cache"
    # A missing asset is the app (its not-found page), never a file from outside the build.
    for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/assets/..%2f..%2fsecret.txt"):
        r = await web_client.get(path)
        assert "not for the web" not in r.text, path


async def test_api_health_cdn_and_logos_are_never_shadowed(
    web_client: httpx.AsyncClient, viewer_headers: dict[str, str]
) -> None:
    assert "api" in RESERVED_PREFIXES
    r = await web_client.get("/api/v1/no-such-endpoint")
    assert r.status_code == 404 and r.json() == {"detail": "not_found"}
    r = await web_client.get("/api/v1/epg/channels", headers=viewer_headers)
    assert r.status_code == 200 and "channels" in r.json()
    assert (await web_client.get("/healthz")).json()["status"] == "ok"
    assert (await web_client.get("/static/logos/ch1.svg")).headers["content-type"].startswith("image/svg")
    assert (await web_client.get("/static/logos/nope.svg")).status_code == 404
    # The CDN fallback answers, not the web app: an unsigned archive path is refused in JSON.
    r = await web_client.get("/hls/ch1/r0000000000000/video/nope.m4s")
    assert r.status_code == 403 and r.headers["content-type"] == "application/json"
    r = await web_client.post("/watch/live/x")
    assert r.status_code in (404, 405)


async def test_unbuilt_app_says_how_to_build_it(app: FastAPI, tmp_path: Path) -> None:
    settings: Settings = app.state.settings
    original = settings.web_app_dir
    settings.web_app_dir = tmp_path / "missing"
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
            r = await c.get("/signin")
    finally:
        settings.web_app_dir = original
    assert r.status_code == 503 and "make run" in r.text


async def test_config_lists_demo_accounts_in_development(client: httpx.AsyncClient, app: FastAPI) -> None:
    r = await client.get("/api/v1/config")
    assert r.status_code == 200
    body = r.json()
    assert body["environment"] == "development"
    assert {a["email"] for a in body["demo_accounts"]} == {
        "viewer@tstv.local",
        "nosub@tstv.local",
        "admin@tstv.local",
    }
    assert body["startover_prompt_after_seconds"] == 180 and body["live_window_seconds"] == 30 * 60
    settings: Settings = app.state.settings
    settings.tstv_env = "production"
    try:
        assert (await client.get("/api/v1/config")).json()["demo_accounts"] == []
    finally:
        settings.tstv_env = "development"


async def _raw_get(client: httpx.AsyncClient, path: str, accept: str) -> tuple[httpx.Response, bytes]:
    async with client.stream("GET", path, headers={"Accept-Encoding": accept}) as r:
        return r, b"".join([chunk async for chunk in r.aiter_raw()])


async def test_precompressed_copies_follow_accept_encoding(
    web_client: httpx.AsyncClient, app: FastAPI
) -> None:
    dist: Path = app.state.settings.web_app_dir
    js = dist / "assets" / "index-abc123.js"
    gz = gzip.compress(js.read_bytes())
    (dist / "assets" / "index-abc123.js.gz").write_bytes(gz)
    (dist / "assets" / "index-abc123.js.br").write_bytes(b"brotli bytes")  # served as they are
    (dist / "index.html.gz").write_bytes(gzip.compress((dist / "index.html").read_bytes()))
    cases = {
        "gzip, deflate, br, zstd": ("br", b"brotli bytes"),
        "br;q=0, gzip": ("gzip", gz),
        "gzip;q=0.5, br;q=0": ("gzip", gz),
        "identity": (None, b"console.log(1)"),
        "br;q=0, gzip;q=0": (None, b"console.log(1)"),
    }
    for accept, (coding, body) in cases.items():
        r, raw = await _raw_get(web_client, "/assets/index-abc123.js", accept)
        assert r.status_code == 200, accept
        assert r.headers.get("content-encoding") == coding, accept
        assert raw == body and int(r.headers["content-length"]) == len(body), accept
        assert "javascript" in r.headers["content-type"], accept
        assert "Accept-Encoding" in r.headers["vary"]
        assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    # index.html (and the app's routes, which are index.html) from its copy, revalidated.
    for path in ("/", "/guide"):
        r, raw = await _raw_get(web_client, path, "gzip")
        assert r.headers["content-encoding"] == "gzip" and b"id=root" in gzip.decompress(raw)
        assert r.headers["content-type"].startswith("text/html") and r.headers["cache-control"] == "no-cache"
    # A file without copies has no Vary.
    r, raw = await _raw_get(web_client, "/favicon.svg", "gzip, br")
    assert raw == b"<svg/>" and "content-encoding" not in r.headers
    assert "accept-encoding" not in r.headers.get("vary", "").lower()
