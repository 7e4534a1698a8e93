"""JSON answers over 1 KB arrive gzipped when the client accepts it, measured on the wire (the bytes
the server sent, before the client decodes them); playlists are not compressed by default
(docs/PERFORMANCE.md, "Compression"); the app's precompressed files are in test_web_app.py."""

from __future__ import annotations

import gzip
import json
from typing import Any

import httpx
from fastapi import FastAPI

from app.http_compression import MIN_BYTES, accepted_encodings
from tests.archive_factory import create_recorded_channel, days_ago
from tests.conftest import API


async def wire(
    client: httpx.AsyncClient, url: str, encoding: str | None, **kw: Any
) -> tuple[httpx.Response, bytes]:
    """The answer and its body as sent, not decoded."""
    headers = {**kw.pop("headers", {}), "Accept-Encoding": encoding or "identity"}
    async with client.stream("GET", url, headers=headers, **kw) as r:
        raw = b"".join([chunk async for chunk in r.aiter_raw()])
    return r, raw


def assert_gzipped(r: httpx.Response, raw: bytes) -> bytes:
    """The decoded body of a gzipped answer, checked to be smaller on the wire than decoded."""
    assert r.status_code == 200
    assert r.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in r.headers["vary"].lower()
    assert int(r.headers["content-length"]) == len(raw)
    body = gzip.decompress(raw)
    assert len(raw) * 3 < len(body), (len(raw), len(body))  # JSON compresses well over 3x
    return body


async def test_guide_day_catchup_page_and_openapi_arrive_gzipped(
    client: httpx.AsyncClient, app: FastAPI, viewer_headers: dict[str, str]
) -> None:
    ch, _ = await create_recorded_channel(app, days_ago(1, 10), 600, 12, recorded=(0, 12))
    urls = [
        (f"{API}/epg/guide", {}),
        (f"{API}/tstv/catchup/{ch.id}", {}),
        (f"{API}/tstv/catchup", {"date": days_ago(1, 10).date().isoformat()}),
        (f"{API}/openapi.json", {}),
    ]
    for url, params in urls:
        zipped, sent = await wire(client, url, "gzip, deflate, br", headers=viewer_headers, params=params)
        body = assert_gzipped(zipped, sent)
        print(f"{url}: {len(body):,} bytes of JSON, {len(sent):,} on the wire")
        plain, raw = await wire(client, url, None, headers=viewer_headers, params=params)
        assert plain.status_code == 200 and "content-encoding" not in plain.headers
        assert "accept-encoding" in plain.headers["vary"].lower()
        zipped_json, plain_json = json.loads(body), json.loads(raw)
        if "now" in plain_json:  # the guide says when it was made
            zipped_json["now"] = plain_json["now"]
        assert zipped_json == plain_json, url
    # The guide of a whole day: several hundred KB of JSON, a fraction of it sent.
    guide = assert_gzipped(*await wire(client, f"{API}/epg/guide", "gzip", headers=viewer_headers))
    assert len(guide) > 50_000


async def test_refused_gzip_small_json_and_playlists_go_as_they_are(
    client: httpx.AsyncClient, app: FastAPI, viewer_headers: dict[str, str]
) -> None:
    # gzip;q=0 is a refusal.
    r, _ = await wire(client, f"{API}/epg/guide", "gzip;q=0, identity", headers=viewer_headers)
    assert r.status_code == 200 and "content-encoding" not in r.headers
    # Under MIN_BYTES: not worth it.
    r, raw = await wire(client, f"{API}/auth/me", "gzip", headers=viewer_headers)
    assert r.status_code == 200 and len(raw) < MIN_BYTES
    assert "content-encoding" not in r.headers
    # Playlists: not compressed unless GZIP_PLAYLISTS (measured in docs/PERFORMANCE.md).
    ch, es = await create_recorded_channel(app, days_ago(1, 10), 600, 1, recorded=(0, 1))
    master = f"{API}/tstv/catchup/{ch.id}/manifest"
    params = {"schedule_entry_id": str(es[0].id)}
    r = await client.get(master, headers=viewer_headers, params=params)
    assert r.status_code == 200, r.text
    media = next(line for line in r.text.splitlines() if line.startswith("manifest/video"))
    r, raw = await wire(client, f"{master}/{media.removeprefix('manifest/')}", "gzip", headers=viewer_headers)
    assert r.status_code == 200 and len(raw) > MIN_BYTES
    assert "content-encoding" not in r.headers and raw.startswith(b"#EXTM3U")


def test_accept_encoding_is_read_with_its_q_values() -> None:
    assert accepted_encodings("gzip, deflate, br, zstd") == {"gzip", "deflate", "br", "zstd"}
    assert accepted_encodings("br;q=1.0, gzip;q=0.8, *;q=0.1") == {"br", "gzip", "*"}
    assert accepted_encodings("gzip;q=0, br") == {"br"}
    assert accepted_encodings("GZIP ; q=0.5") == {"gzip"}
    assert accepted_encodings("gzip;q=x") == set()
    assert accepted_encodings("") == set()
