"""What compressing an answer costs per request, in process (docs/PERFORMANCE.md, "Compression"):
`CompressionMiddleware` (app/http_compression.py) around an ASGI app that answers a fixed body,
against the bare app; the minimum of several repeats, so other load on the machine does not count.

    cd backend && uv run --frozen python -m bench.bench_compression

Bodies: a 10-minute catch-up media playlist (100 signed segment URLs), a 2-hour start-over
playlist (1,200) and a day of the guide's JSON shape (synthetic, ~390 kB).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.http_compression import JSON_TYPES, PLAYLIST_TYPES, CompressionMiddleware, gzip_body

REPEATS = 7


def playlist(segments: int) -> bytes:
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-TARGETDURATION:6", "#EXT-X-PLAYLIST-TYPE:VOD"]
    for i in range(segments):
        lines.append("#EXTINF:6.000000,")
        lines.append(
            f"http://localhost:8081/hls/ch1/r1764892800000/video/20261204T{10 + i // 600:02d}"
            f"{i // 10 % 60:02d}{i % 10 * 6:02d}_{i:06d}_6000000.m4s"
            f"?e=1764979200&s={secrets.token_urlsafe(16)}"
        )
    return "\n".join(lines).encode()


def guide_day() -> bytes:
    entries = [
        {
            "id": str(uuid.uuid4()),
            "channel_id": str(uuid.uuid4()),
            "title": f"Programme {i}",
            "synopsis": "A programme of the test channel, with its clock burnt in. " * 2,
            "genre": "Documentary",
            "start_time": f"2026-12-04T{i % 24:02d}:{i % 60:02d}:00Z",
            "end_time": f"2026-12-04T{i % 24:02d}:{(i + 10) % 60:02d}:00Z",
            "catchup": {"available": True, "expires_at": "2026-12-11T10:00:00Z", "reason": None},
            "startover_eligible": True,
            "still_url": f"/api/v1/epg/programmes/{uuid.uuid4()}/still.jpg",
            "bookmark_position_seconds": None,
        }
        for i in range(700)
    ]
    return json.dumps({"channels": [{"entries": entries}]}).encode()


def answering(body: bytes, content_type: bytes) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def per_request_us(app: ASGIApp, accept: bytes, count: int) -> float:
    scope: Scope = {"type": "http", "method": "GET", "path": "/", "headers": [(b"accept-encoding", accept)]}

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        pass

    async def loop() -> float:
        best = float("inf")
        for _ in range(REPEATS):
            t = time.perf_counter()
            for _ in range(count):
                await app(scope, receive, send)
            best = min(best, (time.perf_counter() - t) / count)
        return best * 1e6

    return asyncio.run(loop())


def main() -> None:
    bodies: list[tuple[str, bytes, bytes, int]] = [
        ("catch-up media playlist, 100 segments", playlist(100), b"application/vnd.apple.mpegurl", 2000),
        ("start-over media playlist, 1,200 segments", playlist(1200), b"application/vnd.apple.mpegurl", 300),
        ("guide day JSON", guide_day(), b"application/json", 30),
    ]
    print("| answer | bytes | gzipped | bare app us | middleware passing it us | middleware gzipping it us |")
    print("|---|---|---|---|---|---|")
    for name, body, content_type, count in bodies:
        bare = answering(body, content_type)
        passing = CompressionMiddleware(bare, types=(JSON_TYPES | PLAYLIST_TYPES) - {content_type})
        zipping = CompressionMiddleware(bare, types={content_type})
        us = [per_request_us(app, b"gzip", count) for app in (bare, passing, zipping)]
        zipped = len(gzip_body(body))
        print(f"| {name} | {len(body):,} | {zipped:,} | {us[0]:.1f} | {us[1]:.1f} | {us[2]:.1f} |")


if __name__ == "__main__":
    main()
